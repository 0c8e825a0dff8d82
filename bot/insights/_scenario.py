"""Realistic customer traffic for the demo and the tests: who writes when, about what.

Deterministic for a seed. Volume follows the hour of day and the weekday (Europe/Berlin);
topics follow a fixed mix; one planted incident (damaged parcels from 10 Uhr on, two days
before the end) can be added. Messages are the customer phrasings of the training data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import yaml

from bot.settings import PROJECT_ROOT

# Relative volume per local hour of day (sums to about 24).
HOUR_WEIGHTS = (0.15, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 1.0, 1.6, 1.8, 1.8,
                1.6, 1.6, 1.6, 1.5, 1.4, 1.4, 1.3, 1.4, 1.5, 1.2, 0.8, 0.4)
KIND_WEIGHTS = {"faq": 62, "order": 14, "complaint": 5, "human": 5, "unanswered": 9, "greet": 5}
TOPIC_WEIGHTS = {
    "delivery_time": 8, "order_tracking": 7, "return_policy": 7, "return_label": 5,
    "refund_time": 5, "shipping_costs": 5, "payment_methods": 4, "exchange": 4,
    "size_guide": 4, "cancel_order": 3, "change_order": 3, "voucher": 3, "invoice": 3,
    "opening_hours": 3, "store_locations": 2, "damaged_parcel": 1.5,
}
# Questions no FAQ answers, in a few groups (the report clusters them). Not Bitcoin: the
# payment-methods answer lists what we take, so the bot rightly answers that one.
UNANSWERED = (
    "Verkauft ihr auch Drohnen?", "habt ihr drohnen im sortiment", "Gibt es bei euch Drohnen?",
    "Verleiht ihr auch Schneeschuhe?", "kann man bei euch schneeschuhe ausleihen",
    "schneeschuhe mieten möglich?",
    "welches zelt für 3 personen empfehlt ihr", "welcher schlafsack für -10 grad",
    "wie wird das wetter am wochenende in garmisch", "blubb xyz",
)
INCIDENT_MESSAGES = (
    "Mein Paket ist beschädigt angekommen.", "paket kaputt angekommen", "transportschaden",
    "karton war kaputt", "ware beschädigt geliefert",
    "Mein Paket ist beschädigt angekommen. Ich heiße Jana Beispiel",
    "paket kaputt angekommen, meine nummer ist 0170 1234567",
)
ORDERS = (("BP-482913", "80331"), ("BP-100001", "10115"), ("BP-100004", "60311"),
          ("BP-100007", "04109"), ("BP-100008", "28195"))
INCIDENT_HOUR = 10  # local
INCIDENT_HOURS = 4
INCIDENT_PER_HOUR = 10


# Share of FAQ conversations whose customer taps 👍/👎 under the answer (mostly 👍).
HELPFUL_SHARE = 0.25


@dataclass
class Conversation:
    start: datetime  # naive UTC
    kind: str
    messages: List[str]
    topic: str = ""
    incident: bool = False
    rating: Optional[int] = None  # handback CSAT given after a handoff (demo only)
    minutes: List[float] = field(default_factory=list)  # offsets of the messages


@lru_cache(maxsize=1)
def examples() -> Dict[str, Tuple[str, ...]]:
    """Training phrasings per intent / ``faq/<topic>``."""
    found: Dict[str, List[str]] = {}
    for path in sorted(Path(PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("nlu") or []:
            if "intent" in entry and "examples" in entry:
                texts = [line[2:].strip() for line in str(entry["examples"]).splitlines()
                         if line.strip().startswith("- ") and "[" not in line]
                found.setdefault(str(entry["intent"]), []).extend(texts)
    return {key: tuple(values) for key, values in found.items()}


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    """One of ``options`` for exactly one draw of ``rng``: ``rng.choice`` draws more or fewer
    random bits depending on the number of options, so a phrase added to the training data
    would change every later draw and with it the whole simulated month."""
    return options[min(int(rng.random() * len(options)), len(options) - 1)]


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method (rates here are small)."""
    limit, count, product = pow(2.718281828459045, -rate), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _conversation(rng: random.Random, start: datetime, kind: str) -> Conversation:
    phrases = examples()
    if kind == "faq":
        topic = rng.choices(list(TOPIC_WEIGHTS), weights=list(TOPIC_WEIGHTS.values()))[0]
        messages = [_pick(rng, phrases.get(f"faq/{topic}") or (topic,))]
        after = rng.random()
        if after < 0.3:
            messages.append("danke")
        elif after < 0.3 + HELPFUL_SHARE:  # a tap on the answer's 👍 / 👎 button
            # the size guide is the demo's weak answer: customers find it less helpful
            helpful = after < 0.3 + HELPFUL_SHARE * (0.4 if topic == "size_guide" else 0.85)
            messages.append("/answer_helpful" if helpful else "/answer_unhelpful")
        return Conversation(start, kind, messages, topic=topic)
    if kind == "order":
        number, postcode = rng.choice(ORDERS)
        return Conversation(start, kind, ["wo ist meine bestellung", number, postcode])
    if kind == "complaint":
        return Conversation(start, kind, [_pick(rng, phrases.get("complaint") or ("frechheit",))],
                            rating=rng.choice((1, 2, 3, 4, None)))
    if kind == "human":
        return Conversation(start, kind, ["Ich will mit einem Menschen sprechen"],
                            rating=rng.choice((3, 4, 5, 5, None)))
    if kind == "unanswered":
        return Conversation(start, kind, [rng.choice(UNANSWERED)])
    return Conversation(start, kind, [rng.choice(("Hallo", "hi", "Guten Morgen")), "danke"])


def incident_start(end: datetime, zone: str = "Europe/Berlin") -> datetime:
    """10 Uhr local, two days before ``end`` (naive UTC)."""
    local = end.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)) - timedelta(days=2)
    local = local.replace(hour=INCIDENT_HOUR, minute=0, second=0, microsecond=0)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def plan(days: float, *, end: datetime, seed: int = 15, per_day: float = 60.0,
         incident: bool = True, zone: str = "Europe/Berlin") -> List[Conversation]:
    """Conversations of ``days`` before ``end`` (naive UTC), sorted by start."""
    rng = random.Random(seed)  # noqa: S311 - simulated traffic, not security
    tz = ZoneInfo(zone)
    first = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    hour = first
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    total = sum(HOUR_WEIGHTS)
    conversations: List[Conversation] = []
    while hour < end:
        local = hour.replace(tzinfo=timezone.utc).astimezone(tz)
        rate = per_day * HOUR_WEIGHTS[local.hour] / total * (0.75 if local.weekday() >= 5 else 1)
        for _ in range(_poisson(rng, rate)):
            start = hour + timedelta(seconds=rng.uniform(0, 3500))
            if start < end:
                conversations.append(_conversation(rng, start, rng.choices(kinds, weights)[0]))
        hour += timedelta(hours=1)
    if incident:
        # Its own stream: the incident does not depend on how the month before it was drawn.
        rng = random.Random(seed * 7919 + 1)  # noqa: S311 - simulated traffic, not security
        begin = incident_start(end, zone)
        for offset in range(INCIDENT_HOURS):
            at = begin + timedelta(hours=offset)
            if not first <= at < end:
                continue
            for _ in range(_poisson(rng, INCIDENT_PER_HOUR)):
                start = at + timedelta(seconds=rng.uniform(0, 3500))
                if start < end:
                    conversations.append(Conversation(
                        start, "faq", [rng.choice(INCIDENT_MESSAGES)], topic="damaged_parcel",
                        incident=True))
    conversations.sort(key=lambda conversation: conversation.start)
    return conversations


__all__ = ["Conversation", "examples", "incident_start", "plan"]

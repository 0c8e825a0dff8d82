"""Follow-ups in context: "und nach Österreich?" right after the shipping-cost answer.

An elliptical follow-up only makes sense with the topic just answered. The topic comes from the
conversation itself (the last FAQ answer the bot sent, at most :data:`CONTEXT_TURNS` customer
messages ago), so it needs no slot and survives every rule. The follow-up is read with it:

0. if the follow-up names something the previous answer already speaks about ("und nach
   Österreich?" after the shipping costs, which list Austria), the previous topic is answered
   again;
1. else a topic listed as a follow-up of the previous one (``followups`` in ``topics.yml``:
   gift card → redeem a voucher, create account → delete it) that the answer ranking prefers
   (at least :data:`RELATED_MIN` and :data:`RELATED_FACTOR` times the previous topic's
   confidence) is answered;
2. else the question is about the same topic again (another country, another day): the
   previous topic is answered again – when NLU recognised the message as a follow-up
   (``faq_followup``), or when the previous topic is among the :data:`SAME_TOPIC_RANK`
   likeliest answers (a short message NLU was unsure of);
3. else it is not clear: the caller asks back, the previous topic first.

The thresholds were chosen on the follow-up examples of the training data (the answer ranking
is never trained on them), not on eval/.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import NLU_FALLBACK, latest_text, turns_since
from bot.models import HandoffReason

FOLLOWUP_INTENT = "faq_followup"
OUT_OF_SCOPE_INTENT = "out_of_scope"

TOPICS_FILE = Path(__file__).with_name("topics.yml")
FAQ_RESPONSE_PREFIX = "utter_faq/"
ASK_BACK_RESPONSES = frozenset({"utter_ask_back", "utter_ask_rephrase"})
# The previous answer counts as context for this many customer messages after it.
CONTEXT_TURNS = 2
RELATED_MIN = 0.1
RELATED_FACTOR = 2.0
SAME_TOPIC_RANK = 5
# Without context a follow-up-like message is answered like any FAQ question when sure.
ANSWER_MIN = 0.4
ANSWER_MARGIN = 0.05
# The fallback reads only short messages as follow-ups ("und nach Wien?", not a new story).
SHORT_MESSAGE_WORDS = 8
# Words shorter than this, and these frequent words, say nothing about what an answer covers.
MIN_WORD = 5
MIN_SUFFIX_WORD = 6  # "zahlen" is covered by "Bezahlen"; "konto" is not by "Kundenkonto"
COMMON_WORDS = frozenset(
    "wieder haben gibts eigentlich nochmal bitte danke werden wurde konnen konnte machen "
    "dafur damit einen einer eines meine meinen meiner deine euren eurem eurer unsere schon "
    "immer etwas genau lange dauert welche welchen welcher wieviel wohin warum diese dieser "
    "dieses jetzt heute ihnen".split()
)
_WORD = re.compile(r"[a-zäöüß]+")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "s"})


def _content_words(text: str) -> set[str]:
    words = set()
    for word in _WORD.findall(text.lower()):
        folded = word.translate(_FOLD).replace("ae", "a").replace("oe", "o").replace("ue", "u")
        if len(folded) >= MIN_WORD and folded not in COMMON_WORDS:
            words.add(folded)
    return words


def covered_by_answer(answer: str, message: str) -> bool:
    """Whether the message names something the answer already speaks about."""
    answer_words = _content_words(answer)
    return any(
        word in answer_words
        or (len(word) >= MIN_SUFFIX_WORD and any(a.endswith(word) for a in answer_words))
        for word in _content_words(message)
    )


def answer_text(domain: Dict[str, Any], topic: str) -> str:
    variants = (domain.get("responses") or {}).get(f"{FAQ_RESPONSE_PREFIX}{topic}") or []
    return " ".join(str(v.get("text") or "") for v in variants if isinstance(v, dict))


@lru_cache(maxsize=1)
def followup_topics() -> Dict[str, Tuple[str, ...]]:
    """topic id -> topics customers typically ask about right after its answer."""
    raw = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8")) or {}
    return {topic: tuple(entry.get("followups") or ()) for topic, entry in raw.items()}


def _bot_response(event: Dict[str, Any]) -> str:
    return str((event.get("metadata") or {}).get("utter_action") or "")


def previous_topic(tracker: Tracker, turns: int = CONTEXT_TURNS) -> Optional[str]:
    """The FAQ topic answered last, if within ``turns`` customer messages before this one."""
    seen_users = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            seen_users += 1
            if seen_users > turns:
                return None
        elif kind == "bot" and seen_users >= 1:
            response = _bot_response(event)
            if response.startswith(FAQ_RESPONSE_PREFIX):
                return response[len(FAQ_RESPONSE_PREFIX):]
            if response in ASK_BACK_RESPONSES:
                return None  # the last thing the bot did was asking back, not answering
        elif kind == "action" and event.get("name") == "action_handoff":
            return None
    return None


def asked_back_within(tracker: Tracker, turns: int) -> bool:
    """Whether the bot asked back in reply to one of the last ``turns`` customer messages."""
    return turns_since(
        tracker,
        lambda event: event.get("event") == "bot"
        and _bot_response(event) in ASK_BACK_RESPONSES,
        turns,
    ) is not None


def answer_ranking(latest_message: Dict[str, Any]) -> List[Tuple[str, float]]:
    """(topic id, confidence) of the FAQ answer ranking of a message, best first."""
    selector = (latest_message.get("response_selector") or {}).get("faq") or {}
    ranking = []
    for entry in selector.get("ranking") or []:
        key = str(entry.get("intent_response_key") or "")
        if key:
            ranking.append((key.split("/", 1)[-1], float(entry.get("confidence") or 0.0)))
    return ranking


def resolve_in_context(
    previous: str,
    ranking: List[Tuple[str, float]],
    *,
    recognised: bool = False,
    covered: bool = False,
) -> Optional[str]:
    """The topic a follow-up asks about, read with the previous topic; None if not clear.

    ``recognised``: NLU classified the message as a follow-up (not merely unsure of it);
    ``covered``: the message names something the previous answer already speaks about.
    """
    if covered:
        return previous
    confidence = dict(ranking)
    rank = {topic: i for i, (topic, _) in enumerate(ranking)}
    related = [t for t in followup_topics().get(previous, ()) if t in confidence]
    if related:
        best = max(related, key=lambda t: confidence[t])
        if (
            confidence[best] >= RELATED_MIN
            and confidence[best] >= RELATED_FACTOR * confidence.get(previous, 0.0)
        ):
            return best
    if recognised or rank.get(previous, SAME_TOPIC_RANK) < SAME_TOPIC_RANK:
        return previous
    return None


def sure_answer(ranking: List[Tuple[str, float]]) -> Optional[str]:
    """The top answer when the ranking is sure of it (as the answer guard would let it pass)."""
    if not ranking:
        return None
    top, confidence = ranking[0]
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    if confidence >= ANSWER_MIN and confidence - runner_up >= ANSWER_MARGIN:
        return top
    return None


def is_short(text: str) -> bool:
    return 0 < len(text.split()) <= SHORT_MESSAGE_WORDS


class ActionAnswerFollowup(Action):
    """Answers an elliptical follow-up in the context of the previous answer, or asks back."""

    def name(self) -> str:
        return "action_answer_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        from actions.fallback import ask_back_or_hand_over

        ranking = answer_ranking(tracker.latest_message)
        previous = previous_topic(tracker)
        if previous:
            covered = covered_by_answer(answer_text(domain, previous), latest_text(tracker))
            topic = resolve_in_context(previous, ranking, recognised=True, covered=covered)
        else:
            topic = sure_answer(ranking)
        if topic is not None:
            dispatcher.utter_message(response=f"{FAQ_RESPONSE_PREFIX}{topic}")
            return []
        if not previous and otherwise_out_of_scope(tracker.latest_message):
            # Nothing to follow up on ("macht ihr auch skiservice?" as the first message): the
            # message is what it reads as otherwise, a question no answer covers -> the team.
            return [SlotSet("handoff_reason", HandoffReason.LOW_NLU_CONFIDENCE.value),
                    FollowupAction("action_handoff")]
        return ask_back_or_hand_over(dispatcher, tracker, first_topic=previous)


def otherwise_out_of_scope(latest_message: Dict[str, Any]) -> bool:
    """Whether the likeliest intent besides the follow-up (and the fallback) is out_of_scope."""
    others = [
        str(entry.get("name")) for entry in latest_message.get("intent_ranking") or []
        if entry.get("name") not in (FOLLOWUP_INTENT, NLU_FALLBACK)
    ]
    return bool(others) and others[0] == OUT_OF_SCOPE_INTENT


__all__ = [
    "ActionAnswerFollowup",
    "answer_ranking",
    "asked_back_within",
    "covered_by_answer",
    "previous_topic",
    "resolve_in_context",
]

"""The review queue: customer messages the bot did not handle (fallback, ask-back, handoff),
grouped by similarity, most frequent first; labelling a group turns it into training data.

Sources: Rasa's SQL tracker store (table ``events``) and the support DB's ``handoffs`` (the
bot's own record of each escalation; with the inbox's ``inbox_replies`` for agents' answers).
Everything shown is masked with :func:`bot.trainer._masking.mask_pii`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from sqlalchemy import inspect, text

from bot.database import make_engine
from bot.trainer._edit import EditResult, add_examples, add_faq, add_intent
from bot.trainer._labels import LabelStore
from bot.trainer._masking import mask_pii
from bot.trainer._project import OUT_OF_SCOPE, Project, TrainerError
from bot.trainer._similar import jaccard, normalize, shingles

GROUP_SIMILARITY = 0.6
REASON_LABELS = {
    "fallback": "nicht verstanden",
    "ask_back": "Rückfrage",
    "handoff": "an Team übergeben",
}
_UNDERSTOOD_HANDOFF_INTENTS = ("request_human", "complaint")
_PRIORITY = {"handoff": 3, "ask_back": 2, "fallback": 1}


@dataclass
class Missed:
    """One customer message the bot did not handle."""

    sender_id: str
    text: str  # masked
    reason: str  # fallback / ask_back / handoff
    at: Optional[datetime] = None
    guess: str = ""  # the bot's best guess ("faq/<topic>" or an intent)
    guess_confidence: float = 0.0
    handoff_id: Optional[int] = None
    intent: str = ""  # the intent after the fallback rules
    context: List[Tuple[str, str]] = field(default_factory=list)  # (who, masked text)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(normalize(self.text).encode()).hexdigest()


@dataclass
class Group:
    id: str
    messages: List[Missed]
    agent_replies: List[str] = field(default_factory=list)  # masked answers of resolved handoffs

    @property
    def text(self) -> str:
        return Counter(m.text for m in self.messages).most_common(1)[0][0]

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def reasons(self) -> List[str]:
        return sorted({m.reason for m in self.messages}, key=lambda r: -_PRIORITY[r])

    @property
    def guess(self) -> Tuple[str, float]:
        guesses = Counter(m.guess for m in self.messages if m.guess)
        if not guesses:
            return "", 0.0
        label = guesses.most_common(1)[0][0]
        best = max(m.guess_confidence for m in self.messages if m.guess == label)
        return label, best

    @property
    def latest(self) -> datetime:
        return max((m.at for m in self.messages if m.at), default=datetime.min)


def _timestamp(value: Any) -> Optional[datetime]:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


def _guess(parse: Dict[str, Any]) -> Tuple[str, float]:
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if not ranking:
        return "", 0.0
    name, confidence = str(ranking[0].get("name")), float(ranking[0].get("confidence") or 0)
    if name == "faq":
        selector = ((parse.get("response_selector") or {}).get("faq") or {})
        top = (selector.get("ranking") or [{}])[0]
        if top.get("intent_response_key"):
            return str(top["intent_response_key"]), float(top.get("confidence") or 0)
    return name, confidence


def _table_exists(engine: Any, name: str) -> bool:
    return bool(inspect(engine).has_table(name))


def from_tracker_store(url: str) -> List[Missed]:
    """Messages followed by the fallback or a handoff, from Rasa's SQL tracker store."""
    engine = make_engine(url)
    try:
        if not _table_exists(engine, "events"):
            return []
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                "FROM events WHERE type_name IN ('user', 'action', 'bot', 'pause', 'resume') "
                "ORDER BY sender_id, id"
            )).fetchall()
    finally:
        engine.dispose()
    missed: List[Missed] = []
    current: Optional[Missed] = None
    paused: Dict[str, bool] = {}
    history: Dict[str, List[Tuple[str, str]]] = {}
    for sender, kind, stamp, intent, action, raw in rows:
        log = history.setdefault(sender, [])
        if current is not None and current.sender_id != sender:
            current = None
        if kind == "pause":
            paused[sender] = True
        elif kind == "resume":
            paused[sender] = False
        elif kind == "bot":
            data = json.loads(raw or "{}")
            if data.get("text"):
                log.append(("bot", mask_pii(str(data["text"]))))
        elif kind == "user":
            data = json.loads(raw or "{}")
            content = str(data.get("text") or "").strip()
            log.append(("customer", mask_pii(content)))
            current = None
            if not content or content.startswith("/") or paused.get(sender):
                continue
            guess, confidence = _guess(data.get("parse_data") or {})
            current = Missed(
                sender_id=sender, text=mask_pii(content), reason="", at=_timestamp(stamp),
                guess=guess, guess_confidence=confidence, context=list(log[-6:-1]),
                intent=str(intent or ""),
            )
            if intent in ("nlu_fallback", OUT_OF_SCOPE):
                current.reason = "fallback"
                missed.append(current)
        elif kind == "action" and current is not None:
            reason = ""
            if action == "action_handle_fallback":
                reason = "ask_back"
            elif action == "action_handoff" and current.intent not in _UNDERSTOOD_HANDOFF_INTENTS:
                reason = "handoff"
            if reason and _PRIORITY[reason] > _PRIORITY.get(current.reason, 0):
                if not current.reason:
                    missed.append(current)
                current.reason = reason
    return missed


def from_support_db(url: str) -> Tuple[List[Missed], Dict[str, List[str]]]:
    """Handoffs after misunderstanding, and agents' sent replies per sender of resolved ones."""
    engine = make_engine(url)
    missed: List[Missed] = []
    replies: Dict[str, List[str]] = {}
    try:
        if not _table_exists(engine, "handoffs"):
            return [], {}
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT id, sender_id, reason, confidence, last_message, created_at, status "
                "FROM handoffs WHERE reason IN "
                "('low_nlu_confidence', 'low_answer_confidence', 'repeated_fallback')"
            )).fetchall()
            for handoff_id, sender, _reason, confidence, last, created, _status in rows:
                if last and not str(last).startswith("/"):
                    missed.append(Missed(
                        sender_id=sender, text=mask_pii(str(last)), reason="handoff",
                        at=created if isinstance(created, datetime) else None,
                        guess_confidence=float(confidence or 0), handoff_id=handoff_id,
                    ))
            if _table_exists(engine, "inbox_replies"):
                for sender, reply in connection.execute(text(
                    "SELECT h.sender_id, r.text FROM inbox_replies r "
                    "JOIN handoffs h ON h.id = r.handoff_id "
                    "WHERE h.status = 'resolved' AND r.status = 'sent' ORDER BY r.id"
                )):
                    replies.setdefault(sender, []).append(mask_pii(str(reply)))
    finally:
        engine.dispose()
    return missed, replies


def group_messages(messages: Sequence[Missed], threshold: float = GROUP_SIMILARITY) -> List[Group]:
    """Greedy single-pass clustering by character-trigram similarity, biggest groups first."""
    clusters: List[Tuple[Any, List[Missed]]] = []
    for message in messages:
        grams = shingles(message.text)
        size = len(grams)
        for centre, members in clusters:
            # Jaccard >= t needs the smaller set to be at least t times the larger one.
            if min(size, len(centre)) < threshold * max(size, len(centre)):
                continue
            if jaccard(centre, grams) >= threshold:
                members.append(message)
                break
        else:
            clusters.append((grams, [message]))
    groups = []
    for _, members in clusters:
        key = normalize(Counter(m.text for m in members).most_common(1)[0][0])
        groups.append(Group(id=hashlib.sha256(key.encode()).hexdigest()[:8], messages=members))
    groups.sort(key=lambda g: (-g.count, -g.latest.timestamp() if g.latest.year > 1 else 0))
    return groups


class ReviewQueue:
    """The unlabelled missed messages of a deployment, and labelling them."""

    def __init__(self, project: Project, tracker_db_url: str, support_db_url: str) -> None:
        self.project = project
        self.tracker_db_url = tracker_db_url
        self.support_db_url = support_db_url
        self.labels = LabelStore(support_db_url)

    def groups(self) -> List[Group]:
        tracker = from_tracker_store(self.tracker_db_url)
        handoffs, replies = from_support_db(self.support_db_url)
        seen = {(m.sender_id, m.text) for m in tracker}
        messages = tracker + [m for m in handoffs if (m.sender_id, m.text) not in seen]
        done = self.labels.fingerprints()
        messages = [m for m in messages if m.fingerprint not in done and normalize(m.text)]
        groups = group_messages(messages)
        for group in groups:
            for sender in dict.fromkeys(m.sender_id for m in group.messages):
                group.agent_replies.extend(replies.get(sender, []))
        return groups

    def _resolve(self, group: Union[str, Group]) -> Group:
        return group if isinstance(group, Group) else self.find(group)

    def find(self, group_id: str) -> Group:
        for group in self.groups():
            if group.id == group_id:
                return group
        raise TrainerError(
            f"no open review group {group_id!r}; `python -m bot review list` shows the current ones"
        )

    def _record(self, group: Group, decision: str, label: Optional[str], by: str,
                result: Optional[EditResult]) -> None:
        written = ", ".join(self.project.relative(p) for p in result.changed) if result else None
        self.labels.record(
            [(m.fingerprint, m.text) for m in group.messages], decision, label, by, written
        )

    def _texts(self, group: Group) -> List[str]:
        return list(dict.fromkeys(m.text for m in group.messages))

    def label(self, group_id: Union[str, Group], label: str, by: str = "") -> EditResult:
        """Add the group's (masked) messages as examples of an existing intent or topic (a
        ``Group`` from a snapshot is used as it is, an id is looked up in the current queue)."""
        group = self._resolve(group_id)
        result = add_examples(self.project, label, self._texts(group))
        decision = "out_of_scope" if label == OUT_OF_SCOPE else "example"
        self._record(group, decision, label, by, result)
        return result

    def new_faq(self, group_id: Union[str, Group], topic: str, answer: str, by: str = "",
                question: Optional[str] = None, title: Optional[str] = None) -> EditResult:
        group = self._resolve(group_id)
        result = add_faq(self.project, topic, answer, self._texts(group),
                         question=question, title=title)
        self._record(group, "new", f"faq/{topic}", by, result)
        return result

    def new_intent(self, group_id: Union[str, Group], name: str, answer: Optional[str] = None,
                   handoff: bool = False, by: str = "") -> EditResult:
        group = self._resolve(group_id)
        result = add_intent(self.project, name, self._texts(group), answer=answer,
                            handoff=handoff)
        self._record(group, "new", name, by, result)
        return result

    def ignore(self, group_id: Union[str, Group], by: str = "") -> None:
        """Not useful as training data (noise, test messages): drop it from the queue."""
        self._record(self._resolve(group_id), "ignore", None, by, None)

    def close(self) -> None:
        self.labels.close()

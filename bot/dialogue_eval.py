"""Whole held-out dialogues against a running bot: what it did, turn by turn, vs. what it should.

The dialogues (``eval/dialogues.yml``) are in Rasa's end-to-end test story format: ``user``
steps, each followed by the actions the bot must run in reply (none: the bot stays quiet).
They are sent one by one through the REST webhook of a real Rasa server with the real action
server; afterwards the conversation's tracker tells which actions really ran after each message.

Bookkeeping actions (``action_listen``, ``action_session_start``, ``action_extract_slots``) are
left out. An action that sent an FAQ answer is written as that answer's response name
(``utter_faq/<topic>``), whether the retrieval action ``utter_faq`` or a custom action sent it:
the customer sees the answer, not who chose it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol

import yaml

from bot.settings import PROJECT_ROOT

DIALOGUES = PROJECT_ROOT / "eval" / "dialogues.yml"
BOOKKEEPING = frozenset({"action_listen", "action_session_start", "action_extract_slots"})
FAQ_RESPONSE_PREFIX = "utter_faq/"


class BotClient(Protocol):
    """A running bot: send a customer message, read the conversation's tracker."""

    def send(self, sender: str, text: str) -> List[Dict[str, Any]]: ...

    def tracker(self, sender: str) -> Dict[str, Any]: ...


@dataclass(frozen=True)
class Turn:
    text: str
    expected: List[str]


@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: List[Turn]

    @property
    def category(self) -> str:
        """The part of the name before the first comma ("follow-up", "person", ...)."""
        return self.name.split(",", 1)[0].strip()


@dataclass
class DialogueResult:
    dialogue: Dialogue
    observed: List[List[str]] = field(default_factory=list)

    @property
    def turns_right(self) -> List[bool]:
        return [
            turn.expected == (self.observed[i] if i < len(self.observed) else None)
            for i, turn in enumerate(self.dialogue.turns)
        ]

    @property
    def right(self) -> bool:
        return all(self.turns_right)

    def explain(self) -> str:
        """The first turn that went wrong, for reports and assertion messages."""
        for i, ok in enumerate(self.turns_right):
            if not ok:
                turn = self.dialogue.turns[i]
                got = self.observed[i] if i < len(self.observed) else "(no turn)"
                return f"{self.dialogue.name}: {turn.text!r} expected {turn.expected}, got {got}"
        return f"{self.dialogue.name}: right"


@dataclass
class DialogueReport:
    results: List[DialogueResult] = field(default_factory=list)

    @staticmethod
    def _rate(hits: int, total: int) -> float:
        return hits / total if total else 0.0

    @property
    def fully_right_rate(self) -> float:
        return self._rate(sum(r.right for r in self.results), len(self.results))

    def category_rate(self, category: str) -> float:
        chosen = [r for r in self.results if r.dialogue.category == category]
        return self._rate(sum(r.right for r in chosen), len(chosen))

    def categories(self) -> Dict[str, float]:
        names = sorted({r.dialogue.category for r in self.results})
        return {name: self.category_rate(name) for name in names}

    def failures(self) -> List[str]:
        return [r.explain() for r in self.results if not r.right]


def load_dialogues(path: Path = DIALOGUES) -> List[Dialogue]:
    """The stories of a Rasa test story file as (user text, expected actions) turns."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dialogues = []
    for story in raw.get("stories") or []:
        turns: List[Turn] = []
        for step in story.get("steps") or []:
            if "user" in step:
                turns.append(Turn(text=str(step["user"]).strip(), expected=[]))
            elif "action" in step:
                if not turns:
                    raise ValueError(f"{story['story']}: an action before the first user step")
                turns[-1].expected.append(str(step["action"]))
        dialogues.append(Dialogue(name=str(story["story"]), turns=turns))
    return dialogues


def actions_per_turn(events: List[Dict[str, Any]]) -> List[List[str]]:
    """The actions that ran after each customer message, FAQ answers by their response name."""
    turns: List[List[str]] = []
    pending: Optional[str] = None  # the last action, until we know whether it sent an FAQ answer

    def flush() -> None:
        nonlocal pending
        if pending is not None and turns:
            turns[-1].append(pending)
        pending = None

    for event in events:
        kind = event.get("event")
        if kind == "user":
            flush()
            turns.append([])
        elif kind == "action":
            flush()
            name = str(event.get("name") or "")
            if name not in BOOKKEEPING and turns:
                pending = name
        elif kind == "bot" and turns:
            response = str((event.get("metadata") or {}).get("utter_action") or "")
            if response.startswith(FAQ_RESPONSE_PREFIX):
                turns[-1].append(response)
                pending = None
    flush()
    return turns


def run_dialogue(
    client: BotClient, dialogue: Dialogue, sender: Optional[str] = None
) -> DialogueResult:
    customer = sender or f"dialogue-{uuid.uuid4().hex[:12]}"
    for turn in dialogue.turns:
        client.send(customer, turn.text)
    events: List[Dict[str, Any]] = client.tracker(customer).get("events") or []
    return DialogueResult(dialogue=dialogue, observed=actions_per_turn(events))


def run_dialogues(
    client: BotClient,
    dialogues: Optional[List[Dialogue]] = None,
    progress: Optional[Callable[[DialogueResult], None]] = None,
) -> DialogueReport:
    report = DialogueReport()
    for dialogue in dialogues if dialogues is not None else load_dialogues():
        result = run_dialogue(client, dialogue)
        report.results.append(result)
        if progress is not None:
            progress(result)
    return report


__all__ = [
    "BotClient",
    "Dialogue",
    "DialogueReport",
    "DialogueResult",
    "Turn",
    "actions_per_turn",
    "load_dialogues",
    "run_dialogue",
    "run_dialogues",
]

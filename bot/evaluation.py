"""Measuring a trained model on a labelled split (default: the held-out set in eval/).

What customers notice is measured, after every fallback rule has run:
- FAQ accuracy: FAQ questions answered with the right topic (falling back counts as a miss);
- wrong FAQ answers: FAQ questions answered with another topic's answer;
- out-of-scope safe rate: questions no FAQ covers that did *not* get an FAQ answer;
- intent accuracy for everything else (greet, request_human, complaint, order_status, ...).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from bot.settings import PROJECT_ROOT

HELDOUT = PROJECT_ROOT / "eval" / "heldout.yml"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
FOLLOWUP = "faq_followup"


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # "faq/<topic>" or an intent name


@dataclass(frozen=True)
class Prediction:
    example: Example
    intent: str  # after the fallback rules ("nlu_fallback" if the bot is unsure)
    topic: Optional[str]  # "faq/<topic>" chosen by the ResponseSelector
    confidence: float
    answer_confidence: Optional[float]
    # Before any fallback rule: the classifiers' own best guesses, for threshold sweeps.
    raw_intent: str = ""
    raw_confidence: float = 0.0
    raw_runner_up: float = 0.0
    answer_runner_up: float = 0.0

    @property
    def predicted_label(self) -> str:
        return self.topic if self.intent == "faq" and self.topic else self.intent

    def with_thresholds(self, thresholds: "Thresholds") -> "Prediction":
        """What the bot would have done with other fallback thresholds."""
        intent = self.raw_intent
        if (
            self.raw_confidence < thresholds.nlu
            or self.raw_confidence - self.raw_runner_up < thresholds.ambiguity
        ):
            intent = FALLBACK
        elif intent == "faq" and (
            (self.answer_confidence or 0.0) < thresholds.answer
            or (self.answer_confidence or 0.0) - self.answer_runner_up < thresholds.margin
        ):
            intent = FALLBACK
        return replace(self, intent=intent)


@dataclass(frozen=True)
class Thresholds:
    nlu: float
    ambiguity: float
    answer: float
    margin: float


@dataclass
class Report:
    predictions: List[Prediction] = field(default_factory=list)

    def _of(self, faq: Optional[bool] = None, label: Optional[str] = None) -> List[Prediction]:
        chosen = self.predictions
        if faq is not None:
            chosen = [p for p in chosen if p.example.label.startswith("faq/") == faq]
        if label is not None:
            chosen = [p for p in chosen if p.example.label == label]
        return chosen

    @staticmethod
    def _rate(hits: int, total: int) -> float:
        return hits / total if total else 0.0

    @property
    def faq_total(self) -> int:
        return len(self._of(faq=True))

    @property
    def faq_accuracy(self) -> float:
        faq = self._of(faq=True)
        return self._rate(sum(p.predicted_label == p.example.label for p in faq), len(faq))

    @property
    def faq_wrong_answer_rate(self) -> float:
        faq = self._of(faq=True)
        wrong = sum(p.intent == "faq" and p.predicted_label != p.example.label for p in faq)
        return self._rate(wrong, len(faq))

    @property
    def faq_fallback_rate(self) -> float:
        faq = self._of(faq=True)
        return self._rate(sum(p.intent != "faq" for p in faq), len(faq))

    @property
    def out_of_scope_total(self) -> int:
        return len(self._of(label=OUT_OF_SCOPE))

    @property
    def out_of_scope_safe_rate(self) -> float:
        oos = self._of(label=OUT_OF_SCOPE)
        return self._rate(sum(p.intent != "faq" for p in oos), len(oos))

    @property
    def intent_accuracy(self) -> float:
        other = [p for p in self._of(faq=False) if p.example.label != OUT_OF_SCOPE]
        return self._rate(sum(p.predicted_label == p.example.label for p in other), len(other))

    @property
    def overall_accuracy(self) -> float:
        def ok(p: Prediction) -> bool:
            if p.example.label == OUT_OF_SCOPE:
                return p.intent != "faq"
            return p.predicted_label == p.example.label

        return self._rate(sum(ok(p) for p in self.predictions), len(self.predictions))

    def _reached(self, label: str, accepted: Iterable[str]) -> float:
        """Share of ``label`` examples whose outcome is one of ``accepted``."""
        chosen = self._of(label=label)
        allowed = set(accepted)
        return self._rate(sum(p.predicted_label in allowed for p in chosen), len(chosen))

    @property
    def person_request_rate(self) -> float:
        """Requests for a person that hand over (an angry request hands over too)."""
        return self._reached("request_human", ("request_human", "complaint"))

    @property
    def order_status_recall(self) -> float:
        """Order-status questions that start the lookup (an order number alone starts it too)."""
        return self._reached("order_status", ("order_status", "inform"))

    @property
    def english_rate(self) -> float:
        """English messages that get the English reply (or, asking for a person, a handoff)."""
        return self._reached("english", ("english", "request_human"))

    def confusions(self, top: int = 10) -> List[Tuple[str, str, int]]:
        pairs = Counter(
            (p.example.label, p.predicted_label)
            for p in self.predictions
            if p.predicted_label != p.example.label
            and not (p.example.label == OUT_OF_SCOPE and p.intent != "faq")
        )
        return [(gold, got, n) for (gold, got), n in pairs.most_common(top)]

    def summary(self) -> Dict[str, float]:
        return {
            "faq_accuracy": self.faq_accuracy,
            "faq_wrong_answer_rate": self.faq_wrong_answer_rate,
            "faq_fallback_rate": self.faq_fallback_rate,
            "out_of_scope_safe_rate": self.out_of_scope_safe_rate,
            "intent_accuracy": self.intent_accuracy,
            "overall_accuracy": self.overall_accuracy,
            "person_request_rate": self.person_request_rate,
            "order_status_recall": self.order_status_recall,
            "english_rate": self.english_rate,
            "examples": float(len(self.predictions)),
        }


def load_examples(path: Path = HELDOUT) -> List[Example]:
    """Examples of a Rasa NLU YAML file (entity markup removed), labelled with full intents."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        label = message.get_full_intent()
        examples.append(Example(text=str(message.get("text")), label=str(label)))
    return examples


def _prediction(example: Example, parsed: Dict[str, Any]) -> Prediction:
    intent = parsed.get("intent") or {}
    selectors = parsed.get("response_selector") or {}
    # A ResponseSelector without `retrieval_intent` (Rasa's default config) answers as "default".
    selector = selectors.get("faq") or selectors.get("default") or {}
    response = selector.get("response") or {}
    topic = response.get("intent_response_key")
    raw = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK]
    answers = selector.get("ranking") or []
    name = str(intent.get("name") or "")
    if name == FOLLOWUP:
        # A single message has no previous answer: action_answer_followup answers the top
        # topic when sure, else asks back (actions/followup.py).
        from actions.followup import answer_ranking, sure_answer

        sure = sure_answer(answer_ranking(parsed))
        name, topic = ("faq", f"faq/{sure}") if sure else (FALLBACK, None)
    return Prediction(
        example=example,
        intent=name,
        topic=str(topic) if topic else None,
        confidence=float(intent.get("confidence") or 0.0),
        answer_confidence=float(response["confidence"]) if "confidence" in response else None,
        raw_intent=str(raw[0]["name"]) if raw else "",
        raw_confidence=float(raw[0]["confidence"]) if raw else 0.0,
        raw_runner_up=float(raw[1]["confidence"]) if len(raw) > 1 else 0.0,
        answer_runner_up=float(answers[1]["confidence"]) if len(answers) > 1 else 0.0,
    )


def sweep(report: Report, grid: Iterable[Thresholds]) -> List[Tuple[Thresholds, Report]]:
    """The same predictions re-judged under each set of thresholds."""
    return [
        (t, Report(predictions=[p.with_thresholds(t) for p in report.predictions])) for t in grid
    ]


def _quiet_rasa_logging() -> None:
    """Rasa 3.6 logs every parsed message at debug level through structlog; keep reports clean."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("rasa").setLevel(logging.WARNING)


async def _predict_all(model: Path, examples: Iterable[Example]) -> List[Prediction]:
    from rasa.core.agent import Agent

    _quiet_rasa_logging()
    agent = Agent.load(str(model))
    predictions = []
    for example in examples:
        parsed = await agent.parse_message(example.text)
        predictions.append(_prediction(example, parsed))
    return predictions


def evaluate(model: Path, examples: Optional[List[Example]] = None) -> Report:
    """Run the full NLU pipeline of ``model`` (fallbacks included) over ``examples``."""
    chosen = examples if examples is not None else load_examples()
    return Report(predictions=asyncio.run(_predict_all(model, chosen)))

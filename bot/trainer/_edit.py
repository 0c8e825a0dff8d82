"""Adding FAQ topics, intents and examples to the training data and the domain.

Every edit is checked first and written only if all of it is valid, so a refused command leaves
the project untouched. Files are edited round-trip (see :mod:`bot.trainer._yaml`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from bot.faq import MAX_ANSWER_CHARS, addresses_formally
from bot.trainer import _yaml
from bot.trainer._project import (
    FAQ_PREFIX,
    Project,
    TrainerError,
    TrainingData,
    check_id,
    load_training_data,
)
from bot.trainer._similar import normalize

MIN_NEW_EXAMPLES = 2
MAX_PAYLOAD_BYTES = 64  # Telegram's limit for button payloads (topics.yml questions)
RESERVED_INTENTS = frozenset(
    {"faq", "nlu_fallback", "out_of_scope", "restart", "back", "session_start"}
)


@dataclass
class EditResult:
    changed: List[Path] = field(default_factory=list)
    added_examples: List[str] = field(default_factory=list)
    skipped_examples: List[str] = field(default_factory=list)  # already there, same label
    notes: List[str] = field(default_factory=list)


class _Pending:
    """Loaded documents to write together at the end."""

    def __init__(self) -> None:
        self.documents: Dict[Path, Tuple[Any, str]] = {}

    def open(self, path: Path) -> Any:
        if path not in self.documents:
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                self.documents[path] = (_yaml.load_text(text), text)
            else:
                document = CommentedMap([("version", "3.1"), ("nlu", CommentedSeq())])
                self.documents[path] = (document, "")
        return self.documents[path][0]

    def append(self, path: Path, key: str, entry: CommentedMap) -> None:
        """Append ``entry`` to the list under ``key``, after a blank line like its neighbours."""
        document = self.open(path)
        if document.get(key) is None:
            document[key] = CommentedSeq()
        text = self.documents[path][1]
        if document[key] and text and not text.endswith("\n\n"):
            entry.yaml_set_start_comment("\n")
        document[key].append(entry)

    def write(self) -> List[Path]:
        for path, (document, text) in self.documents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            _yaml.save(path, document, text)
        return list(self.documents)


def _clean_examples(examples: Sequence[str]) -> List[str]:
    seen = set()
    cleaned = []
    for example in examples:
        text = " ".join(example.split())
        if not text:
            continue
        if len(text) > 500:
            raise TrainerError(f"example too long ({len(text)} characters, max 500): {text[:40]}…")
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            cleaned.append(text)
    return cleaned


def _conflicts(data: TrainingData, label: str, examples: Sequence[str]) -> List[str]:
    owner = {normalize(e.text): e.label for e in data.examples}
    return [
        f"{text!r} is already an example of {owner[normalize(text)]}"
        for text in examples
        if owner.get(normalize(text), label) != label
    ]


def _check_answer(answer: str) -> str:
    answer = " ".join(answer.split())
    if not answer:
        raise TrainerError("the answer is empty")
    if len(answer) > MAX_ANSWER_CHARS:
        raise TrainerError(
            f"the answer has {len(answer)} characters; messenger answers may have at most "
            f"{MAX_ANSWER_CHARS}: shorten it"
        )
    if addresses_formally(answer):
        raise TrainerError("the answer says 'Sie'/'Ihnen': Paula talks to customers with 'du'")
    return answer


def _append_keeping_trailer(sequence: CommentedSeq, value: Any) -> None:
    """Append, moving a comment or blank line after the old last item behind the new one."""
    last = len(sequence) - 1
    sequence.append(value)
    if last >= 0 and last in sequence.ca.items:
        sequence.ca.items[last + 1] = sequence.ca.items.pop(last)


def _nlu_entry(label: str, examples: Sequence[str]) -> CommentedMap:
    return CommentedMap([("intent", label), ("examples", _yaml.literal_lines(list(examples)))])


def _response(answer: str) -> CommentedSeq:
    return CommentedSeq([CommentedMap([("text", DoubleQuotedScalarString(answer))])])


def _insert_after_prefix(
    mapping: CommentedMap, prefix: str, key: str, value: Any, exclude: str = "\0"
) -> None:
    """Insert after the last key starting with ``prefix`` (at the end if there is none)."""
    positions = [
        i for i, existing in enumerate(mapping)
        if str(existing).startswith(prefix) and not str(existing).startswith(exclude)
    ]
    mapping.insert(positions[-1] + 1 if positions else len(mapping), key, value)


def add_faq(
    project: Project,
    topic: str,
    answer: str,
    examples: Sequence[str],
    *,
    question: Optional[str] = None,
    title: Optional[str] = None,
    nlu_file: Optional[Path] = None,
) -> EditResult:
    """A new FAQ topic: examples of ``faq/<topic>``, ``utter_faq/<topic>``, a topics.yml entry."""
    check_id("FAQ topic", topic)
    data = load_training_data(project)
    label = FAQ_PREFIX + topic
    if label in data.label_files:
        raise TrainerError(
            f"FAQ topic {topic!r} already exists in {project.relative(data.label_files[label])}; "
            f"add examples with `python -m bot examples add {label} ...`"
        )
    if f"utter_faq/{topic}" in data.responses:
        raise TrainerError(f"domain.yml already has an answer utter_faq/{topic}")
    answer = _check_answer(answer)
    cleaned = _clean_examples(([question] if question else []) + list(examples))
    if len(cleaned) < MIN_NEW_EXAMPLES:
        raise TrainerError(
            f"give at least {MIN_NEW_EXAMPLES} different example questions "
            f"(--example/-e or --examples-file); better 10 or more, the way customers write"
        )
    conflicts = _conflicts(data, label, cleaned)
    if conflicts:
        raise TrainerError("; ".join(conflicts) + " (remove it or pick the right topic)")
    canonical = question or cleaned[0]
    if len(canonical.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise TrainerError(
            f"the question for the ask-back button has more than {MAX_PAYLOAD_BYTES} bytes: "
            f"give a shorter --question"
        )
    button_title = title or (canonical if len(canonical) <= 30 else topic.replace("_", " "))

    target = nlu_file or (project.faq_files() or [project.nlu_dir / "faq.yml"])[-1]
    pending = _Pending()
    pending.append(target, "nlu", _nlu_entry(label, cleaned))
    domain = pending.open(project.domain)
    if "responses" not in domain or domain["responses"] is None:
        domain["responses"] = CommentedMap()
    _insert_after_prefix(domain["responses"], "utter_faq/", f"utter_faq/{topic}", _response(answer))
    intents = domain.get("intents")
    if intents is not None and "faq" not in [str(i) for i in intents]:
        intents.append("faq")
    result = EditResult(added_examples=cleaned)
    if project.topics.is_file() or project.topics.parent.is_dir():
        topics = pending.open(project.topics) if project.topics.is_file() else None
        if topics is not None:
            entry = CommentedMap(
                [("title", DoubleQuotedScalarString(button_title)),
                 ("question", DoubleQuotedScalarString(canonical))]
            )
            entry.fa.set_flow_style()
            topics[topic] = entry
    result.changed = pending.write()
    if len(cleaned) < 10:
        result.notes.append(
            f"only {len(cleaned)} examples: the bot learns a topic reliably from about 10"
        )
    return result


def add_intent(
    project: Project,
    name: str,
    examples: Sequence[str],
    *,
    answer: Optional[str] = None,
    handoff: bool = False,
    nlu_file: Optional[Path] = None,
) -> EditResult:
    """A new intent with examples, in domain.yml; with ``answer`` also ``utter_<name>`` and a
    rule, with ``handoff`` a rule to ``action_handoff``."""
    check_id("intent", name)
    if name in RESERVED_INTENTS or name.startswith(("faq_", "utter_", "action_")):
        raise TrainerError(f"{name!r} is reserved; choose another intent name")
    if answer and handoff:
        raise TrainerError("give either --answer or --handoff, not both")
    data = load_training_data(project)
    if name in data.label_files or name in data.domain_intents:
        raise TrainerError(f"intent {name!r} already exists; add examples with "
                           f"`python -m bot examples add {name} ...`")
    cleaned = _clean_examples(examples)
    if len(cleaned) < MIN_NEW_EXAMPLES:
        raise TrainerError(f"give at least {MIN_NEW_EXAMPLES} different examples (-e ...)")
    conflicts = _conflicts(data, name, cleaned)
    if conflicts:
        raise TrainerError("; ".join(conflicts) + " (remove it or pick the right intent)")
    checked_answer = _check_answer(answer) if answer else None
    if checked_answer and f"utter_{name}" in data.responses:
        raise TrainerError(f"domain.yml already has a response utter_{name}")

    target = nlu_file or project.nlu_dir / "conversation.yml"
    pending = _Pending()
    pending.append(target, "nlu", _nlu_entry(name, cleaned))
    domain = pending.open(project.domain)
    if domain.get("intents") is None:
        domain["intents"] = CommentedSeq()
    _append_keeping_trailer(domain["intents"], name)
    result = EditResult(added_examples=cleaned)
    action = None
    if checked_answer:
        action = f"utter_{name}"
        responses = domain.setdefault("responses", CommentedMap())
        _insert_after_prefix(
            responses, "utter_", action, _response(checked_answer), exclude="utter_faq/"
        )
    elif handoff:
        action = "action_handoff"
    if action is not None:
        if not project.rules.is_file():
            raise TrainerError(f"{project.relative(project.rules)} does not exist")
        rule_steps = CommentedSeq(
            [CommentedMap([("intent", name)]), CommentedMap([("action", action)])]
        )
        pending.append(project.rules, "rules",
                       CommentedMap([("rule", name.replace("_", " ")), ("steps", rule_steps)]))
    else:
        result.notes.append(
            "no --answer or --handoff: no rule tells the bot what to do after this intent; "
            "add a rule or story in data/stories/"
        )
    result.changed = pending.write()
    return result


def add_examples(project: Project, label: str, examples: Sequence[str]) -> EditResult:
    """Append examples to an existing intent or FAQ topic (skipping ones it already has)."""
    data = load_training_data(project)
    path = data.label_files.get(label)
    if path is None:
        hint = (
            "create it with `python -m bot faq add`" if label.startswith(FAQ_PREFIX)
            else "create it with `python -m bot intent add`"
        )
        raise TrainerError(f"{label!r} is neither an intent nor a FAQ topic yet: {hint}")
    cleaned = _clean_examples(examples)
    conflicts = _conflicts(data, label, cleaned)
    if conflicts:
        raise TrainerError("; ".join(conflicts))
    have = {normalize(text) for text in data.examples_of(label)}
    new = [text for text in cleaned if normalize(text) not in have]
    result = EditResult(skipped_examples=[t for t in cleaned if t not in new])
    if not new:
        return result
    pending = _Pending()
    document = pending.open(path)
    for entry in document.get("nlu") or []:
        if isinstance(entry, dict) and str(entry.get("intent")) == label:
            lines = _yaml.example_lines(entry.get("examples")) + new
            entry["examples"] = _yaml.literal_lines(lines)
            break
    result.changed = pending.write()
    result.added_examples = new
    return result


def set_faq_answers(project: Project, answers: Dict[str, str]) -> Path:
    """Write each (already checked) answer as the text of ``utter_faq/<topic>`` in domain.yml,
    keeping the rest of the file as it is; returns the file written."""
    pending = _Pending()
    domain = pending.open(project.domain)
    responses = domain.get("responses") or {}
    for topic, answer in answers.items():
        name = f"utter_faq/{topic}"
        if name not in responses:
            raise TrainerError(f"domain.yml has no answer {name}")
        variations = responses[name]
        if len(variations) == 1 and isinstance(variations[0], dict):
            variations[0]["text"] = DoubleQuotedScalarString(answer)
        else:
            responses[name] = _response(answer)
    pending.write()
    return project.domain


def set_faq_answer(project: Project, topic: str, answer: str) -> Path:
    """:func:`set_faq_answers` for one topic."""
    return set_faq_answers(project, {topic: answer})

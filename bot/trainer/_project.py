"""Where a bot project keeps its training data, and reading it the way trainers think of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from bot.errors import BotError
from bot.trainer import _yaml

FAQ_PREFIX = "faq/"
OUT_OF_SCOPE = "out_of_scope"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


class TrainerError(BotError):
    """A trainer command cannot do what was asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Project:
    """A Rasa project directory: data/nlu, data/stories, domain.yml, actions/topics.yml."""

    root: Path

    @property
    def nlu_dir(self) -> Path:
        return self.root / "data" / "nlu"

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    @property
    def rules(self) -> Path:
        return self.root / "data" / "stories" / "rules.yml"

    @property
    def topics(self) -> Path:
        return self.root / "actions" / "topics.yml"

    @property
    def company(self) -> Path:
        return self.root / "company" / "bergpfad.yml"

    @property
    def heldout(self) -> Path:
        return self.root / "eval" / "heldout.yml"

    def nlu_files(self) -> List[Path]:
        if not self.nlu_dir.is_dir():
            raise TrainerError(f"{self.nlu_dir} does not exist: is {self.root} a bot project?")
        return sorted(self.nlu_dir.glob("*.yml"))

    def faq_files(self) -> List[Path]:
        return [path for path in self.nlu_files() if path.name.startswith("faq")]

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # "faq/<topic>" or an intent name
    file: Path


@dataclass
class TrainingData:
    """Intents/topics with their examples, and the domain's intents and responses."""

    examples: List[Example] = field(default_factory=list)
    label_files: Dict[str, Path] = field(default_factory=dict)
    domain_intents: List[str] = field(default_factory=list)
    responses: Dict[str, List[str]] = field(default_factory=dict)
    topic_buttons: Dict[str, Dict[str, str]] = field(default_factory=dict)

    def labels(self) -> List[str]:
        return list(dict.fromkeys(example.label for example in self.examples))

    def examples_of(self, label: str) -> List[str]:
        return [example.text for example in self.examples if example.label == label]

    def faq_topics(self) -> List[str]:
        return [
            label[len(FAQ_PREFIX):] for label in self.labels() if label.startswith(FAQ_PREFIX)
        ]

    def intents(self) -> List[str]:
        return [label for label in self.labels() if not label.startswith(FAQ_PREFIX)]


def _safe_load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TrainerError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TrainerError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None


def load_training_data(project: Project) -> TrainingData:
    data = TrainingData()
    for path in project.nlu_files():
        content = _safe_load(path) or {}
        for entry in content.get("nlu") or []:
            if not isinstance(entry, dict) or "intent" not in entry:
                continue
            label = str(entry["intent"])
            data.label_files.setdefault(label, path)
            for text in _yaml.example_lines(entry.get("examples")):
                data.examples.append(Example(text=_strip_entities(text), label=label, file=path))
    domain = _safe_load(project.domain) or {}
    data.domain_intents = [
        next(iter(item)) if isinstance(item, dict) else str(item)
        for item in domain.get("intents") or []
    ]
    for name, variants in (domain.get("responses") or {}).items():
        data.responses[str(name)] = [
            str(variant.get("text", "")) for variant in variants or [] if isinstance(variant, dict)
        ]
    if project.topics.is_file():
        raw = _safe_load(project.topics) or {}
        data.topic_buttons = {str(k): dict(v) for k, v in raw.items() if isinstance(v, dict)}
    return data


_ENTITY = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)|\[([^\]]+)\]\{[^}]*\}")


def _strip_entities(text: str) -> str:
    return _ENTITY.sub(lambda m: m.group(1) or m.group(2), text)


def check_id(kind: str, value: str) -> str:
    if not ID_PATTERN.match(value):
        raise TrainerError(
            f"{value!r} is not a valid {kind} id: use 2-48 lowercase letters, digits and "
            f"underscores, starting with a letter (e.g. gift_wrapping)"
        )
    return value


def read_lines_file(path: Optional[Path]) -> List[str]:
    """Example questions from a file: one per line, '- ' prefixes and '#' comments ignored."""
    if path is None:
        return []
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TrainerError(f"cannot read {path}: {error.strerror}") from None
    lines = []
    for line in raw.splitlines():
        line = line.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines

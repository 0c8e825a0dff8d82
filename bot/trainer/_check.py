"""``check``: ``rasa data validate`` plus the mistakes trainers actually make."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Set

import yaml

from bot.faq import MAX_ANSWER_CHARS, addresses_formally, missing_facts
from bot.trainer._project import (
    FAQ_PREFIX,
    Project,
    TrainingData,
    _safe_load,
    load_training_data,
)
from bot.trainer._similar import NEAR_DUPLICATE, near_pairs

MIN_EXAMPLES = 5
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DOMAIN_GAP = re.compile(r"not (?:listed in|part of|defined in|included in) the domain", re.I)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" (must fix before training) or "warning"
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():7} [{self.kind}] {self.message}"


@dataclass
class CheckReport:
    findings: List[Finding] = field(default_factory=list)

    @property
    def errors(self) -> List[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> List[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def clean(self) -> bool:
        return not self.findings

    def of_kind(self, kind: str) -> List[Finding]:
        return [f for f in self.findings if f.kind == kind]


def rasa_validate(project: Project) -> List[Finding]:
    """``rasa data validate``; its errors (not its warnings, checked better below)."""
    from bot.training import quiet_environment

    command = [
        sys.executable, "-m", "rasa", "data", "validate",
        "--domain", "domain.yml", "--data", "data", "--config", "config.yml",
    ]
    completed = subprocess.run(
        command, cwd=project.root, env=quiet_environment(), capture_output=True, text=True
    )
    output = _ANSI.sub("", completed.stdout + completed.stderr).splitlines()
    findings = []
    # Rasa only warns (exit 0) about names missing in the domain; the bot breaks on them.
    seen = set()
    for line in output:
        text = line.split("UserWarning:", 1)[-1].strip()
        if "UserWarning" in line and _DOMAIN_GAP.search(text) and text not in seen:
            seen.add(text)
            findings.append(Finding("error", "rasa-validate", text))
    if completed.returncode != 0:
        lines = [line.strip() for line in output if "ERROR" in line or "Error" in line]
        detail = " | ".join(lines[-5:]) or " | ".join(output[-3:])
        findings.append(Finding("error", "rasa-validate", f"rasa data validate failed: {detail}"))
    return findings


def duplicates(data: TrainingData, threshold: float = NEAR_DUPLICATE) -> List[Finding]:
    texts = [e.text for e in data.examples]
    labels = [e.label for e in data.examples]
    findings = []
    for i, j, score in near_pairs(texts, labels, threshold):
        same = "the same example" if score >= 0.999 else f"near-same examples ({score:.0%})"
        findings.append(Finding(
            "error" if score >= 0.999 else "warning",
            "duplicate",
            f"{same} under two labels: {labels[i]}: {texts[i]!r} <-> {labels[j]}: {texts[j]!r}",
        ))
    return findings


def few_examples(data: TrainingData, minimum: int = MIN_EXAMPLES) -> List[Finding]:
    return [
        Finding("warning", "few-examples",
                f"{label} has only {n} examples (at least {minimum}, better 10+)")
        for label in data.labels()
        if (n := len(data.examples_of(label))) < minimum
    ]


def answers(project: Project, data: TrainingData) -> List[Finding]:
    findings = []
    topics = set(data.faq_topics())
    for topic in sorted(topics):
        texts = data.responses.get(f"utter_faq/{topic}")
        if not texts or not any(t.strip() for t in texts):
            findings.append(Finding("error", "missing-answer",
                                    f"faq/{topic} has examples but no answer utter_faq/{topic}"))
        if data.topic_buttons and topic not in data.topic_buttons:
            findings.append(Finding(
                "warning", "missing-button",
                f"faq/{topic} has no entry in {project.relative(project.topics)} "
                f"(the ask-back cannot offer it)"))
    for name, texts in data.responses.items():
        if name.startswith("utter_faq/") and name[len("utter_faq/"):] not in topics:
            findings.append(Finding("warning", "unused-response",
                                    f"{name} answers a topic that has no examples"))
        for text in texts:
            if len(text) > MAX_ANSWER_CHARS:
                findings.append(Finding(
                    "error", "answer-too-long",
                    f"{name} has {len(text)} characters (max {MAX_ANSWER_CHARS} for messengers)"))
            if addresses_formally(text):
                findings.append(Finding("warning", "formal-address",
                                        f"{name} says 'Sie'/'Ihnen'; Paula says 'du'"))
    if project.company.is_file():
        company = yaml.safe_load(project.company.read_text(encoding="utf-8")) or {}
        for entry in company.get("topics") or []:
            texts = data.responses.get(f"utter_faq/{entry['id']}") or []
            if not texts:
                findings.append(Finding(
                    "error", "missing-answer",
                    f"company topic {entry['id']} has no answer utter_faq/{entry['id']}"))
                continue
            for text in texts:
                lost = missing_facts(text, str(entry["answer"]))
                if lost:
                    findings.append(Finding(
                        "error", "missing-facts",
                        f"utter_faq/{entry['id']} lacks the facts: {', '.join(lost)}"))
    return findings


def _used_names(project: Project, domain: Dict[str, Any]) -> Set[str]:
    used: Set[str] = set()
    stories_dir = project.root / "data"
    for path in stories_dir.rglob("*.yml"):
        content = _safe_load(path) or {}
        if not isinstance(content, dict):
            continue
        for block in (content.get("stories") or []) + (content.get("rules") or []):
            for step in block.get("steps") or []:
                if isinstance(step, dict) and "action" in step:
                    used.add(str(step["action"]))
    source = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for folder in ("actions", "bot", "channels")
        if (project.root / folder).is_dir()
        for path in (project.root / folder).rglob("*.py")
    )
    used.update(re.findall(r"utter_[A-Za-z0-9_/]+", source))
    for form in (domain.get("forms") or {}).values():
        for slot in (form or {}).get("required_slots") or []:
            used.update({f"utter_ask_{slot}", f"utter_invalid_{slot}"})
    used.add("utter_default")
    return used


def unused_responses(project: Project) -> List[Finding]:
    domain = _safe_load(project.domain) or {}
    used = _used_names(project, domain)
    return [
        Finding("warning", "unused-response", f"{name} is never used by a rule, story or action")
        for name in domain.get("responses") or {}
        if not str(name).startswith("utter_faq/") and name not in used
    ]


def unanswered_intents(project: Project, data: TrainingData) -> List[Finding]:
    stories = "\n".join(
        path.read_text(encoding="utf-8") for path in (project.root / "data").rglob("*.yml")
        if "nlu" not in path.parts
    )
    return [
        Finding("warning", "no-rule", f"intent {label} appears in no rule or story")
        for label in data.intents()
        if not re.search(rf"intent:\s*{re.escape(label)}\b", stories) and label != "inform"
    ]


def undeclared(data: TrainingData) -> List[Finding]:
    declared = set(data.domain_intents)
    return [
        Finding("error", "undeclared-intent", f"intent {label} is missing in domain.yml intents")
        for label in {label.split("/", 1)[0] for label in data.labels()}
        if label not in declared
    ]


def check(project: Project, *, validate: bool = True, min_examples: int = MIN_EXAMPLES
          ) -> CheckReport:
    data = load_training_data(project)
    report = CheckReport()
    if validate:
        report.findings += rasa_validate(project)
    report.findings += undeclared(data)
    report.findings += duplicates(data)
    report.findings += few_examples(data, min_examples)
    report.findings += answers(project, data)
    report.findings += unused_responses(project)
    report.findings += unanswered_intents(project, data)
    report.findings.sort(key=lambda f: (f.level != "error", f.kind))
    return report


__all__ = ["FAQ_PREFIX", "CheckReport", "Finding", "check"]

"""A small fixture bot for trainer tests: the real domain, rules and conversation intents, but
only three FAQ topics and few examples, trained with few epochs (well under a minute)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import yaml

from bot.settings import PROJECT_ROOT
from bot.trainer import _yaml

FAQ_TOPICS = ("delivery_time", "shipping_costs", "return_policy")
EPOCHS = 20
EXAMPLES_PER_INTENT = 14
HELDOUT_PER_LABEL = 4


def _nlu_entries(path: Path) -> List[Dict[str, object]]:
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or [])


def _write_nlu(path: Path, entries: Dict[str, List[str]]) -> None:
    lines = ['version: "3.1"', "nlu:"]
    for label, examples in entries.items():
        lines += [f"- intent: {label}", "  examples: |"]
        lines += [f"    - {example}" for example in examples]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def make_fixture_bot(dest: Path) -> Path:
    """Write the fixture project to ``dest`` and return it."""
    (dest / "data" / "nlu").mkdir(parents=True)
    (dest / "actions").mkdir()
    (dest / "eval").mkdir()
    shutil.copytree(PROJECT_ROOT / "data" / "stories", dest / "data" / "stories")
    shutil.copy(PROJECT_ROOT / "data" / "nlu" / "regex.yml", dest / "data" / "nlu" / "regex.yml")

    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "epochs" in component:
            component["epochs"] = EPOCHS
        if component["name"] == "SpacyNLP":
            component["model"] = str(PROJECT_ROOT / "var" / "spacy_de")
    (dest / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    domain_text = (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
    domain = _yaml.load_text(domain_text)
    for key in [k for k in domain["responses"] if str(k).startswith("utter_faq/")]:
        if str(key).split("/", 1)[1] not in FAQ_TOPICS:
            del domain["responses"][key]
    (dest / "domain.yml").write_text("")
    _yaml.save(dest / "domain.yml", domain, domain_text)

    conversation: Dict[str, List[str]] = {}
    faq: Dict[str, List[str]] = {}
    for source in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for entry in _nlu_entries(source):
            if "intent" not in entry:
                continue
            label = str(entry["intent"])
            if label.startswith("faq/") and label[4:] not in FAQ_TOPICS:
                continue
            # The first examples of each label over the files in order (an intent may have
            # examples in several files, e.g. faq_1.yml and faq_4.yml).
            chosen = (faq if label.startswith("faq/") else conversation).setdefault(label, [])
            missing = EXAMPLES_PER_INTENT - len(chosen)
            chosen += _yaml.example_lines(entry.get("examples"))[:max(missing, 0)]
    _write_nlu(dest / "data" / "nlu" / "conversation.yml", conversation)
    _write_nlu(dest / "data" / "nlu" / "faq.yml", faq)

    topics = yaml.safe_load((PROJECT_ROOT / "actions" / "topics.yml").read_text("utf-8"))
    (dest / "actions" / "topics.yml").write_text(
        "# Ask-back buttons of the fixture bot.\n" + "".join(
            f'{t}: {{title: "{topics[t]["title"]}", question: "{topics[t]["question"]}"}}\n'
            for t in FAQ_TOPICS
        ),
        encoding="utf-8",
    )

    heldout: Dict[str, List[str]] = {}
    for entry in _nlu_entries(PROJECT_ROOT / "eval" / "heldout.yml"):
        label = str(entry["intent"])
        if label == "out_of_scope" or label[4:] in FAQ_TOPICS:
            heldout[label] = _yaml.example_lines(entry.get("examples"))[:HELDOUT_PER_LABEL * 2
                                                                        if label == "out_of_scope"
                                                                        else HELDOUT_PER_LABEL]
    _write_nlu(dest / "eval" / "heldout.yml", heldout)
    return dest

"""The training data as Rasa sees it: validation clean, nothing missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

# Responses only custom actions or forms utter: Rasa's validator can't see those uses.
UTTERED_BY_ACTIONS = {
    "utter_ask_order_number", "utter_ask_postal_code", "utter_invalid_order_number",
    "utter_invalid_postal_code", "utter_order_not_found", "utter_ask_back",
    "utter_ask_rephrase", "utter_default", "utter_error", "utter_anything_else",
    "utter_rating_thanks", "utter_rating_unclear", "utter_affirm", "utter_deny",
    "utter_answer_helpful", "utter_answer_unhelpful",
}


def test_rasa_data_validate_is_clean() -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(PROJECT_ROOT))
    completed = subprocess.run(
        [
            sys.executable, "-m", "rasa", "data", "validate",
            "--domain", "domain.yml", "--data", "data", "--config", "config.yml",
        ],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    warnings = [
        line for line in output.splitlines()
        if "UserWarning" in line and "duplicated intents have been found" not in line
    ]
    unexpected = [
        line for line in warnings
        if not any(f"'{name}' is not used in any story" in line for name in UTTERED_BY_ACTIONS)
    ]
    assert unexpected == []
    assert "No story structure conflicts found" in output


def test_every_intent_has_enough_varied_examples() -> None:
    counts: dict[str, int] = {}
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block:
                lines = [x for x in block["examples"].splitlines() if x.strip()]
                counts[block["intent"]] = counts.get(block["intent"], 0) + len(lines)
    faq = {k: v for k, v in counts.items() if k.startswith("faq/")}
    assert len(faq) == 42
    assert min(faq.values()) >= 15
    for intent in ("greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny",
                   "request_human", "complaint", "order_status", "stop", "out_of_scope"):
        assert counts.get(intent, 0) >= 15, intent


def _texts(path: Path) -> set[str]:
    found = set()
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block:
            lines = block["examples"].splitlines()
            found |= {x.strip()[2:].lower() for x in lines if x.strip()}
    return found


def _training_texts() -> set[str]:
    training: set[str] = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        training |= _texts(path)
    return training


def test_heldout_split_is_not_in_the_training_data() -> None:
    heldout = _texts(PROJECT_ROOT / "eval" / "heldout.yml")
    assert len(heldout) >= 300
    assert heldout & _training_texts() == set()


def test_development_split_is_neither_trained_on_nor_in_the_heldout_split() -> None:
    """eval/development.yml is for diagnosis and thresholds: never trained on, never reported."""
    development = _texts(PROJECT_ROOT / "eval" / "development.yml")
    assert len(development) >= 450
    assert development & _training_texts() == set()
    assert development & _texts(PROJECT_ROOT / "eval" / "heldout.yml") == set()


def _typed_dialogue_texts(path: Path) -> set[str]:
    """What customers typed in a dialogue file (button taps and canonical questions excepted)."""
    from bot.dialogue_eval import load_dialogues

    topics = yaml.safe_load((PROJECT_ROOT / "actions" / "topics.yml").read_text("utf-8"))
    buttons = {str(entry["question"]).lower() for entry in topics.values()}
    typed = {
        turn.text.lower()
        for dialogue in load_dialogues(path)
        for turn in dialogue.turns
        if not turn.text.startswith("/")
    }
    return typed - buttons


def test_heldout_dialogues_are_not_in_the_training_data() -> None:
    """Customer texts of eval/dialogues.yml are never trained on (button taps excepted)."""
    from bot.dialogue_eval import load_dialogues

    assert len(load_dialogues()) >= 40
    typed = _typed_dialogue_texts(PROJECT_ROOT / "eval" / "dialogues.yml")
    assert typed & _training_texts() == set()


def test_development_dialogues_are_not_in_the_training_data() -> None:
    """eval/development_dialogues.yml is for diagnosis: its customer texts are never trained on."""
    from bot.dialogue_eval import load_dialogues

    path = PROJECT_ROOT / "eval" / "development_dialogues.yml"
    assert len(load_dialogues(path)) >= 40
    assert _typed_dialogue_texts(path) & _training_texts() == set()

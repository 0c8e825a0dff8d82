"""The bot's FAQ answers against the company's facts."""

from pathlib import Path

import pytest
import yaml

from bot.faq import (
    COMPANY_FILE,
    MAX_ANSWER_CHARS,
    addresses_formally,
    facts,
    load_topics,
    missing_facts,
)
from bot.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
TOPICS = load_topics()
SHARED = PROJECT_ROOT.parent / "shared" / "faq" / "bergpfad.yml"


def test_all_42_topics_have_an_answer() -> None:
    assert len(TOPICS) == 42
    responses = {key for key in DOMAIN["responses"] if key.startswith("utter_faq/")}
    assert responses == {f"utter_faq/{topic}" for topic in TOPICS}


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_answer_carries_every_fact_and_fits_a_messenger(topic: str) -> None:
    answer = DOMAIN["responses"][f"utter_faq/{topic}"][0]["text"]
    assert missing_facts(answer, TOPICS[topic].answer) == []
    assert len(answer) <= MAX_ANSWER_CHARS
    assert not addresses_formally(answer)  # customers are addressed with du


def test_fact_extraction_finds_what_matters() -> None:
    found = facts(TOPICS["shipping_costs"].answer)
    assert {"4,95 €", "50 €", "9,95 €", "14,95 €"} <= set(found)
    assert "service@bergpfad.example" in facts(TOPICS["contact"].answer)
    assert "Meine Bestellungen" in facts(TOPICS["invoice"].answer)
    assert missing_facts("Versand kostet 4,95 €.", TOPICS["shipping_costs"].answer) != []
    assert "Klarna" in facts(TOPICS["payment_methods"].answer)
    assert addresses_formally("Wir schicken Ihnen gern einen Link.")
    assert not addresses_formally("Sie sind 3 Jahre gültig. Du bekommst sie per E-Mail.")


def test_company_copy_matches_the_shared_faq() -> None:
    if not SHARED.is_file():
        pytest.skip(f"no shared FAQ at {SHARED} to compare with")
    assert Path(COMPANY_FILE).read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8")

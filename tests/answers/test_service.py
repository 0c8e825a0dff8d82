"""Live answer edits against a copy of the real domain and company facts, on a real support
database (SQLite and PostgreSQL): every check refuses in German and changes nothing; undo steps
back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from bot.answers import AnswerRefused, AnswerStore, answer_table, edit_answer, undo_answer
from bot.settings import PROJECT_ROOT
from tests._postgres import Databases

EDITED = ("Innerhalb Deutschlands zahlst du 4,95 € Versand, ab 50 € Bestellwert gar nichts. "
          "Nach Österreich kostet der Versand 9,95 €, in die Schweiz 14,95 €.")
SECOND = ("Versand in Deutschland: 4,95 €, ab 50 € Bestellwert kostenlos. Österreich 9,95 €, "
          "Schweiz 14,95 €.")


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / "company").mkdir()
    shutil.copy(PROJECT_ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copy(PROJECT_ROOT / "company" / "bergpfad.yml", tmp_path / "company" / "bergpfad.yml")
    return tmp_path


@pytest.fixture()
def store(databases: Databases) -> Iterator[AnswerStore]:
    store = AnswerStore.open(databases.new("support"))
    yield store
    store.close()


@pytest.mark.parametrize(("answer", "sentence"), [
    (EDITED.replace("ab 50 € ", "ab "),
     "Es fehlen Fakten aus company/bergpfad.yml: „50 €“. Stimmen sie nicht mehr, ändere sie "
     "zuerst dort."),
    (EDITED + " Mehr dazu" + " und noch mehr" * 20 + ".", "Zeichen, erlaubt sind höchstens 400"),
    (EDITED + " Gern schicken wir Ihr Paket mit DHL.", "Die Antwort siezt"),
    (EDITED + " Wir schicken Ihnen eine Mail.", "Die Antwort siezt"),
    ("   ", "Die Antwort ist leer."),
])
def test_refused_edit_says_why_in_german_and_changes_nothing(
    root: Path, store: AnswerStore, answer: str, sentence: str
) -> None:
    with pytest.raises(AnswerRefused) as refused:
        edit_answer(root, store, "shipping_costs", answer, "mia")
    assert str(refused.value).startswith("Nicht übernommen: ")
    assert sentence in str(refused.value)
    assert store.history("shipping_costs") == []


def test_unknown_topic_and_unchanged_answer_are_refused(root: Path, store: AnswerStore) -> None:
    with pytest.raises(AnswerRefused, match="Das Thema „gift_cards_x“ gibt es nicht"):
        edit_answer(root, store, "gift_cards_x", EDITED, "mia")
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8"))
    original = domain["responses"]["utter_faq/shipping_costs"][0]["text"]
    with pytest.raises(AnswerRefused, match="unverändert"):
        edit_answer(root, store, "shipping_costs", original, "mia")
    assert store.all_history() == {}


def test_undo_steps_back_through_the_edits_to_domain_yml(root: Path, store: AnswerStore) -> None:
    first = edit_answer(root, store, "shipping_costs", "  " + EDITED + "\n", "mia")
    assert first.text == EDITED  # whitespace tidied
    edit_answer(root, store, "shipping_costs", SECOND, "tom")
    assert store.current_texts() == {"shipping_costs": SECOND}
    restored = undo_answer(root, store, "shipping_costs", "ada")
    assert restored is not None and restored.author == "mia"
    assert store.current_texts() == {"shipping_costs": EDITED}
    assert undo_answer(root, store, "shipping_costs", "ada") is None
    assert store.current_texts() == {}
    with pytest.raises(AnswerRefused, match="nichts rückgängig zu machen"):
        undo_answer(root, store, "shipping_costs", "ada")
    history = store.history("shipping_costs")
    assert [(v.author, v.undone_by) for v in history] == [("tom", "ada"), ("mia", "ada")]
    row = next(r for r in answer_table(root, store) if r.topic == "shipping_costs")
    assert row.live is None and row.text == row.domain_text and len(row.history) == 2


def test_changed_company_facts_are_what_edits_and_undo_are_checked_against(
    root: Path, store: AnswerStore
) -> None:
    edit_answer(root, store, "shipping_costs", EDITED, "mia")
    company = root / "company" / "bergpfad.yml"
    company.write_text(company.read_text(encoding="utf-8").replace(
        "ab 50 € Bestellwert", "ab 60 € Bestellwert"), encoding="utf-8")
    with pytest.raises(AnswerRefused, match="„60 €“"):
        edit_answer(root, store, "shipping_costs", SECOND, "mia")
    edit_answer(root, store, "shipping_costs", SECOND.replace("50 €", "60 €"), "mia")
    with pytest.raises(AnswerRefused, match="Nicht rückgängig gemacht: die Fassung davor passt "
                                            "nicht mehr.*„60 €“"):  # it says 50 €
        undo_answer(root, store, "shipping_costs", "mia")
    assert "60 €" in store.current_texts()["shipping_costs"]

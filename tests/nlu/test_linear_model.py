"""The tf-idf + logistic regression classifier behind the intent and FAQ components."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.nlu.linear_model import LinearTextClassifier, ModelSettings, fold_text

TEXTS = [
    "wo ist meine bestellung", "bestellstatus", "wann kommt mein paket", "paket verfolgen",
    "was kostet der versand", "versandkosten", "porto nach österreich", "lieferkosten",
    "hallo", "moin", "guten tag", "hi 👋",
]
LABELS = ["order"] * 4 + ["shipping"] * 4 + ["greet"] * 4


def test_spelling_variants_fold_to_the_same_text() -> None:
    assert fold_text("Rücksendung?!") == fold_text("ruecksendung") == fold_text("RUCKSENDUNG")
    assert fold_text("Grüß Gott 👋") == "gruss gott 👋"


def test_learns_labels_and_ranks_them_with_probabilities() -> None:
    model = LinearTextClassifier(ModelSettings()).fit(TEXTS, LABELS)
    ranking = model.ranking("Was kostet das Porto?", 0)
    assert ranking[0][0] == "shipping"
    assert abs(sum(p for _, p in ranking) - 1) < 1e-6
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    assert model.ranking("wo bleibt mein päckchen", 2)[0][0] == "order"
    assert len(model.ranking("hallo", 2)) == 2


def test_saved_model_predicts_the_same_and_holds_no_pickle(tmp_path: Path) -> None:
    model = LinearTextClassifier(ModelSettings()).fit(TEXTS, LABELS)
    model.save(tmp_path)
    loaded = LinearTextClassifier.load(tmp_path)
    queries = ["versand nach wien", "meine bestellung ist nicht da", "servus"]
    assert np.allclose(model.predict(queries), loaded.predict(queries), atol=1e-5)
    for array in tmp_path.glob("*.npy"):
        np.load(array, allow_pickle=False)  # plain arrays only


def test_training_is_deterministic() -> None:
    first = LinearTextClassifier(ModelSettings()).fit(TEXTS, LABELS).predict(["porto"])
    second = LinearTextClassifier(ModelSettings()).fit(TEXTS, LABELS).predict(["porto"])
    assert np.array_equal(first, second)


def test_two_labels_and_one_label_give_proper_probabilities() -> None:
    two = LinearTextClassifier(ModelSettings()).fit(TEXTS[:8], LABELS[:8])
    ranking = two.ranking("versandkosten bitte", 0)
    assert ranking[0][0] == "shipping"
    assert abs(sum(p for _, p in ranking) - 1) < 1e-9
    one = LinearTextClassifier(ModelSettings()).fit(TEXTS[:4], LABELS[:4])
    assert one.ranking("irgendwas", 0) == [("order", 1.0)]

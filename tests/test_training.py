"""Training runs only when what the model is made of changed."""

import json
from pathlib import Path

from bot.training import inputs_fingerprint, model_path, stamp_path, train


def project(tmp_path: Path) -> Path:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("intents: [greet]\n")
    (tmp_path / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    return tmp_path


def test_fingerprint_follows_data_config_and_domain(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = inputs_fingerprint(root, "config.yml", ("data",))
    assert inputs_fingerprint(root, "config.yml", ("data",)) == first
    (root / "data" / "nlu" / "a.yml").write_text("nlu: [x]\n")
    second = inputs_fingerprint(root, "config.yml", ("data",))
    assert second != first
    (root / "config.yml").write_text("pipeline: [a]\n")
    third = inputs_fingerprint(root, "config.yml", ("data",))
    assert third != second
    (root / "notes.txt").write_text("unrelated")
    assert inputs_fingerprint(root, "config.yml", ("data",)) == third


def test_an_up_to_date_model_is_not_retrained(tmp_path: Path) -> None:
    root = project(tmp_path)
    models = root / "models"
    models.mkdir()
    model_path(models).write_bytes(b"model")
    current = inputs_fingerprint(root, "config.yml", ("data",))
    stamp_path(models).write_text(json.dumps({"fingerprint": current, "seconds": 42}))
    # python=/bin/false: had it tried to train, it would have failed.
    result = train(root, models, python="/bin/false")
    assert result.trained is False
    assert result.seconds == 42

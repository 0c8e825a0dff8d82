"""Builds the offline German spaCy pipeline Rasa's SpacyNLP loads by path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

MARKER = "bergpfad-spacy-de-v1"


def spacy_model_ready(path: Path) -> bool:
    return (path / "meta.json").is_file() and (path / MARKER).is_file()


def build_spacy_model(path: Path) -> Path:
    """``spacy.blank('de')`` + the lookup lemmatizer (spacy-lookups-data), saved to ``path``."""
    import spacy  # heavy import: only when building

    nlp = spacy.blank("de")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "bergpfad_de_blank"
    nlp.meta["description"] = "Blank German pipeline with lookup lemmatizer (offline)"
    path.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)
    (path / MARKER).write_text("ok\n", encoding="utf-8")
    return path


def ensure_spacy_model(path: Path) -> bool:
    """Build the pipeline if missing; True if it was built now."""
    if spacy_model_ready(path):
        return False
    build_spacy_model(path)
    return True


def config_uses_spacy(config: Path) -> bool:
    """True if the Rasa config's pipeline has a SpacyNLP component (it needs this pipeline)."""
    try:
        parsed = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    pipeline = parsed.get("pipeline") if isinstance(parsed, dict) else None
    return any(
        isinstance(component, dict) and component.get("name") == "SpacyNLP"
        for component in pipeline or []
    )


def ensure_spacy_model_in_child(path: Path, python: str = sys.executable) -> bool:
    """Like :func:`ensure_spacy_model`, in a child process (keeps spaCy out of the caller)."""
    if spacy_model_ready(path):
        return False
    subprocess.run([python, "-m", "bot", "build-spacy"], check=True)
    return True

"""Training the model only when its inputs changed, with visible progress and timing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from bot.errors import BotError

MODEL_NAME = "bergpfad"
INPUT_GLOBS = ("config.yml", "domain.yml", "data/**/*.yml", "bot/nlu/*.py")


class TrainingError(BotError):
    """``rasa train`` failed."""


@dataclass(frozen=True)
class TrainResult:
    model: Path
    trained: bool
    seconds: float


def fingerprint(root: Path, files: Optional[Iterable[Path]] = None) -> str:
    """A hash over everything that changes the trained model."""
    digest = hashlib.sha256()
    paths = sorted(set(files)) if files is not None else sorted(
        {path for pattern in INPUT_GLOBS for path in root.glob(pattern) if path.is_file()}
    )
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(model_dir: Path, name: str = MODEL_NAME) -> Path:
    return model_dir / f"{name}.tar.gz"


def train(
    root: Path,
    model_dir: Path,
    *,
    config: str = "config.yml",
    data: Iterable[str] = ("data",),
    name: str = MODEL_NAME,
    force: bool = False,
    python: str = sys.executable,
) -> TrainResult:
    """Train with ``rasa train`` unless the model for the current inputs already exists."""
    target = model_path(model_dir, name)
    stamp = model_dir / f"{name}.fingerprint"
    inputs = fingerprint(root)
    if config != "config.yml":
        inputs = hashlib.sha256((inputs + (root / config).read_text()).encode()).hexdigest()
    if not force and target.is_file() and stamp.is_file() and stamp.read_text().strip() == inputs:
        return TrainResult(model=target, trained=False, seconds=0.0)
    model_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = [
        python, "-m", "rasa", "train",
        "--config", config,
        "--domain", "domain.yml",
        "--data", *data,
        "--out", str(model_dir),
        "--fixed-model-name", name,
        "--force",
    ]
    completed = subprocess.run(command, cwd=root)
    if completed.returncode != 0 or not target.is_file():
        raise TrainingError(
            f"rasa train failed (exit {completed.returncode}); see the output above"
        )
    stamp.write_text(inputs + "\n")
    return TrainResult(model=target, trained=True, seconds=time.monotonic() - started)

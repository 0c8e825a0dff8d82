"""Training the model only when its inputs changed, with visible progress and timing."""

from __future__ import annotations

import hashlib
import json
import os
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
    trained: bool  # False: the existing model already matched the inputs
    seconds: float  # training time (of the earlier run when not trained now)


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


def quiet_environment() -> dict[str, str]:
    """The environment for Rasa processes, minus the noise of its pinned old libraries."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::FutureWarning")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def model_path(model_dir: Path, name: str = MODEL_NAME) -> Path:
    return model_dir / f"{name}.tar.gz"


def stamp_path(model_dir: Path, name: str = MODEL_NAME) -> Path:
    """Where the fingerprint and training time of a trained model are recorded."""
    return model_dir / f"{name}.fingerprint.json"


def inputs_fingerprint(root: Path, config: str, data: Iterable[str]) -> str:
    """The fingerprint of one training run: project inputs, the config used, the data paths."""
    inputs = fingerprint(root)
    if config != "config.yml":
        inputs = hashlib.sha256((inputs + (root / config).read_text()).encode()).hexdigest()
    return hashlib.sha256((inputs + "\0".join(data)).encode()).hexdigest()


def train(
    root: Path,
    model_dir: Path,
    *,
    config: str = "config.yml",
    data: Iterable[str] = ("data",),
    name: str = MODEL_NAME,
    force: bool = False,
    python: str = sys.executable,
    announce: bool = False,
) -> TrainResult:
    """Train with ``rasa train`` (a child process that exits) unless the model for the current
    inputs already exists. ``announce``: say what happens before Rasa's own progress output."""
    target = model_path(model_dir, name)
    stamp = stamp_path(model_dir, name)
    inputs = inputs_fingerprint(root, config, data)
    recorded = _read_stamp(stamp)
    if not force and target.is_file() and recorded.get("fingerprint") == inputs:
        earlier = float(str(recorded.get("seconds", 0)))
        return TrainResult(model=target, trained=False, seconds=earlier)
    model_dir.mkdir(parents=True, exist_ok=True)
    if announce:
        last = f" (last time {recorded['seconds']} s)" if recorded.get("seconds") else ""
        print(f"Training the model with {config}{last}; Rasa's progress follows …", flush=True)
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
    completed = subprocess.run(command, cwd=root, env=quiet_environment())
    if completed.returncode != 0 or not target.is_file():
        raise TrainingError(
            f"rasa train failed (exit {completed.returncode}); see the output above"
        )
    seconds = time.monotonic() - started
    stamp.write_text(json.dumps({"fingerprint": inputs, "seconds": round(seconds, 1)}) + "\n")
    return TrainResult(model=target, trained=True, seconds=seconds)


def _read_stamp(stamp: Path) -> dict[str, object]:
    try:
        value = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}

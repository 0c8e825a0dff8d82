"""`python -m bot train` / `run`: training happens in a child process that exits, so the
launcher that keeps running holds neither Rasa nor TensorFlow nor spaCy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from bot.cli import main
code = main(["train"])
loaded = {name.split(".")[0] for name in sys.modules}
heavy = sorted(loaded & {"rasa", "tensorflow", "spacy", "sklearn"})
# VmHWM: this process's peak RSS. (getrusage's ru_maxrss survives exec, so it would report
# the peak of the big pytest process this probe was forked from.)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"code": code, "heavy": heavy,
                  "max_rss_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


def test_train_runs_rasa_in_a_child_and_the_launcher_stays_small(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(BOT_VAR_DIR=str(tmp_path / "var"), BOT_MODEL_DIR=str(tmp_path / "models"))
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True,
        text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["code"] == 0
    assert (tmp_path / "models" / "bergpfad.tar.gz").is_file()
    assert "Training the model with config.yml" in result.stdout
    assert probe["heavy"] == []  # all of it ran in `rasa train`, which has exited
    assert probe["max_rss_mb"] < 150
    # The model file of the shipped config is small (the previous one was 171 MB).
    assert (tmp_path / "models" / "bergpfad.tar.gz").stat().st_size < 25e6

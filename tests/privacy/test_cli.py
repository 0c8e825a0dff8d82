"""``python -m bot customer export|delete|purge`` as an operator runs them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import List

from bot.settings import PROJECT_ROOT
from tests.privacy._plant import PSEUDONYM_KEY, days_ago, plant, settings_for
from tests.privacy.test_stores import JANA, TOM


def run_cli(var_dir: Path, args: List[str], stdin: str = "") -> "subprocess.CompletedProcess[str]":
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update({"BOT_VAR_DIR": str(var_dir), "LOG_PSEUDONYM_KEY": PSEUDONYM_KEY,
                "RETENTION_DAYS": "180"})
    return subprocess.run(
        [sys.executable, "-m", "bot", "customer", *args], cwd=PROJECT_ROOT, env=env,
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )


def test_export_writes_private_json_and_german_text(tmp_path: Path) -> None:
    plant(settings_for(tmp_path), JANA)
    out = tmp_path / "auskunft" / "jana.json"
    result = run_cli(tmp_path, ["export", "0170 1234 5678", "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert "whatsapp:+4917012345678" in result.stdout
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["sender_ids"] == [JANA.sender_id]
    assert exported["counts"]["support.handoffs"] == 1
    text = out.with_suffix(".txt").read_text(encoding="utf-8")
    assert "Datenauskunft nach Art. 15 DSGVO" in text and JANA.texts[1] in text
    for path in (out, out.with_suffix(".txt")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_delete_asks_unless_yes_and_is_idempotent(tmp_path: Path) -> None:
    plant(settings_for(tmp_path), JANA)
    plant(settings_for(tmp_path), TOM)
    refused = run_cli(tmp_path, ["delete", JANA.sender_id])
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = run_cli(tmp_path, ["delete", JANA.sender_id, "--yes"])
    assert done.returncode == 0, done.stderr
    assert "Gelöscht:" in done.stdout
    assert "rasa_tracker.events" in done.stdout and "support.handoffs" in done.stdout
    again = run_cli(tmp_path, ["delete", JANA.sender_id, "--yes"])
    assert again.returncode == 0 and "nichts zu löschen" in again.stdout
    still = run_cli(tmp_path, ["export", TOM.sender_id, "--out", "-"])
    assert json.loads(still.stdout)["counts"]["support.handoffs"] == 1


def test_purge_dry_run_then_real(tmp_path: Path) -> None:
    plant(settings_for(tmp_path), JANA, when=days_ago(365))
    plant(settings_for(tmp_path), TOM, when=days_ago(3))
    dry = run_cli(tmp_path, ["purge", "--dry-run"])
    assert dry.returncode == 0 and "1 Gespräch(e)" in dry.stdout and "würden" in dry.stdout
    real = run_cli(tmp_path, ["purge", "--days", "180"])
    assert "1 Gespräch(e)" in real.stdout
    assert run_cli(tmp_path, ["export", JANA.sender_id, "--out", "-"]).returncode == 1
    assert run_cli(tmp_path, ["export", TOM.sender_id, "--out", "-"]).returncode == 0

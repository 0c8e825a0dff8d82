"""Log hygiene: sender ids appear only as keyed pseudonyms; log files and var/ are private."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from actions.handoff import ActionHandoff
from bot.launcher import build_services
from bot.privacy import pseudo, pseudonym
from bot.privacy._logs import set_pseudonym_key
from bot.settings import load_settings
from tests.actions.test_handoff import MONDAY_10, run, runtime_at, tracker


def test_pseudonyms_are_keyed_stable_and_short() -> None:
    first = pseudonym("whatsapp:+4917012345678", key="k1")
    assert first == pseudonym("whatsapp:+4917012345678", key="k1")
    assert first != pseudonym("whatsapp:+4917012345678", key="k2")
    assert first != pseudonym("whatsapp:+4917012345679", key="k1")
    assert first.startswith("c-") and len(first) == 14
    set_pseudonym_key("k1")
    assert str(pseudo("whatsapp:+4917012345678")) == first


def test_handoff_log_line_names_the_customer_only_by_pseudonym(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_pseudonym_key("secret")
    caplog.set_level(logging.DEBUG)
    words = "mein Name ist Jana und ich will einen Menschen"
    run(ActionHandoff(runtime_at(tmp_path, MONDAY_10)), tracker(words, "request_human", 0.97))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("actions")]
    assert any(pseudonym("4711", key="secret") in line for line in lines), lines
    assert not any("4711" in line or words in line for line in lines)


def test_launcher_makes_var_and_rasa_log_private(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    (var_dir / "support.db").write_text("")
    (var_dir / "support.db").chmod(0o644)
    (var_dir / "old.log.1").write_text("x")
    settings = load_settings({"BOT_VAR_DIR": str(var_dir), "RASA_TOKEN": "t" * 20})
    build_services(settings, tmp_path / "model.tar.gz", python="python")
    assert stat.S_IMODE(var_dir.stat().st_mode) == 0o700
    for name in ("rasa.log", "support.db", "old.log.1"):
        assert stat.S_IMODE((var_dir / name).stat().st_mode) == 0o600, name

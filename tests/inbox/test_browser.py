"""The whole handoff in real headless Chromium against real processes: Rasa + action server
with the Telegram channel (fake Telegram Bot API), the inbox as `python -m bot inbox`.

Log in, a customer message through the real Telegram webhook appears live in the queue, claim,
reply (arrives at the fake Telegram API), internal note (never sent), resolve (rating question
reaches the customer), the rating is stored, and the bot answers the next message again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from bot.settings import PROJECT_ROOT
from tests._screens import screenshot_path
from tests._stack import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
PASSWORD = "browser-test-passwort"  # one-time (set through `agent add`)
OWN_PASSWORD = "Annas eigener Satz mit 5 Wörtern"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(scope="module")
def channels(test_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.channels.harness import start_channel_stack

    running = start_channel_stack(tmp_path_factory.mktemp("inbox-e2e"), test_model)
    yield running
    running.stack.stop()
    running.telegram.stop()
    running.twilio.stop()


@pytest.fixture(scope="module")
def inbox(channels: Any) -> Iterator[str]:
    env = dict(channels.stack.env)
    env["INBOX_PORT"] = str(free_port())
    env["INBOX_SECRET_KEY"] = "browser-test-secret"
    env["HANDOFF_WAIT_MINUTES"] = "30"
    added = subprocess.run(
        [sys.executable, "-m", "bot", "agent", "add", "anna", "--admin", "--password-stdin"],
        input=PASSWORD + "\n", env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    log = channels.stack.settings.var_dir / "inbox.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "bot", "inbox"], env=env,
                                   cwd=PROJECT_ROOT, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['INBOX_PORT']}"
    try:
        _wait_http(f"{url}/login")
        yield url
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture()
def page(inbox: str) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed and scripts/ensure-system-packages "
                    "could not install it (needs root and apt-get): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1440, "height": 860}, locale="de-DE")
        page = context.new_page()
        page.set_default_timeout(30000)
        yield page
        browser.close()


def test_handoff_through_telegram_in_the_browser(channels: Any, inbox: str, page: Any) -> None:
    from sqlalchemy import select

    from bot.database import make_engine, session_factory
    from bot.models import Handoff
    from tests.channels.harness import new_chat_id

    dialogs: List[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    telegram = channels.telegram
    chat_id = new_chat_id()
    sender = str(chat_id)

    # first log-in with the password from `agent add`: she must set her own one first
    page.goto(f"{inbox}/inbox")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{inbox}/inbox/password")
    page.goto(f"{inbox}/inbox")
    page.wait_for_url(f"{inbox}/inbox/password")
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", OWN_PASSWORD)
    page.fill("input[name=repeat]", OWN_PASSWORD)
    page.click("form[action='/inbox/password'] button[type=submit]")
    page.wait_for_url(f"{inbox}/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", OWN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{inbox}/inbox")
    page.wait_for_selector("#live.on")

    # the customer asks for a person on Telegram: the handoff appears live in the queue
    assert channels.post_telegram(telegram.text_update(chat_id, "Hallo")) == 200
    assert channels.post_telegram(
        telegram.text_update(chat_id, "Ich möchte bitte mit einem Menschen sprechen")
    ) == 200
    item = page.locator(f".queue-item:has-text('{sender}')")
    item.wait_for()
    assert "Telegram" in item.inner_text()
    notice = telegram.wait_for("sendMessage", lambda c: str(c.params.get("chat_id")) == sender
                               and "Team" in str(c.params.get("text")))
    assert notice

    # while waiting the customer writes more (with markup that must stay text)
    assert channels.post_telegram(
        telegram.text_update(chat_id, "<script>alert(1)</script> Mein Zelt ist kaputt")
    ) == 200
    page.locator(".queue-item:has-text('Mein Zelt ist kaputt')").wait_for()

    # claim and answer
    item.click()
    page.locator(".transcript .item-customer:has-text('Mein Zelt ist kaputt')").wait_for()
    page.click("button[data-action=claim]")
    page.locator(".status-pill.status-assigned").wait_for()
    reply = "Hallo, hier ist Anna vom Bergpfad-Team. Schick mir gern ein Foto vom Zelt."
    page.fill("#composer-text", reply)
    page.keyboard.press("Enter")
    telegram.wait_for("sendMessage", lambda c: str(c.params.get("chat_id")) == sender
                      and c.params.get("text") == reply)
    page.locator(f".transcript .item-agent:has-text('{reply[:30]}')").wait_for()

    # an internal note is shown, never sent
    page.click(".composer-tabs [data-mode=note]")
    note = "Ersatzzelt aus Lager München anbieten"
    page.fill("#composer-text", note)
    page.keyboard.press("Enter")
    page.locator(f".transcript .item-note:has-text('{note}')").wait_for()
    time.sleep(1)
    assert not telegram.calls_of("sendMessage", lambda c: note in str(c.params.get("text")))

    # customer text is shown as text, not run
    customer = page.locator(".transcript .item-customer:has-text('Mein Zelt ist kaputt') .text")
    assert customer.inner_text().startswith("<script>alert(1)</script>")
    assert not dialogs

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox-conversation.png"))
    shutil.copyfile(ARTIFACTS / "inbox-conversation.png", screenshot_path("inbox.png"))

    # resolve: the bot takes over and asks for a rating
    page.click("button[data-action=resolve]")
    page.locator(".status-pill.status-resolved").wait_for()
    assert dialogs and "Bewertung" in dialogs[-1]
    rating_question = telegram.wait_for(
        "sendMessage", lambda c: str(c.params.get("chat_id")) == sender
        and "Note von 1" in str(c.params.get("text"))
    )[-1]
    assert "rate" in str(rating_question.params.get("reply_markup"))

    # the customer taps "5": stored with the handoff, and the bot thanks
    channels.post_telegram(telegram.callback_update(chat_id, '/rate{"rating": 5}'))
    telegram.wait_for("sendMessage", lambda c: str(c.params.get("chat_id")) == sender
                      and "Danke für deine Bewertung" in str(c.params.get("text")))
    sessions = session_factory(make_engine(channels.stack.settings.support_db_url))
    with sessions() as session:
        record = session.execute(
            select(Handoff).where(Handoff.sender_id == sender)
        ).scalars().one()
        assert record.status == "resolved" and record.rating == 5
        assert record.first_reply_at is not None

    # and the bot answers the next message itself
    channels.post_telegram(telegram.text_update(chat_id, "Was kostet der Versand?"))
    telegram.wait_for("sendMessage", lambda c: str(c.params.get("chat_id")) == sender
                      and "4,95" in str(c.params.get("text")), timeout=60)
    page.goto(f"{inbox}/inbox/dashboard")
    assert page.locator("text=Zufriedenheit").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "inbox-dashboard.png"))
    if screenshot_path("inbox-dashboard.png") != ARTIFACTS / "inbox-dashboard.png":
        shutil.copyfile(ARTIFACTS / "inbox-dashboard.png", screenshot_path("inbox-dashboard.png"))
    assert os.path.getsize(screenshot_path("inbox.png")) > 10000

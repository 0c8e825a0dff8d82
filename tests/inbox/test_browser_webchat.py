"""The customer web chat in real headless Chromium (Debian's) against the inbox app on loopback
with a fake Rasa, on a 375 px phone: „Paula schreibt …“ while the bot works, then the answer is
visible without scrolling and above the input bar, the DHL link is a real link, and a reload
shows the whole conversation again, a team reply with the agent's first name."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.inbox._broker import _web_payload
from bot.inbox._webchat import COOKIE, sender_from_cookie
from tests._screens import screenshot_path
from tests.inbox._support import run_async, start_harness

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TRACKING = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557"
ANSWER = f"Deine Bestellung 10023 ist unterwegs. Sendungsverfolgung: {TRACKING}"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


async def assert_above_the_bar(page: Any, element: Any) -> None:
    """Visible without scrolling: inside the window and not under the input bar."""
    box = await element.bounding_box()
    bar = await page.locator("#form").bounding_box()
    height = await page.evaluate("window.innerHeight")
    assert box is not None and bar is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"] <= height


@run_async
async def test_newest_answer_visible_link_clickable_and_history_after_reload(
    tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    h = await start_harness(tmp_path)
    h.rasa.rest_answers = [ANSWER]
    try:
        base = f"http://127.0.0.1:{h.server.port}"
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=["--no-sandbox"])
            context = await browser.new_context(viewport={"width": 375, "height": 667})
            page = await context.new_page()
            page.set_default_timeout(30_000)
            errors: list = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(f"{base}/chat")
            await expect(page.locator("body[data-ready='1']")).to_have_count(1)
            cookies = await context.cookies()
            value = next(c["value"] for c in cookies if c["name"] == COOKIE)
            sender = sender_from_cookie(h.inbox.secret, value)
            assert sender is not None

            # An earlier long conversation fills more than the screen.
            for n in range(12):
                h.rasa.record(sender, {"event": "user", "text": f"Frage {n}"})
                h.rasa.record(sender, {"event": "bot", "text": f"Antwort {n} " + "bla " * 20})
            await page.reload()
            await expect(page.locator(".msg.user")).to_have_count(12)

            for n in range(2):
                gate = asyncio.Event()
                h.rasa.rest_gate = gate
                await page.fill("#text", f"Wo ist meine Bestellung {n}?")
                await page.press("#text", "Enter")
                # While the bot works on the answer, the customer sees that Paula is writing.
                typing = page.locator("#typing")
                await expect(typing).to_be_visible()
                await expect(typing).to_contain_text("Paula schreibt")
                box = await typing.bounding_box()
                bar = await page.locator("#form").bounding_box()
                assert box is not None and bar is not None
                assert box["y"] + box["height"] <= bar["y"]
                gate.set()
                answer = page.locator(".msg.bot", has_text="Sendungsverfolgung").nth(n)
                await expect(answer).to_be_visible()
                await expect(page.locator("#typing")).to_be_hidden()
                await assert_above_the_bar(page, answer)

            link = page.locator(".msg.bot a").last
            assert await link.get_attribute("href") == TRACKING
            assert await link.get_attribute("target") == "_blank"
            assert await link.get_attribute("rel") == "noopener noreferrer"

            # Live from the inbox (as the broker consumer pushes them): a team reply with the
            # agent's name, then the rating question; both and the buttons are in view.
            reply = {"event": "bot", "text": "Hallo, hier ist Anna vom Team.",
                     "metadata": {"inbox": {"kind": "reply", "agent": "Anna Berg"}}}
            rating = {"event": "bot", "text": "Wie zufrieden warst du mit unserer Hilfe?",
                      "data": {"buttons": [{"title": "😊 Gut", "payload": "/csat_rating"},
                                           {"title": "😞 Schlecht", "payload": "/csat_rating"}]},
                      "metadata": {"inbox": {"kind": "csat"}}}
            for event in (reply, rating):
                h.rasa.record(sender, event)
                h.inbox.hub.publish_topic(sender, "message", _web_payload(event))
            team = page.locator(".msg.team", has_text="Anna vom Team")
            await expect(team.locator(".author")).to_have_text("Anna (Team)")
            buttons = page.locator(".buttons").last
            await expect(buttons).to_be_visible()
            await assert_above_the_bar(page, buttons)

            # A reload: the whole conversation is back, the newest (the rating) in view.
            await page.reload()
            await expect(page.locator(".msg.user")).to_have_count(14)
            await expect(page.locator(".msg.bot a[href^='https://']")).to_have_count(2)
            await expect(page.locator(".msg.team .author")).to_have_text(["Anna (Team)"])
            await expect(page.locator(".buttons button")).to_have_count(2)
            await assert_above_the_bar(page, page.locator(".buttons").last)
            await page.screenshot(path=str(screenshot_path("webchat.png")))
            assert not [e for e in errors if "Content Security Policy" in e]
            await browser.close()
    finally:
        await h.close()

"""One short journey in real headless Chromium (Debian's) against the inbox app on loopback
with a fake Rasa: a new handoff lands on top of work in progress and the title counts it, the
order Paula looked up is in the side panel, and after claiming the composer is in reply mode."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.database import make_engine
from bot.seed import seed_shop
from tests._screens import screenshot_path
from tests.inbox._support import (
    PASSWORD,
    add_agent,
    escalate,
    login,
    post_json,
    run_async,
    start_harness,
)
from tests.inbox.test_contact import looked_up_order

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@run_async
async def test_new_handoff_on_top_title_counter_order_panel_and_reply_mode_after_claim(
    tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    h = await start_harness(tmp_path)
    try:
        seed_shop(make_engine(h.settings.shop_db_url))
        add_agent(h.store, "ben")
        add_agent(h.store, "anna")
        ben = await h.client()
        csrf = await login(ben, "ben")
        older = escalate(h.rasa, h.store, "tg-1", "Meine Jacke ist zu klein")
        assert (await post_json(ben, f"/inbox/api/conversations/{older}/claim", csrf)).status \
            == 200
        await h.consume()
        base = f"http://127.0.0.1:{h.server.port}"
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            await page.goto(f"{base}/login")
            await page.fill("input[name=name]", "anna")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/inbox")
            await page.click("#who-tabs [data-who=all]")
            await page.locator(".queue-item:has-text('Meine Jacke')").wait_for()
            await page.wait_for_selector("#live.on")
            assert await page.title() == "Inbox"

            looked_up_order(h.rasa, "tg-2")
            newest = escalate(h.rasa, h.store, "tg-2", "Das Paket ist aber nicht da")
            await h.consume()
            await expect(page).to_have_title("(1) Inbox", timeout=30_000)
            first = page.locator(".queue-item").first
            await first.locator("text=Das Paket ist aber nicht da").wait_for()
            assert await first.get_attribute("data-handoff") == str(newest)

            await first.click()
            panel = page.locator("aside.details")
            await panel.locator("text=von Paula nachgeschlagen").wait_for()
            assert "BP-482913" in await panel.inner_text()
            await page.click('button[data-action="claim"]')
            await page.locator("#composer.mode-reply").wait_for()
            assert await page.locator("#composer-send").inner_text() == "Senden"
            await expect(page).to_have_title("Inbox", timeout=30_000)
            await page.screenshot(path=str(screenshot_path("inbox-contact-card.png")))

            # Transfer: choosing alone does nothing; the button asks first (cancel = nothing).
            transfer = page.locator('form[data-confirm-action="transfer"]')
            await transfer.locator("select").select_option(label="an ben")
            await transfer.locator("input[name=reason]").fill("Ben kennt den Fall")
            answers = iter([False, True])

            async def decide(dialog: Any) -> None:
                assert "an ben" in dialog.message and "Ben kennt den Fall" in dialog.message
                await (dialog.accept() if next(answers) else dialog.dismiss())

            page.on("dialog", decide)
            await transfer.locator("button").click()
            assert await page.locator(".status-pill.status-assigned").count() == 1
            assert "weitergegeben" not in await page.locator(".transcript").inner_text()
            await transfer.locator("button").click()
            await page.locator(".transcript >> text=Grund: Ben kennt den Fall").wait_for()

            # A phone (375 px): one pane at a time, nothing wider than the screen.
            # bypass_csp only so the test may read scrollWidth with evaluate().
            phone = await browser.new_context(viewport={"width": 375, "height": 740},
                                              bypass_csp=True)
            await phone.add_cookies(await page.context.cookies())
            mobile = await phone.new_page()
            mobile.set_default_timeout(30_000)
            await mobile.goto(f"{base}/inbox")
            await mobile.locator(".queue-item").first.wait_for()
            width = "() => document.documentElement.scrollWidth"
            assert await mobile.evaluate(width) <= 400
            await mobile.locator(".queue-item").first.click()
            await mobile.locator("#composer").wait_for()
            assert not await mobile.locator(".queue-pane").is_visible()
            assert await mobile.evaluate(width) <= 400
            await mobile.screenshot(path=str(screenshot_path("inbox-phone.png")))
            await mobile.click("[data-back]")
            await mobile.locator(".queue-item").first.wait_for(state="visible")
            assert not await mobile.locator("#composer").is_visible()
            await browser.close()
    finally:
        await h.close()

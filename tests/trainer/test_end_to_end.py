"""End to end on the small fixture bot with a real Rasa server:
faq add → check clean → train → the running bot answers it; a message that fell back is in the
review queue, gets labelled and lands masked in the training data; ship refuses a model trained
on broken data and keeps serving the old one, ships a good one, and rollback restores the old."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Iterator, List

import pytest

from bot.trainer import (
    Project,
    RasaServer,
    ReviewQueue,
    add_faq,
    check,
    load_training_data,
    rollback,
    ship,
)
from bot.training import train
from tests._stack import Stack, start_stack
from tests.trainer._fixture import make_fixture_bot

pytestmark = pytest.mark.slow

GIFT_ANSWER = "Ja, für 3,50 € verpacken wir deine Bestellung als Geschenk. Wähl dazu im " \
              "Warenkorb „Geschenkverpackung“."
GIFT_EXAMPLES = [
    "könnt ihr das als geschenk verpacken",
    "geschenkverpackung möglich?",
    "bietet ihr geschenkpapier an",
    "kann man die bestellung als geschenk einpacken lassen",
    "verpackt ihr auch als geschenk",
    "ist eine geschenkverpackung möglich",
    "gibt es bei euch geschenkpapier",
    "ich brauche das als geschenk verpackt",
    "mit schleife und geschenkpapier bitte",
    "geschenk verpacken lassen was kostet das",
]
# Messages with an order number that the fixture model may not understand. Which ones it does
# not depends on training, so the test asks the running server's NLU (/model/parse) and sends
# the first that ends in the fallback or out of scope through the REST channel.
# (A short message with an order number is read as "inform": giving the number.)
FALLBACK_CANDIDATES = [
    "wie wird das wetter am wochenende in garmisch, bestellung BP-734019",
    "kann ich bei euch auch ein fahrrad kaufen, meine letzte bestellung war BP-734019",
    "Ich bin Journalistin und habe eine Presseanfrage zu BP-734019",
    "verkauft ihr auch kanus oder fahrräder? hatte schon mal BP-734019",
    "mein nachbar hat das paket BP-734019 angenommen und gibt es nicht raus, kann ich den anzeigen",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, Path, Stack]]:
    root = tmp_path_factory.mktemp("e2e")
    project = Project(make_fixture_bot(root / "bot"))
    before = {str(f) for f in check(project, validate=False).findings}
    add_faq(project, "gift_wrapping", GIFT_ANSWER, GIFT_EXAMPLES,
            question="Verpackt ihr als Geschenk?", title="Geschenkverpackung")
    report = check(project)  # with rasa data validate
    assert report.errors == []
    assert {str(f) for f in report.findings} <= before  # faq add introduced no finding
    models = root / "models"
    model = train(project.root, models, name="bergpfad").model
    stack = start_stack(root / "var", model)
    try:
        yield project, models, stack
    finally:
        stack.stop()


def parse(stack: Stack, text: str) -> str:
    request = urllib.request.Request(
        f"{stack.rasa_url}/model/parse?token={stack.token}",
        data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.loads(response.read())["intent"]["name"])


def answers(stack: Stack, sender: str, text: str) -> List[str]:
    return [str(m.get("text")) for m in stack.send(sender, text)]


def test_the_running_bot_answers_the_new_topic(setup: tuple[Project, Path, Stack]) -> None:
    _, _, stack = setup
    assert answers(stack, "gift", "Verpackt ihr das auch als Geschenk?") == [GIFT_ANSWER]


def test_a_fallen_back_message_is_labelled_into_the_data_masked(
    setup: tuple[Project, Path, Stack]
) -> None:
    project, _, stack = setup
    candidate = next((t for t in FALLBACK_CANDIDATES
                      if parse(stack, t) in ("nlu_fallback", "out_of_scope")), None)
    assert candidate, "the fixture model understood every candidate message"
    stack.send("lost", candidate)
    actions = [e.get("name") for e in stack.tracker("lost")["events"]
               if e.get("event") == "action"]
    assert {"action_handle_fallback", "action_handoff"} & set(actions), actions
    fell_back = [candidate]
    queue = ReviewQueue(project, stack.settings.tracker_db_url, stack.settings.support_db_url)
    try:
        groups = queue.groups()
        queued = [m.text for g in groups for m in g.messages]
        with_order = [t for t in fell_back if "734019" in t]
        assert with_order, f"only messages without order number fell back: {fell_back}"
        masked = with_order[0].replace("BP-734019", "BP-000000").replace("734019", "BP-000000")
        assert masked in queued
        assert not any("734019" in t for t in queued)
        group = next(g for g in groups if masked in [m.text for m in g.messages])
        queue.label(group.id, "order_status", by="test")
        assert masked in load_training_data(project).examples_of("order_status")
        assert "734019" not in (project.nlu_dir / "conversation.yml").read_text("utf-8")
        assert masked not in [m.text for g in queue.groups() for m in g.messages]
    finally:
        queue.close()


def test_ship_refuses_broken_data_then_ships_good_data_and_rolls_back(
    setup: tuple[Project, Path, Stack]
) -> None:
    project, models, stack = setup
    server = RasaServer(stack.rasa_url, stack.token)
    assert server.running_model() == "bergpfad.tar.gz"
    faq = project.nlu_dir / "faq.yml"
    good = faq.read_text(encoding="utf-8")
    # Broken: the delivery-time and shipping-cost examples swapped their topics.
    faq.write_text(good.replace("faq/delivery_time", "faq/TMP")
                   .replace("faq/shipping_costs", "faq/delivery_time")
                   .replace("faq/TMP", "faq/shipping_costs"), encoding="utf-8")
    refused = ship(project, server, models, tolerance=0.02)
    assert not refused.shipped
    assert any(r.startswith("faq accuracy dropped") for r in refused.reasons), refused.reasons
    assert server.running_model() == "bergpfad.tar.gz"
    delivery = answers(stack, "after-refusal", "wie lange dauert die lieferung")
    assert delivery[0].startswith("In Deutschland kommt deine Bestellung in 2–4 Werktagen")

    faq.write_text(good, encoding="utf-8")
    shipped = ship(project, server, models, tolerance=0.02)
    assert shipped.shipped, shipped.reasons
    assert server.running_model() == shipped.candidate.name
    assert answers(stack, "after-ship", "Verpackt ihr das auch als Geschenk?") == [GIFT_ANSWER]
    previous = rollback(server, models)
    assert previous.is_file()
    assert server.running_model() == previous.name
    assert shutil.disk_usage(models)  # the models stay on disk for the next rollback

"""Several Rasa instances behind haproxy on one PostgreSQL tracker store and a Redis lock
store (issue 13): a conversation keeps its history whichever instance answers, one
customer's quick messages are handled one at a time in order, and killing an instance loses
no message."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

from bot.scaled._topology import ScaledStack
from bot.trainer._ship import RasaCluster, RasaServer
from tests.scaled._client import new_customer, send, texts, tracker_events, user_texts


def test_one_conversation_alternating_between_instances_keeps_its_history(
    scaled: ScaledStack,
) -> None:
    first, second = scaled.of("rasa")
    sender = new_customer("alt")
    # The order form spans three messages: each instance must see what the other stored.
    assert "Bestellnummer" in texts(send(first.url, sender, "wo bleibt meine bestellung?"))
    assert "Postleitzahl" in texts(send(second.url, sender, "bp 482913"))
    answer = texts(send(first.url, sender, "80331"))
    assert "BP-482913" in answer and "unterwegs" in answer
    assert "Werktag" in texts(send(second.url, sender, "Wie lange dauert der Versand?"))
    for instance in (first, second):
        events = tracker_events(scaled, sender, instance.url)
        assert user_texts(events) == ["wo bleibt meine bestellung?", "bp 482913", "80331",
                                      "Wie lange dauert der Versand?"]


QUESTIONS = [
    "Wie lange dauert der Versand?",
    "Kann ich mit PayPal bezahlen?",
    "Wie kann ich etwas zurückschicken?",
    "Wo ist eure Filiale?",
    "Danke dir!",
]


def test_quick_messages_of_one_customer_are_answered_one_at_a_time(
    scaled: ScaledStack,
) -> None:
    """5 messages sent without waiting for answers, alternately to both instances: the Redis
    lock store makes them take turns, so each answer follows its own question and nothing is
    lost (with a per-instance lock both instances work on the same tracker at once). They take
    turns in the order they reached Rasa, which two HTTP paths 10 ms apart do not fix."""
    sender = new_customer("quick")
    instances = scaled.of("rasa")
    answers: Dict[int, str] = {}

    def one(index: int) -> None:
        url = instances[index % len(instances)].url
        answers[index] = texts(send(url, sender, QUESTIONS[index]))

    threads = []
    for index in range(len(QUESTIONS)):
        thread = threading.Thread(target=one, args=(index,))
        thread.start()
        threads.append(thread)
        time.sleep(0.01)  # typed quickly one after the other
    for thread in threads:
        thread.join(timeout=180)
    assert sorted(answers) == list(range(len(QUESTIONS))), "every message got an answer"
    events = tracker_events(scaled, sender)
    assert sorted(user_texts(events)) == sorted(QUESTIONS), "each message once in the history"
    # Turn by turn: after each question, its answer, before the next question.
    turns: List[Tuple[str, List[str]]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append((str(event.get("text")), []))
        elif event.get("event") == "bot" and turns:
            turns[-1][1].append(str(event.get("text")))
    for question, bot_texts in turns:
        assert bot_texts, f"no answer right after {question!r}"
        for said in bot_texts:
            assert said in answers[QUESTIONS.index(question)], f"answer of {question!r} out of turn"


def test_shipping_loads_the_model_into_every_rasa_instance(
    scaled: ScaledStack, test_model: Path, tmp_path: Path
) -> None:
    """What ``python -m bot ship``/``rollback`` use with RASA_INSTANCE_URLS set: both
    instances switch (checked on each instance directly, not through haproxy)."""
    from bot.trainer._cli import _server

    copy = tmp_path / f"cluster-{test_model.name}"
    shutil.copy2(test_model, copy)
    try:
        cluster = _server(scaled.settings)
        assert isinstance(cluster, RasaCluster)
        cluster.load(copy)
        for instance in scaled.of("rasa"):
            running = RasaServer(instance.url, scaled.settings.rasa_token).running_model()
            assert Path(running).name == copy.name
        assert Path(cluster.running_model()).name == copy.name
        cluster.load(test_model)
    finally:
        copy.unlink(missing_ok=True)


def test_killing_one_rasa_instance_during_load_loses_no_message(scaled: ScaledStack) -> None:
    """kill -9 of one Rasa instance while 4 clients talk (bounded: 10 customers × 3 messages):
    haproxy retries the failed requests on the other instance, every message gets exactly one
    answer, and every message is in its tracker exactly once."""
    victim = scaled.of("rasa")[1]
    customers = [new_customer("load") for _ in range(10)]
    script = ["Hallo", "Wie lange dauert der Versand?", "Kann ich mit PayPal bezahlen?"]
    answered: List[str] = []
    failures: List[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def conversation(sender: str) -> None:
        for text in script:
            try:
                answer = send(scaled.rasa_url, sender, text)
            except Exception as error:  # noqa: BLE001 - reported below
                with lock:
                    failures.append(f"{sender} {text!r}: {error}")
                continue
            with lock:
                if not answer:
                    failures.append(f"{sender} {text!r}: empty answer")
                answered.append(sender)
                if len(answered) == 6 and not killed.is_set():
                    assert victim.process is not None
                    os.kill(victim.process.pid, signal.SIGKILL)
                    killed.set()

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(conversation, customers))
        assert killed.is_set()
        assert failures == [], "\n".join(failures)
        assert len(answered) == len(customers) * len(script)
        for sender in customers:
            events = tracker_events(scaled, sender)
            assert user_texts(events) == script, f"tracker of {sender}"
            assert sum(1 for event in events if event.get("event") == "bot") >= len(script)
    finally:
        if not victim.alive():  # back to two instances for whatever runs next
            victim.start()
            scaled.wait_healthy([victim], timeout=240)

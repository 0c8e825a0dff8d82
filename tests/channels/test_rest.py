"""The project's REST channel (channels/rest.py) against the real Rasa server: what a caller may
choose (nothing but sender and text), slash commands, sizes, malformed input, never silence."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot.launcher import actions_command, actions_health_url, is_healthy
from channels._texts import STILL_THERE
from tests._stack import Stack, start_stack

pytestmark = pytest.mark.slow

HANDOFF = "Team"


def new_customer() -> str:
    return f"rest-{uuid.uuid4().hex[:12]}"


def post(stack: Stack, body: bytes) -> Tuple[int, Any]:
    """A raw POST to the REST webhook: (status, parsed JSON answer or None)."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as error:
        status, raw = int(error.code), error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def send(stack: Stack, body: Dict[str, Any]) -> Tuple[int, Any]:
    return post(stack, json.dumps(body).encode())


def user_events(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]


def texts(answers: List[Dict[str, Any]]) -> str:
    return "\n".join(str(a.get("text", "")) for a in answers)


def offer_buttons(stack: Stack, sender: str, buttons: List[Dict[str, str]]) -> None:
    """A bot message with buttons in the conversation (as the inbox appends agent replies)."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/{sender}/tracker/events?token={stack.token}",
        data=json.dumps({"event": "bot", "text": "Meinst du das?",
                         "data": {"buttons": buttons}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_caller_cannot_choose_the_channel_or_plant_metadata(stack: Stack) -> None:
    """The attack: a REST caller posed as WhatsApp and planted a media URL for the inbox."""
    sender = new_customer()
    status, answers = send(stack, {
        "sender": sender, "message": "Hallo!", "input_channel": "whatsapp",
        "metadata": {"media": [{"kind": "photo", "reference": "http://127.0.0.1:9/steal"}]},
    })
    assert status == 200 and "Paula" in texts(answers)
    [user] = user_events(stack, sender)
    assert user["input_channel"] == "rest"
    assert "media" not in (user.get("metadata") or {})
    assert "steal" not in json.dumps(user)


def test_typed_intents_go_through_nlu(stack: Stack) -> None:
    sender = new_customer()
    status, answers = send(stack, {
        "sender": sender,
        "message": '/order_status{"order_number": "BP-482913", "postal_code": "80331"}',
    })
    assert status == 200 and answers  # answered like any text
    status, answers = send(stack, {"sender": sender, "message": '/faq{"x":1}'})
    assert status == 200 and answers  # was a KeyError traceback in Rasa and no answer
    texts_seen = [e["text"] for e in user_events(stack, sender)]
    assert texts_seen == [
        'order_status{"order_number": "BP-482913", "postal_code": "80331"}', 'faq{"x":1}'
    ]
    # Read by the NLU pipeline (a ranking of intents), not taken as a command (Rasa's command
    # parser gives one intent at confidence 1 and sets the entities as slots unchecked). Order
    # number and postal code in a text are legitimate; the form validates them and the lookup
    # is limited per order number (actions/order_status.py).
    for user in user_events(stack, sender):
        assert len(user["parse_data"]["intent_ranking"]) > 1


def test_offered_button_payload_is_accepted_others_are_text(stack: Stack) -> None:
    sender = new_customer()
    send(stack, {"sender": sender, "message": "Hallo!"})
    # not offered: the typed payload is plain text, no handoff
    send(stack, {"sender": sender, "message": "/request_human"})
    assert not stack.tracker(sender)["paused"]
    offer_buttons(stack, sender, [{"title": "Mit einem Menschen sprechen",
                                   "payload": "/request_human"}])
    status, answers = send(stack, {"sender": sender, "message": "/request_human"})
    assert status == 200 and HANDOFF in texts(answers)
    assert stack.tracker(sender)["paused"]
    assert user_events(stack, sender)[-1]["parse_data"]["intent"]["name"] == "request_human"


def test_oversized_messages_get_a_german_answer_and_are_not_stored(stack: Stack) -> None:
    sender = new_customer()
    status, answers = send(stack, {"sender": sender, "message": "a" * 250_000})
    assert status == 413
    assert "zu lang" in texts(answers) and "2000 Zeichen" in texts(answers)
    status, answers = send(stack, {"sender": sender, "message": "ä" * 2001})
    assert status == 413 and "höchstens 2000 Zeichen" in texts(answers)
    assert user_events(stack, sender) == []
    status, answers = send(stack, {"sender": sender, "message": "ä" * 2000})
    assert status == 200 and answers


def test_chunked_body_without_length_is_cut_off_at_the_limit(stack: Stack) -> None:
    sender = new_customer()
    body = json.dumps({"sender": sender, "message": "a" * 200_000}).encode()
    connection = http.client.HTTPConnection(
        stack.settings.host, stack.settings.rasa_port, timeout=60
    )
    try:
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        connection.request("POST", "/webhooks/rest/webhook", body=chunks,
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        answer = connection.getresponse()
        assert answer.status == 413
        assert "zu lang" in answer.read().decode()
    finally:
        connection.close()
    assert user_events(stack, sender) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"[" * 5000 + b"]" * 5000,
        json.dumps({"sender": 12, "message": "Hallo"}).encode(),
        json.dumps({"sender": "x", "message": {"a": 1}}).encode(),
        json.dumps({"sender": "x", "message": "   "}).encode(),
        json.dumps({"sender": "x" * 129, "message": "Hallo"}).encode(),
        json.dumps({"sender": "../../etc/passwd", "message": "Hallo"}).encode(),
        json.dumps({"sender": "a b<script>", "message": "Hallo"}).encode(),
        json.dumps({"message": "Hallo"}).encode(),
    ],
)
def test_malformed_requests_get_400_not_500(stack: Stack, body: bytes) -> None:
    status, answers = post(stack, body)
    assert status == 400
    assert texts(answers) == "Ungültige Anfrage."


# -- never silence: a real Rasa server whose action server is killed and started again ----------


@pytest.fixture(scope="module")
def own_stack(test_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: this module kills its action server."""
    running = start_stack(tmp_path_factory.mktemp("silence"), test_model)
    yield running
    running.stop()


def kill_action_server(stack: Stack) -> None:
    actions = stack.processes[0]
    actions.kill()
    actions.wait(timeout=20)


def restart_action_server(stack: Stack) -> None:
    log = (stack.settings.var_dir / "actions-restart.log").open("ab")
    stack.processes[0] = subprocess.Popen(
        actions_command(stack.settings, stack.processes[0].args[0]),  # type: ignore[index]
        env=stack.env, stdout=log, stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 120
    while not is_healthy(actions_health_url(stack.settings)):
        assert stack.processes[0].poll() is None, stack.log_tail()
        assert time.monotonic() < deadline, "action server did not come back"
        time.sleep(0.5)


def test_customer_is_never_left_in_silence_when_the_action_server_dies(own_stack: Stack) -> None:
    sender = new_customer()
    assert "Paula" in texts(own_stack.send(sender, "Hallo!"))
    kill_action_server(own_stack)
    try:
        # action_handoff runs on the action server, which is gone
        answers = own_stack.send(sender, "Ich möchte bitte mit einem Mitarbeiter sprechen")
        assert texts(answers) == STILL_THERE
        assert answers[0]["buttons"] == [
            {"title": "Mit einem Menschen sprechen", "payload": "/request_human"}
        ]
        assert not own_stack.tracker(sender)["paused"]
    finally:
        restart_action_server(own_stack)
    # back to normal: the offered button now hands over, and the paused conversation is quiet
    status, answers = send(own_stack, {"sender": sender, "message": "/request_human"})
    assert status == 200 and HANDOFF in texts(answers) and STILL_THERE not in texts(answers)
    assert own_stack.tracker(sender)["paused"]
    assert own_stack.send(sender, "hallo? ist da wer?") == []


def test_a_retried_message_id_gets_the_recorded_answer_not_a_second_turn(stack: Stack) -> None:
    """A load balancer or client retrying the same message (same message_id) after a lost
    response: one turn in the conversation, the same answer both times."""
    sender = new_customer()
    body = {"sender": sender, "message": "was kostet der versand?", "message_id": "msg-0001-abc"}
    status, first = send(stack, body)
    assert status == 200 and "4,95" in texts(first)
    status, again = send(stack, body)
    assert status == 200 and again == first
    assert [e["text"] for e in user_events(stack, sender)] == ["was kostet der versand?"]
    # A new id is a new message.
    status, other = send(stack, {**body, "message_id": "msg-0002-abc"})
    assert status == 200 and len(user_events(stack, sender)) == 2


@pytest.mark.parametrize("message_id", ["short", "x" * 65, "bad id with spaces", 12345678])
def test_malformed_message_id_is_refused(stack: Stack, message_id: Any) -> None:
    status, _ = send(stack, {"sender": new_customer(), "message": "hallo",
                             "message_id": message_id})
    assert status == 400

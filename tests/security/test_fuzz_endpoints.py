"""Property-based fuzzing of every endpoint reachable from outside (hypothesis, loopback only).

Endpoints: Rasa's REST webhook, the Telegram, WhatsApp and Meta webhooks (with and without a
valid secret / signature), WhatsApp's status callback and Meta's verification handshake, the
inbox's login and public web-chat routes, static files and protected routes without a session,
and the action server's ``/webhook``.

Property, for every generated request: an answer comes (no dropped connection), it is not a
5xx, and no body contains traceback text. All findings of a run are collected and reported
together (one shortest example per endpoint and kind); the servers must still be healthy after.
Budget: see ``BUDGET`` (thousands of requests; about 2-3 minutes on 2 cores).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from typing import Any, Dict, List

import pytest
import requests
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.launcher import actions_health_url, is_healthy, rasa_health_url
from tests.channels.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    META_APP_SECRET,
    META_VERIFY_TOKEN,
    PUBLIC_BASE_URL,
    TELEGRAM_SECRET,
    WHATSAPP_FROM,
    ChannelStack,
)
from tests.security._fuzz import (
    CONTENT_TYPES,
    JSON_VALUES,
    MESSAGES,
    RAW_BODIES,
    SHORT_TEXT,
    SLASH_COMMANDS,
    Budget,
    Client,
    Findings,
    as_headers,
    header_safe,
    json_body,
)

pytestmark = pytest.mark.slow

BUDGET = Budget()
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"


def fuzz(max_examples: int) -> Any:
    """Bounded hypothesis settings: no example database, no shrinking (findings are collected
    with their shortest example instead), no deadline (a real server answers)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def check(findings: Findings, still_up: List[str]) -> None:
    down = [url for url in still_up if not is_healthy(url)]
    print("\n" + findings.report())
    assert findings.clean and not down, f"servers down after fuzzing: {down}\n{findings.report()}"


# -- Rasa REST webhook ----------------------------------------------------------------------

PLAUSIBLE_SENDERS = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
REST_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        # Mostly plausible senders, so that most messages reach NLU, dialogue and actions.
        "sender": st.one_of(
            PLAUSIBLE_SENDERS, st.text(max_size=80), st.integers(), st.none(), JSON_VALUES,
        ),
        "message": st.one_of(MESSAGES, MESSAGES, JSON_VALUES),
        "metadata": JSON_VALUES,
        "input_channel": st.one_of(
            st.sampled_from(["rest", "telegram", "whatsapp", "inbox", "web", "cmdline"]),
            st.text(max_size=20), JSON_VALUES,
        ),
        "stream": st.booleans(),
    },
)


def test_rasa_rest_webhook(channel_stack: ChannelStack) -> None:
    findings = Findings()
    client = Client(findings)
    url = f"{channel_stack.stack.rasa_url}/webhooks/rest/webhook"

    @fuzz(BUDGET.rest)
    @given(
        request=st.one_of(
            st.fixed_dictionaries({"sender": PLAUSIBLE_SENDERS, "message": MESSAGES})
            .map(lambda d: (json_body(d), "application/json")),
            REST_FIELDS.map(lambda d: (json_body(d), "application/json")),
            st.tuples(RAW_BODIES, CONTENT_TYPES),
        ),
        query=st.sampled_from(["", "?stream=true", "?stream=x", "?token=x"]),
    )
    # Cases found by earlier runs, replayed every time (hypothesis keeps no database here).
    @example(request=(b"", "application/json"), query="")
    @example(request=(b'{"sender": "fuzz-1", "message": "/faq{\\"x\\":1}"}',
                      "application/json"), query="")
    @example(request=(b"{}", "application/json"),
             query="?stream=true")
    def probe(request: Any, query: str) -> None:
        body, content_type = request
        client.send(f"rasa POST /webhooks/rest/webhook{query}", "POST", url + query, body,
                    as_headers(content_type))

    probe()
    check(findings, [rasa_health_url(channel_stack.stack.settings)])


# -- Telegram webhook -----------------------------------------------------------------------

CHAT_TYPES = st.sampled_from(["private", "group", "supergroup", "channel", "secret", ""])
USER = st.fixed_dictionaries(
    {"id": st.integers(min_value=-(2**40), max_value=2**53), "is_bot": st.booleans(),
     "first_name": SHORT_TEXT},
    optional={"language_code": SHORT_TEXT, "username": SHORT_TEXT},
)
CHAT = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(min_value=-(2**53), max_value=2**53), SHORT_TEXT),
     "type": CHAT_TYPES},
)
MESSAGE = st.fixed_dictionaries(
    {"message_id": st.integers(min_value=0, max_value=2**31), "date": st.integers(0, 2**33),
     "chat": CHAT},
    optional={
        "from": USER,
        "text": MESSAGES,
        "caption": MESSAGES,
        "photo": st.lists(st.fixed_dictionaries(
            {"file_id": SHORT_TEXT, "file_unique_id": SHORT_TEXT,
             "width": st.integers(0, 10**5), "height": st.integers(0, 10**5)}), max_size=3),
        "document": st.fixed_dictionaries({"file_id": SHORT_TEXT, "file_unique_id": SHORT_TEXT},
                                          optional={"file_name": SHORT_TEXT}),
        "location": st.fixed_dictionaries({"latitude": st.floats(-1e3, 1e3),
                                           "longitude": st.floats(-1e3, 1e3)}),
        "sticker": JSON_VALUES,
        "contact": JSON_VALUES,
        "entities": JSON_VALUES,
    },
)
CALLBACK = st.fixed_dictionaries(
    {"id": SHORT_TEXT, "from": USER, "chat_instance": SHORT_TEXT},
    optional={
        "data": st.one_of(SLASH_COMMANDS, st.text(max_size=70).map(lambda t: "#k:" + t),
                          st.text(max_size=70)),
        "message": MESSAGE,
    },
)
UPDATE_IDS = st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.booleans(),
                       SHORT_TEXT, st.none())
UPDATES = st.one_of(
    st.fixed_dictionaries({"update_id": UPDATE_IDS, "message": MESSAGE}),
    st.fixed_dictionaries({"update_id": UPDATE_IDS, "edited_message": MESSAGE}),
    st.fixed_dictionaries({"update_id": UPDATE_IDS, "callback_query": CALLBACK}),
    st.fixed_dictionaries({"update_id": UPDATE_IDS, "my_chat_member": JSON_VALUES}),
    st.dictionaries(SHORT_TEXT, JSON_VALUES, max_size=4).map(
        lambda d: {"update_id": secrets.randbelow(2**31), **d}
    ),
    JSON_VALUES,
)
TELEGRAM_SECRETS = st.one_of(
    st.just(TELEGRAM_SECRET), st.just(TELEGRAM_SECRET), st.none(), st.just(""),
    st.just(TELEGRAM_SECRET.upper()), st.just(TELEGRAM_SECRET + " "),
    st.text(max_size=60).map(header_safe),
)


def test_telegram_webhook(channel_stack: ChannelStack) -> None:
    findings = Findings()
    client = Client(findings)
    url = f"{channel_stack.stack.rasa_url}/webhooks/telegram/webhook"

    @fuzz(BUDGET.telegram)
    @given(
        request=st.one_of(
            UPDATES.map(lambda u: (json_body(u), "application/json")),
            st.tuples(RAW_BODIES, CONTENT_TYPES),
        ),
        secret=TELEGRAM_SECRETS,
        method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    )
    @example(request=(b"[" * 100_000 + b"]" * 100_000, "application/json"),
             secret=TELEGRAM_SECRET, method="POST")
    @example(request=(b'{"update_id": 1}', "application/json"), secret="\xe5\xado\x80",
             method="POST")
    def probe(request: Any, secret: Any, method: str) -> None:
        body, content_type = request
        extra = {SECRET_HEADER: secret} if secret is not None else {}
        valid = "valid secret" if secret == TELEGRAM_SECRET else "no/wrong secret"
        client.send(f"telegram {method} /webhooks/telegram/webhook ({valid})", method, url, body,
                    as_headers(content_type, extra))

    probe()
    check(findings, [rasa_health_url(channel_stack.stack.settings)])


# -- WhatsApp (Twilio) webhook and status callback -----------------------------------------

SIDS = st.one_of(
    st.builds(lambda: "SM" + secrets.token_hex(16)), SHORT_TEXT, st.just("")
)
SENDERS = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(lambda n: f"whatsapp:+49{n}"),
    SHORT_TEXT, st.just("whatsapp:"), st.just(WHATSAPP_FROM),
)
TEXTS = st.one_of(st.text(max_size=60), st.integers().map(str), st.floats().map(str))
WHATSAPP_PARAMS = st.fixed_dictionaries(
    {"MessageSid": SIDS, "From": SENDERS},
    optional={
        "AccountSid": st.just(ACCOUNT_SID) | SHORT_TEXT,
        "To": st.just(WHATSAPP_FROM) | SHORT_TEXT,
        "Body": MESSAGES,
        "NumMedia": TEXTS,
        "MediaUrl0": st.just("https://api.twilio.com/x.jpg") | SHORT_TEXT,
        "MediaContentType0": st.sampled_from(["image/jpeg", "image/webp", "audio/ogg", "", "x"])
        | SHORT_TEXT,
        "MediaUrl1": SHORT_TEXT,
        "Latitude": TEXTS,
        "Longitude": TEXTS,
        "Address": SHORT_TEXT,
        "ButtonPayload": SLASH_COMMANDS | SHORT_TEXT,
        "ProfileName": SHORT_TEXT,
        "WaId": TEXTS,
        "SmsMessageSid": SIDS,
    },
)
STATUS_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": SIDS,
        "SmsSid": SIDS,
        "MessageStatus": st.sampled_from(["queued", "sent", "delivered", "read", "failed",
                                          "undelivered", ""]) | SHORT_TEXT,
        "SmsStatus": SHORT_TEXT,
        "ErrorCode": st.sampled_from(["63016", "30003", "30008", "21211", ""]) | TEXTS,
        "To": SENDERS,
    },
)
SIGNING = st.sampled_from(["valid", "valid", "missing", "other token", "garbage", "latin-1"])


def signed(path: str, params: Dict[str, str], how: str) -> Dict[str, str]:
    if how == "missing":
        return {}
    if how == "garbage":
        return {SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"}
    if how == "latin-1":  # not UTF-8 on the wire
        return {SIGNATURE_HEADER: "\xe5\xado\x80=="}
    token = AUTH_TOKEN if how == "valid" else "not-the-auth-token"
    return {SIGNATURE_HEADER: RequestValidator(token).compute_signature(
        PUBLIC_BASE_URL + path, params)}


def test_whatsapp_webhook_and_status_callback(channel_stack: ChannelStack) -> None:
    findings = Findings()
    client = Client(findings)
    base = channel_stack.stack.rasa_url

    @fuzz(BUDGET.whatsapp)
    @given(
        target=st.one_of(
            st.tuples(st.just("/webhooks/whatsapp/webhook"), WHATSAPP_PARAMS),
            st.tuples(st.just("/webhooks/whatsapp/status"), STATUS_PARAMS),
        ),
        how=SIGNING,
        raw=st.one_of(st.none(), st.tuples(RAW_BODIES, CONTENT_TYPES)),
    )
    def probe(target: Any, how: str, raw: Any) -> None:
        path, params = target
        if raw is None:
            body = urllib.parse.urlencode(params).encode()
            headers = as_headers("application/x-www-form-urlencoded", signed(path, params, how))
            what = f"{how} signature"
        else:
            body, content_type = raw
            headers = as_headers(content_type, signed(path, {}, how))
            what = "raw body"
        client.send(f"whatsapp POST {path} ({what})", "POST", base + path, body, headers)

    probe()
    check(findings, [rasa_health_url(channel_stack.stack.settings)])


# -- Meta (Messenger / Instagram) webhook and verification handshake ----------------------

SCOPED_IDS = st.one_of(st.integers(min_value=0, max_value=10**20).map(str), SHORT_TEXT,
                       st.integers(), st.none())
META_STAMPS = st.one_of(st.builds(lambda: int(time.time() * 1000)), st.integers(), SHORT_TEXT)
META_ATTACHMENTS = st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["image", "video", "audio", "file", "fallback", ""]) | SHORT_TEXT},
    optional={"payload": st.fixed_dictionaries(
        {}, optional={"url": st.just("https://scontent.xx.fbcdn.net/x.jpg") | SHORT_TEXT})
        | JSON_VALUES},
), max_size=12)
META_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "mid": st.builds(lambda: "m_" + secrets.token_hex(8)) | SHORT_TEXT | st.integers(),
        "text": MESSAGES | JSON_VALUES,
        "quick_reply": st.fixed_dictionaries({"payload": SLASH_COMMANDS | SHORT_TEXT})
        | JSON_VALUES,
        "attachments": META_ATTACHMENTS | JSON_VALUES,
        "is_echo": st.booleans(),
    },
)
META_EVENT = st.fixed_dictionaries(
    {"sender": st.fixed_dictionaries({"id": SCOPED_IDS}) | JSON_VALUES},
    optional={
        "timestamp": META_STAMPS,
        "message": META_MESSAGE | JSON_VALUES,
        "postback": st.fixed_dictionaries({}, optional={"payload": SLASH_COMMANDS | SHORT_TEXT,
                                                        "mid": SHORT_TEXT}) | JSON_VALUES,
        "optin": st.fixed_dictionaries({}, optional={
            "notification_messages_status": st.sampled_from(
                ["STOP NOTIFICATIONS", "RESUME NOTIFICATIONS"]) | SHORT_TEXT}) | JSON_VALUES,
    },
)
META_BODIES = st.one_of(
    st.fixed_dictionaries({
        "object": st.sampled_from(["page", "instagram", "whatsapp_business_account"])
        | SHORT_TEXT | JSON_VALUES,
        "entry": st.lists(st.fixed_dictionaries(
            {}, optional={"id": SHORT_TEXT, "messaging": st.lists(META_EVENT, max_size=4)
                          | JSON_VALUES}), max_size=3) | JSON_VALUES,
    }),
    JSON_VALUES,
)
META_SIGNING = st.sampled_from(["valid", "valid", "valid", "missing", "other secret", "garbage"])


def meta_signature(body: bytes, how: str) -> Dict[str, str]:
    if how == "missing":
        return {}
    if how == "garbage":
        return {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    secret = META_APP_SECRET if how == "valid" else "not-the-app-secret"
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def test_meta_webhook_and_handshake(channel_stack: ChannelStack) -> None:
    findings = Findings()
    client = Client(findings)
    url = f"{channel_stack.stack.rasa_url}/webhooks/meta/webhook"

    @fuzz(BUDGET.meta)
    @given(
        request=st.one_of(
            META_BODIES.map(lambda b: (json_body(b), "application/json")),
            st.tuples(RAW_BODIES, CONTENT_TYPES),
        ),
        how=META_SIGNING,
        handshake=st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "hub.mode": st.just("subscribe") | SHORT_TEXT,
            "hub.verify_token": st.just(META_VERIFY_TOKEN) | SHORT_TEXT,
            "hub.challenge": SHORT_TEXT | st.integers().map(str),
        })),
    )
    def probe(request: Any, how: str, handshake: Any) -> None:
        if handshake is not None:
            query = urllib.parse.urlencode(handshake)
            client.send("meta GET /webhooks/meta/webhook (handshake)", "GET", f"{url}?{query}",
                        b"", {})
            return
        body, content_type = request
        client.send(f"meta POST /webhooks/meta/webhook ({how} signature)", "POST", url, body,
                    as_headers(content_type, meta_signature(body, how)))

    probe()
    check(findings, [rasa_health_url(channel_stack.stack.settings)])


# -- inbox: login, web chat, static files, protected routes without a session -------------

def path_text() -> Any:
    pieces = st.one_of(
        st.sampled_from(["..", ".", "%2e%2e", "..%2f", "%00", "chat.html", "inbox.js", "",
                         "etc", "passwd", "..\\", "%5c"]),
        st.text(max_size=12).map(lambda t: urllib.parse.quote(t, safe="")),
    )
    return st.lists(pieces, max_size=5).map("/".join)


WEB_SENDERS = st.one_of(
    st.builds(lambda: "web-" + secrets.token_urlsafe(12)), st.text(max_size=70),
    st.just("web-"), st.just("web-" + "a" * 65), st.integers(), st.none(), JSON_VALUES,
)
LOGIN_FORMS = st.fixed_dictionaries(
    {},
    optional={"name": st.text(max_size=80), "password": st.text(max_size=200),
              "csrf_token": st.text(max_size=60), "next": st.text(max_size=60)},
)
PROTECTED = st.sampled_from([
    ("GET", "/"), ("GET", "/inbox"), ("GET", "/inbox/c/{x}"), ("GET", "/inbox/api/queue"),
    ("GET", "/inbox/api/conversations/{x}"), ("POST", "/inbox/api/conversations/{x}/reply"),
    ("POST", "/inbox/api/conversations/{x}/claim"), ("GET", "/inbox/api/media"),
    ("GET", "/inbox/events"), ("GET", "/inbox/dashboard"), ("POST", "/logout"),
    ("GET", "/inbox/password"), ("POST", "/inbox/password"), ("GET", "/inbox/trainer"),
    ("POST", "/inbox/canned"),
])


def inbox_requests() -> Any:
    query = st.dictionaries(st.sampled_from(["sender", "ref", "who", "next", "x"]),
                            st.text(max_size=40), max_size=3).map(urllib.parse.urlencode)
    return st.one_of(
        st.tuples(st.just("GET"), st.just("/login"), query, st.none(), st.just("")),
        st.tuples(st.just("POST"), st.just("/login"), query,
                  LOGIN_FORMS.map(lambda f: urllib.parse.urlencode(f).encode()),
                  st.just("application/x-www-form-urlencoded")),
        st.tuples(st.just("POST"), st.just("/login"), query, RAW_BODIES, CONTENT_TYPES),
        st.tuples(st.just("GET"), st.just("/chat"), query, st.none(), st.just("")),
        st.tuples(st.just("GET"), st.just("/chat/api/events"),
                  WEB_SENDERS.map(lambda s: urllib.parse.urlencode({"sender": s})),
                  st.none(), st.just("")),
        st.tuples(
            st.just("POST"), st.just("/chat/api/messages"), st.just(""),
            st.fixed_dictionaries({}, optional={"sender": WEB_SENDERS,
                                                "message": MESSAGES | JSON_VALUES})
            .map(json_body),
            st.just("application/json"),
        ),
        st.tuples(st.just("POST"), st.just("/chat/api/messages"), st.just(""), RAW_BODIES,
                  CONTENT_TYPES),
        st.tuples(st.just("GET"), path_text().map(lambda p: "/static/" + p), st.just(""),
                  st.none(), st.just("")),
        st.tuples(PROTECTED, st.text(max_size=12).map(lambda t: urllib.parse.quote(t, safe="")),
                  query, st.one_of(st.none(), JSON_VALUES.map(json_body)), CONTENT_TYPES)
        .map(lambda t: (t[0][0], t[0][1].replace("{x}", t[1] or "1"), t[2], t[3], t[4])),
    )


def test_inbox_public_routes(channel_stack: ChannelStack, inbox_url: str) -> None:
    findings = Findings()
    client = Client(findings)

    @fuzz(BUDGET.inbox)
    @given(request=inbox_requests(), cookie=st.sampled_from(["", "", "inbox_session=forged"]))
    @example(request=("POST", "/login", "", b"[]", "multipart/form-data; boundary=x"), cookie="")
    @example(request=("POST", "/chat/api/messages", "", b"[" * 100_000, "application/json"),
             cookie="")
    @example(request=("POST", "/chat/api/messages", "",
                      b'{"sender": "whatsapp:+491701234567", "message": "Hallo"}',
                      "application/json"), cookie="")
    def probe(request: Any, cookie: str) -> None:
        method, path, query, body, content_type = request
        url = inbox_url + path + (f"?{query}" if query else "")
        headers = as_headers(content_type, {"Cookie": cookie} if cookie else None)
        route = path if not path.startswith("/static/") else "/static/..."
        if route.startswith("/inbox/") or route == "/":
            route = "protected " + route.split("/")[1] + "/..."
        client.send(f"inbox {method} {route}", method, url, body, headers,
                    stream=path == "/chat/api/events")

    probe()
    check(findings, [rasa_health_url(channel_stack.stack.settings), f"{inbox_url}/chat"])


# -- action server --------------------------------------------------------------------------

KNOWN_ACTIONS = ["action_handoff", "action_handle_fallback", "action_store_rating",
                 "action_order_status", "validate_order_status_form"]


def action_names(url: str, headers: Dict[str, str]) -> List[str]:
    """The registered actions (``GET /actions``), or the ones we know of if it is refused."""
    with requests.get(f"{url}/actions", headers=headers, timeout=10) as response:
        listed: Any = response.json() if response.ok else None
    if isinstance(listed, list) and all(isinstance(e, dict) and "name" in e for e in listed):
        return sorted({str(entry["name"]) for entry in listed} | set(KNOWN_ACTIONS))
    return KNOWN_ACTIONS


def tracker_strategy() -> Any:
    latest = st.fixed_dictionaries(
        {},
        optional={
            "text": MESSAGES,
            "intent": st.fixed_dictionaries({}, optional={
                "name": st.sampled_from(["order_status", "faq", "request_human", "rate"])
                | SHORT_TEXT, "confidence": st.floats(allow_nan=False)}),
            "entities": st.lists(st.fixed_dictionaries(
                {"entity": st.sampled_from(["order_number", "postcode", "rating", "topic"])
                 | SHORT_TEXT, "value": JSON_VALUES}), max_size=3),
            "metadata": JSON_VALUES,
        },
    )
    slots = st.dictionaries(
        st.sampled_from(["order_number", "postcode", "faq_topic", "handoff_reason", "rating"])
        | SHORT_TEXT, JSON_VALUES, max_size=4)
    return st.fixed_dictionaries(
        {"sender_id": st.text(max_size=40)},
        optional={
            "slots": slots, "latest_message": latest, "events": st.lists(JSON_VALUES, max_size=3),
            "paused": st.booleans(), "active_loop": JSON_VALUES,
            "latest_action_name": SHORT_TEXT, "followup_action": st.none() | SHORT_TEXT,
        },
    )


def test_action_server_webhook(channel_stack: ChannelStack) -> None:
    findings = Findings()
    client = Client(findings)
    settings_ = channel_stack.stack.settings
    base = f"http://127.0.0.1:{settings_.action_port}"
    # Rasa's credential for the action server, where the action server checks one.
    token = channel_stack.stack.env.get("ACTION_SERVER_TOKEN", "")
    auth = {"valid token": {"Authorization": f"Bearer {token}"} if token else {},
            "no token": {}, "wrong token": {"Authorization": "Bearer not-the-token"}}
    names = action_names(base, auth["valid token"])

    @fuzz(BUDGET.actions)
    @given(
        request=st.one_of(
            st.fixed_dictionaries(
                {"next_action": st.sampled_from(names) | SHORT_TEXT},
                optional={"sender_id": st.text(max_size=40), "tracker": tracker_strategy(),
                          "domain": st.one_of(JSON_VALUES, st.just({})),
                          "version": st.sampled_from(["3.6.21", ""]) | SHORT_TEXT},
            ).map(lambda d: (json_body(d), "application/json")),
            st.tuples(RAW_BODIES, CONTENT_TYPES),
        ),
        credential=st.sampled_from(["valid token", "valid token", "no token", "wrong token"]),
    )
    @example(request=(b'{"next_action": "action_order_status"}', "application/json"),
             credential="valid token")
    @example(request=(b"[]", ""), credential="valid token")
    def probe(request: Any, credential: str) -> None:
        body, content_type = request
        name = ""
        try:
            name = str(json.loads(body).get("next_action", ""))
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            pass
        shown = name if name in names else "other"
        client.send(f"actions POST /webhook ({shown}, {credential})", "POST", f"{base}/webhook",
                    body, as_headers(content_type, auth[credential]))

    probe()
    check(findings, [actions_health_url(settings_)])

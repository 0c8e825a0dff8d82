"""Sending generated requests and collecting what a client must never see.

A finding is a 5xx answer, no answer at all (connection dropped, timeout) or traceback text in a
response body. Findings are collected over the whole run (not only the first), one example per
(endpoint, kind of finding), the shortest, so a failing run reports every distinct problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Dict, List, Mapping, Optional, Tuple

import requests
from hypothesis import strategies as st

TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+')
# Generous: the whole suite shares 2 cores (Rasa servers, Chromium), and the inbox slows down
# log-in attempts on an attacked account by up to 8 s on purpose. A real hang still shows.
TIMEOUT = 30.0
# After this many requests of one endpoint got no answer, its further ones are skipped (and
# counted): one hanging request is the finding, a hundred would only stretch the run.
GIVE_UP_AFTER = 2


@dataclass
class Findings:
    requests_sent: int = 0
    skipped: int = 0
    by_status: Dict[int, int] = field(default_factory=dict)
    examples: Dict[Tuple[str, str], str] = field(default_factory=dict)
    counts: Dict[Tuple[str, str], int] = field(default_factory=dict)

    def record(self, endpoint: str, status: int, text: str, request: str) -> None:
        self.requests_sent += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        kinds = []
        if status == 0:
            kinds.append("no answer")
        elif status >= 500:
            kinds.append(f"HTTP {status}")
        if TRACEBACK.search(text):
            kinds.append("traceback in body")
        for kind in kinds:
            key = (endpoint, kind)
            self.counts[key] = self.counts.get(key, 0) + 1
            example = f"{request}\n    -> {status} {text[:300]!r}"
            if key not in self.examples or len(example) < len(self.examples[key]):
                self.examples[key] = example

    def flag(self, endpoint: str, kind: str, example: str) -> None:
        """A property of the endpoint itself was violated (not only a crash)."""
        key = (endpoint, kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        if key not in self.examples or len(example) < len(self.examples[key]):
            self.examples[key] = example

    def report(self) -> str:
        lines = [f"{self.requests_sent} requests, by status {dict(sorted(self.by_status.items()))}"
                 + (f"; {self.skipped} skipped after hangs" if self.skipped else "")]
        for (endpoint, kind), count in sorted(self.counts.items()):
            example = self.examples[(endpoint, kind)]
            lines.append(f"{endpoint}: {kind} x{count}, e.g.\n    {example}")
        return "\n".join(lines)

    @property
    def clean(self) -> bool:
        return not self.counts


class Client:
    """Plain HTTP on loopback with keep-alive; every outcome goes to ``findings``."""

    def __init__(self, findings: Findings) -> None:
        self.findings = findings
        self.session = self._new_session()
        self.hanging: Dict[str, int] = {}
        self.retried_after_timeout = 0

    @staticmethod
    def _new_session() -> requests.Session:
        """Keep-alive, but no cookie jar: every request carries only the cookies it generated."""
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return session

    def _once(
        self,
        method: str,
        url: str,
        body: Optional[bytes],
        headers: Optional[Mapping[str, str]],
        stream: bool,
    ) -> Tuple[int, str]:
        with self.session.request(
            method, url, data=body, headers=dict(headers or {}), timeout=TIMEOUT,
            stream=stream, allow_redirects=False,
        ) as response:
            if stream:  # an event stream stays open: its first bytes are enough
                return response.status_code, next(response.iter_content(256), b"").decode(
                    "utf-8", "replace"
                )
            return response.status_code, response.text

    def send(
        self,
        endpoint: str,
        method: str,
        url: str,
        body: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
    ) -> Tuple[int, str]:
        assert url.startswith("http://127.0.0.1:"), url  # loopback only
        if self.hanging.get(endpoint, 0) >= GIVE_UP_AFTER:
            self.findings.skipped += 1
            return 0, ""
        shown = f"{method} {url[url.index('/', 7):]} headers={dict(headers or {})} " \
                f"body={(body or b'')[:400]!r}{'...' if body and len(body) > 400 else ''}"
        try:
            try:
                status, text = self._once(method, url, body, headers, stream)
            except requests.exceptions.Timeout:
                # A machine shared with the rest of the suite can stall a server for a moment.
                # An input that hangs the server hangs it again: ask once more, fresh.
                self.session.close()
                self.session = self._new_session()
                self.retried_after_timeout += 1
                status, text = self._once(method, url, body, headers, stream)
        except requests.exceptions.InvalidHeader:
            # The client refused to send it (e.g. a header value with leading whitespace):
            # no request reached the server, so there is nothing to judge.
            self.findings.skipped += 1
            return 0, ""
        except requests.RequestException as error:
            self.session.close()
            self.session = self._new_session()
            status, text = 0, repr(error)
            self.hanging[endpoint] = self.hanging.get(endpoint, 0) + 1
        self.findings.record(endpoint, status, text, shown)
        return status, text


# -- strategies ---------------------------------------------------------------------------

SHORT_TEXT = st.text(max_size=40)
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=60)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SHORT_TEXT, inner, max_size=4),
    max_leaves=12,
)
# What customers (or attackers) type: plain text, slash commands with JSON, control characters.
INTENT_NAMES = st.sampled_from(
    ["greet", "faq", "request_human", "order_status", "rate", "restart", "session_start",
     "nlu_fallback", "x", ""]
)
SLASH_COMMANDS = st.builds(
    lambda name, entities, tail: f"/{name}{entities}{tail}",
    INTENT_NAMES,
    st.one_of(
        st.just(""), JSON_VALUES.map(json.dumps), st.text(max_size=20).map(lambda t: "{" + t)
    ),
    st.text(max_size=10),
)
MESSAGES = st.one_of(
    st.text(max_size=200),
    SLASH_COMMANDS,
    st.sampled_from(["Hallo!", "Wo ist meine Bestellung 100234, PLZ 80331?", "STOP", "START",
                     "1", "Ich will einen Menschen", "\x00", "\u202e", "<script>x</script>"]),
)


def deep_json(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=200_000).map(deep_json),
    st.sampled_from([b"", b"{", b"null", b"[]", b"1e999999", b'"x"', b"{}", b'{"a":NaN}']),
    st.integers(min_value=1, max_value=1_500_000).map(lambda n: b'{"m":"' + b"x" * n + b'"}'),
)
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "text/plain",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1", "",
])


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def as_headers(content_type: str, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(extra or {})
    return headers


def header_safe(value: str) -> str:
    """HTTP header values are latin-1 without line breaks (a client cannot send anything else)."""
    return "".join(c for c in value if 32 <= ord(c) < 256 and c != "\x7f")[:200]


@dataclass
class Budget:
    """How many generated requests each endpoint gets (hypothesis ``max_examples``)."""

    rest: int = 300
    telegram: int = 500
    whatsapp: int = 500
    meta: int = 400
    inbox: int = 700
    actions: int = 500

    @property
    def total(self) -> int:
        return self.rest + self.telegram + self.whatsapp + self.meta + self.inbox + self.actions


JSONish = List[Any]

"""Request guard: every inbox route needs a live session; state changes need the CSRF token
and a same-origin request; an account with a one-time password can only set a new one; the
trainer page needs the trainer role. Adds security headers to the inbox's responses. Also: the
client address of a request (X-Forwarded-For only from a trusted proxy)."""

from __future__ import annotations

import ipaddress
from typing import Awaitable, Callable, FrozenSet, Iterable, Optional, Tuple, Union
from urllib.parse import urlparse

from aiohttp import web

from bot.inbox._auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoggedIn,
    lookup_session,
    tokens_match,
)
from bot.inbox._context import AGENT_REQUEST_KEY, Network, inbox_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# (method, path) pairs anyone may call: the log-in form and the local web chat for customers.
PUBLIC_ROUTES: FrozenSet[Tuple[str, str]] = frozenset(
    {
        ("GET", "/"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/chat"),
        ("POST", "/chat/api/messages"),
        ("GET", "/chat/api/events"),
        ("GET", "/chat/api/history"),
    }
)
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# What an account that must replace its one-time password may still do.
PASSWORD_CHANGE_ROUTES: FrozenSet[Tuple[str, str]] = frozenset(
    {("GET", "/inbox/password"), ("POST", "/inbox/password"), ("POST", "/logout")}
)
# Path prefixes that need more than the agent role.
ROLE_PREFIXES: Tuple[Tuple[str, str], ...] = (("/inbox/trainer", "trainer"),)

CSP = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def is_public(method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    return (method, path) in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES)


Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def _address(text: str) -> Optional[Address]:
    """An IP address from a peer or X-Forwarded-For entry (port and brackets removed; an
    IPv4-mapped IPv6 address as IPv4), or None if it is none."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51000
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Iterable[Network]) -> bool:
    return any(address in network for network in proxies)


def client_address(request: web.Request, trusted_proxies: Tuple[Network, ...]) -> str:
    """The client's IP address: the direct peer, unless that peer is a trusted proxy; then the
    right-most X-Forwarded-For entry that is not itself a trusted proxy."""
    peer_text = request.remote or ""
    peer = _address(peer_text)
    if peer is None or not trusted_proxies or not _trusted(peer, trusted_proxies):
        return str(peer) if peer is not None else (peer_text or "?")
    hops = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    client = peer
    for hop in reversed([hop for hop in hops if hop.strip()]):
        address = _address(hop)
        if address is None:
            break  # garbage from beyond the last trusted hop: stop at what we know
        client = address
        if not _trusted(address, trusted_proxies):
            break
    return str(client)


def _needed_role(path: str) -> Optional[str]:
    for prefix, role in ROLE_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return None


def _forbidden(request: web.Request, logged: LoggedIn) -> Optional[web.StreamResponse]:
    """A refusal for a logged-in agent who may not use this route, else None."""
    method = "GET" if request.method == "HEAD" else request.method
    if logged.must_change_password and (method, request.path) not in PASSWORD_CHANGE_ROUTES:
        if _wants_page(request):
            return web.Response(status=302, headers={"Location": "/inbox/password"})
        return web.json_response(
            {"error": "Bitte setze zuerst ein eigenes Passwort (Passwort ändern)."}, status=403
        )
    role = _needed_role(request.path)
    if role is not None and not logged.has_role(role):
        message = ("Das Training ist nur für Trainer und Admins freigeschaltet. Frag eine Admin, "
                   "wenn du es brauchst.")
        if request.method in ("GET", "HEAD"):
            return web.Response(text=message, status=403, content_type="text/plain",
                                charset="utf-8")
        return web.json_response({"error": message}, status=403)
    return None


def _wants_page(request: web.Request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and (request.path == "/inbox" or request.path.startswith("/inbox/"))
        and not request.path.startswith("/inbox/api/")
        and request.path != "/inbox/events"
    )


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if referer is None:
            return True  # non-browser clients; the CSRF token still has to match
        origin = referer
    return urlparse(origin).netloc == request.host


def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/chat") or response.prepared:
        return
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


def _refuse(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if status == 401 and _wants_page(request):
        return web.Response(status=302, headers={"Location": "/login"})
    return web.json_response({"error": message}, status=status)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def readable_forms(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A form body that cannot be parsed (broken multipart, bad encoding) is a 400 with a German
    sentence, never a 500; the parsed form is cached by aiohttp for the handlers."""
    if request.method not in SAFE_METHODS and request.content_type == "multipart/form-data":
        # No page of the inbox uploads anything; aiohttp's multipart reader can wait forever
        # on a body that never reaches its boundary.
        response = web.json_response({"error": "Ungültige Anfrage."}, status=415)
        _secure_headers(request, response)
        return response
    if request.method not in SAFE_METHODS and request.content_type in FORM_TYPES:
        try:
            await request.post()
        except web.HTTPException:
            raise
        except Exception:  # aiohttp raises ValueError, AssertionError, ... for broken bodies
            response = web.json_response({"error": "Ungültige Anfrage."}, status=400)
            _secure_headers(request, response)
            return response
    return await handler(request)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_public(request.method, request.path):
        response = await handler(request)
        _secure_headers(request, response)
        return response
    inbox = inbox_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    now = inbox.clock()
    logged = await inbox.db().run(lambda session: lookup_session(session, token, now))
    if logged is None:
        response = _refuse(request, 401, "Bitte melde dich an.")
        _secure_headers(request, response)
        return response
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type in FORM_TYPES:
            form = await request.post()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not _same_origin(request) or not tokens_match(logged.csrf_token, given):
            response = _refuse(
                request, 403, "Sicherheitsprüfung fehlgeschlagen. Bitte lade die Seite neu."
            )
            _secure_headers(request, response)
            return response
    refusal = _forbidden(request, logged)
    if refusal is not None:
        _secure_headers(request, refusal)
        return refusal
    request[AGENT_REQUEST_KEY] = logged
    try:
        response = await handler(request)
    except web.HTTPException as exception:
        _secure_headers(request, exception)
        raise
    _secure_headers(request, response)
    return response

"""Request guard: every inbox route needs a live session; state changes need the CSRF token
and a same-origin request. Adds security headers to the inbox's responses."""

from __future__ import annotations

from typing import Awaitable, Callable, FrozenSet, Tuple
from urllib.parse import urlparse

from aiohttp import web

from bot.inbox._auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, lookup_session, tokens_match
from bot.inbox._context import AGENT_REQUEST_KEY, inbox_of

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
    }
)
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CSP = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def is_public(method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    return (method, path) in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES)


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
        if given is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not _same_origin(request) or not tokens_match(logged.csrf_token, given):
            response = _refuse(
                request, 403, "Sicherheitsprüfung fehlgeschlagen. Bitte lade die Seite neu."
            )
            _secure_headers(request, response)
            return response
    request[AGENT_REQUEST_KEY] = logged
    try:
        response = await handler(request)
    except web.HTTPException as exception:
        _secure_headers(request, exception)
        raise
    _secure_headers(request, response)
    return response

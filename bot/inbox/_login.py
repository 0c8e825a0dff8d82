"""Log-in, log-out and password change pages."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.inbox._auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    authenticate,
    check_login_token,
    create_session,
    end_all_sessions,
    end_session,
    login_nonce,
    lookup_session,
    sign_nonce,
)
from bot.inbox._context import Inbox, agent_of, inbox_of
from bot.inbox._models import Agent
from bot.inbox._passwords import (
    MIN_LENGTH,
    WeakPasswordError,
    hash_password,
    verify_password,
)
from bot.inbox._render import render
from bot.inbox._security import client_address
from bot.inbox._throttle import account_key, reserve_attempt, settle_attempt


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _login_page(
    inbox: Inbox, error: str = "", name: str = "", status: int = 200, nonce: str = ""
) -> web.Response:
    # Keep the nonce of this browser (a favicon request redirected here must not invalidate
    # the form that is already open); a fresh one otherwise.
    if not (20 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum()):
        nonce = login_nonce()
    response = _html(
        render(inbox.templates, "login.html", error=error, name=name,
               login_token=sign_nonce(inbox.secret, nonce)),
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=inbox.cookie_secure,
        path="/login", max_age=3600,
    )
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    now = inbox.clock()
    if token:
        logged = await inbox.db().run(lambda session: lookup_session(session, token, now))
        if logged is not None:
            raise web.HTTPFound("/inbox")
    return _login_page(inbox, nonce=request.cookies.get(LOGIN_COOKIE, ""))


async def login(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    form = await request.post()
    name = str(form.get("name") or "").strip()[:64]
    password = str(form.get("password") or "")[:256]
    if not check_login_token(inbox.secret, request.cookies.get(LOGIN_COOKIE),
                             str(form.get(CSRF_FIELD) or "")):
        return _login_page(inbox, "Die Anmeldeseite war veraltet. Bitte versuch es noch einmal.",
                           name, status=403)
    client = client_address(request, inbox.trusted_proxies)
    account = account_key(name)
    now = inbox.clock()
    attempt = await inbox.db().run(
        lambda session: reserve_attempt(session, inbox.throttle, account, client, now)
    )
    if not attempt.allowed:
        minutes = max(1, -(-attempt.retry_after // 60))
        response = _login_page(
            inbox, "Zu viele Fehlversuche von diesem Gerät. Bitte warte "
            f"{minutes} Minute{'n' if minutes != 1 else ''} und versuch es dann noch einmal.",
            name, status=429,
        )
        response.headers["Retry-After"] = str(attempt.retry_after)
        return response
    if attempt.delay:
        await asyncio.sleep(attempt.delay)  # the account is under attack: slow every try
    agent = await inbox.db().run(lambda session: authenticate(session, name, password))
    await inbox.db().run(
        lambda session: settle_attempt(session, inbox.throttle, account, client, inbox.clock(),
                                       succeeded=agent is not None)
    )
    if agent is None:
        return _login_page(inbox, "Name oder Passwort stimmt nicht.", name, status=401)
    now = inbox.clock()
    token, logged = await inbox.db().run(lambda session: create_session(session, agent, now))
    response = web.HTTPFound("/inbox/password" if logged.must_change_password else "/inbox")
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=inbox.cookie_secure,
        path="/", max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    logged = agent_of(request)
    await inbox.db().run(lambda session: end_session(session, logged.session_id))
    inbox.hub.kick(logged.session_id)
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def password_form(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    return _html(render(inbox.templates, "password.html", me=agent_of(request), error="",
                        done=False, page="password", min_length=MIN_LENGTH))


async def change_password(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    logged = agent_of(request)
    form = await request.post()
    current = str(form.get("current") or "")
    new = str(form.get("new") or "")
    repeat = str(form.get("repeat") or "")

    def change(session: object) -> str:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        agent = session.get(Agent, logged.agent_id)
        if agent is None or not verify_password(current, agent.password_hash):
            return "Das aktuelle Passwort stimmt nicht."
        if new != repeat:
            return "Die beiden neuen Passwörter sind verschieden."
        if new == current:
            return "Das neue Passwort muss sich vom bisherigen unterscheiden."
        try:
            agent.password_hash = hash_password(new)
        except WeakPasswordError as error:
            return str(error)
        agent.must_change_password = False
        end_all_sessions(session, agent.id)
        return ""

    error = await inbox.db().run(change)
    if error:
        return _html(render(inbox.templates, "password.html", me=logged, error=error, done=False,
                            page="password", min_length=MIN_LENGTH), status=400)
    inbox.hub.kick(logged.session_id)
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response

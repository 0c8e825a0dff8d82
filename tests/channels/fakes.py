"""Local fakes of the Telegram Bot API, Twilio's Messages API and Meta's Graph API Send API
(aiohttp on 127.0.0.1).

They speak enough of the real HTTP APIs for python-telegram-bot's ``Bot`` and twilio's
``Client`` to work against them, record every request, and can be told to fail the next calls
(429 with ``retry_after``, 5xx, 403 "blocked") to exercise the channels' error handling.
Each fake runs its own event loop in a daemon thread, so sync tests and other processes (the
Rasa server under test) can use it alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, TypeVar

from aiohttp import web

S = TypeVar("S", bound="_FakeServer")


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: Dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass
class Failure:
    status: int
    body: Dict[str, Any]
    times: int = 1
    match: Optional[Callable[[Dict[str, Any]], bool]] = None
    delay: float = 0.0  # seconds before answering: longer than the client's timeout = a hang


class _FakeServer:
    """An aiohttp app in a background thread; subclasses add routes."""

    def __init__(self) -> None:
        self.calls: List[Call] = []
        self._failures: Dict[str, List[Failure]] = {}
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0
        self.stopping = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def start(self: S) -> S:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            app = web.Application()
            self.routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    async def _wake_waiters(self) -> None:
        """Let long-running handlers (long polls) return before shutting down."""

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            self.stopping = True
            done = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            with contextlib.suppress(Exception):  # stopping anyway
                done.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _shutdown(self) -> None:
        await self._wake_waiters()
        assert self._runner is not None
        await self._runner.cleanup()

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- scripting and inspection ---------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        body: Dict[str, Any],
        times: int = 1,
        match: Optional[Callable[[Dict[str, Any]], bool]] = None,
        delay: float = 0.0,
    ) -> None:
        """The next ``times`` calls of ``method`` (whose params ``match``) answer ``status``,
        after ``delay`` seconds (a provider that hangs until the client times out)."""
        with self._lock:
            self._failures.setdefault(method, []).append(
                Failure(status, body, times, match, delay)
            )

    def _take_failure(self, method: str, params: Dict[str, Any]) -> Optional[Failure]:
        with self._lock:
            queue = self._failures.get(method) or []
            for failure in queue:
                if failure.match is not None and not failure.match(params):
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    queue.remove(failure)
                return failure
            return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def calls_of(self, method: str, where: Optional[Callable[[Call], bool]] = None) -> List[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

    def wait_for(
        self,
        method: str,
        where: Optional[Callable[[Call], bool]] = None,
        count: int = 1,
        timeout: float = 30.0,
        status: Optional[int] = 200,
    ) -> List[Call]:
        """Wait until ``count`` calls of ``method`` (answered with ``status``) match ``where``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                c for c in self.calls_of(method, where) if status is None or c.status == status
            ]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} {method} call(s), got {len(found)}; all calls: "
                    f"{[(c.method, c.status, c.params) for c in self.calls][-20:]}"
                )
            time.sleep(0.05)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()


def _maybe_json(value: str) -> Any:
    """PTB sends objects, lists and booleans JSON-encoded in form fields."""
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegram(_FakeServer):
    """``/bot<token>/<method>`` of the Telegram Bot API."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(700000)
        self._updates: List[Dict[str, Any]] = []
        self._update_event: Optional[asyncio.Event] = None
        self.webhook: Dict[str, Any] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    @staticmethod
    async def _params(request: web.Request) -> Dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        params: Dict[str, Any] = dict(request.query)
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                params[key] = _maybe_json(value) if isinstance(value, str) else str(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            self._record(Call(method, params, status=401))
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        failure = self._take_failure(method, params)
        if failure is not None:
            self._record(Call(method, params, status=failure.status))
            await asyncio.sleep(failure.delay)
            return web.json_response(failure.body, status=failure.status)
        if method == "getUpdates":
            return await self._get_updates(params)
        self._record(Call(method, params))
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _message(self, params: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
        chat_id = params.get("chat_id", 0)
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            pass
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "Paula", "username": "paula_bot"},
            **extra,
        }

    def _result(self, method: str, params: Dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "Paula", "username": "paula_bot"}
        if method == "sendMessage":
            return self._message(params, text=params.get("text", ""))
        if method == "sendPhoto":
            return self._message(params, photo=[
                {"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1}
            ])
        if method == "sendDocument":
            return self._message(params, document={"file_id": "sent-doc", "file_unique_id": "sd"})
        if method == "setWebhook":
            self.webhook = dict(params)
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
                "allowed_updates": self.webhook.get("allowed_updates") or [],
            }
        if method == "editMessageReplyMarkup":
            return self._message(params)
        return True

    async def _get_updates(self, params: Dict[str, Any]) -> web.Response:
        if self.webhook.get("url"):
            self._record(Call("getUpdates", params, status=409))
            return web.json_response(
                {"ok": False, "error_code": 409,
                 "description": "Conflict: can't use getUpdates method while webhook is active"},
                status=409,
            )
        self._record(Call("getUpdates", params))
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        if self._update_event is None:
            self._update_event = asyncio.Event()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                pending = list(self._updates)
            if pending or self.stopping or time.monotonic() >= deadline:
                return web.json_response({"ok": True, "result": pending})
            self._update_event.clear()
            try:
                await asyncio.wait_for(
                    self._update_event.wait(), timeout=max(0.01, deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                pass

    async def _wake_waiters(self) -> None:
        if self._update_event is not None:
            self._update_event.set()
        await asyncio.sleep(0.05)

    def queue_update(self, update: Dict[str, Any]) -> None:
        """Hand ``update`` to the next ``getUpdates`` (long polling)."""
        with self._lock:
            self._updates.append(update)
        if self._loop is not None and self._update_event is not None:
            self._loop.call_soon_threadsafe(self._update_event.set)

    # -- update builders ------------------------------------------------------------------

    def _base_message(self, chat_id: int, chat_type: str = "private") -> Dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Kim"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Kim", "language_code": "de"},
        }

    def message_update(self, chat_id: int, chat_type: str = "private", **content: Any) -> Dict:
        message = self._base_message(chat_id, chat_type)
        message.update(content)
        return {"update_id": next(self._update_ids), "message": message}

    def text_update(self, chat_id: int, text: str, chat_type: str = "private") -> Dict[str, Any]:
        return self.message_update(chat_id, chat_type, text=text)

    def photo_update(self, chat_id: int, caption: Optional[str] = None) -> Dict[str, Any]:
        content: Dict[str, Any] = {
            "photo": [
                {"file_id": f"small-{chat_id}", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": f"large-{chat_id}", "file_unique_id": "l", "width": 1280,
                 "height": 960},
            ]
        }
        if caption:
            content["caption"] = caption
        return self.message_update(chat_id, **content)

    def callback_update(self, chat_id: int, data: str) -> Dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": secrets.token_hex(8),
                "from": {"id": chat_id, "is_bot": False, "first_name": "Kim"},
                "chat_instance": "ci",
                "data": data,
                "message": self._base_message(chat_id),
            },
        }


class FakeTwilio(_FakeServer):
    """``/2010-04-01/Accounts/<sid>/Messages.json`` of Twilio's REST API."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        params: Dict[str, Any] = {}
        for key in form.keys():
            values = [str(v) for v in form.getall(key)]
            params[key] = values if key == "MediaUrl" else values[0]
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            self._record(Call("messages", params, status=401))
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        failure = self._take_failure("messages", params)
        if failure is not None:
            self._record(Call("messages", params, status=failure.status))
            await asyncio.sleep(failure.delay)
            return web.json_response(failure.body, status=failure.status)
        sid = "SM" + secrets.token_hex(16)
        params["Sid"] = sid  # before recording: a test may read the call at once
        self._record(Call("messages", params, status=201))
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": params.get("To"),
                "from": params.get("From"),
                "body": params.get("Body", ""),
                "status": "queued",
                "num_media": str(len(params.get("MediaUrl") or [])),
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status=201,
        )

    def fail_messages(
        self,
        status: int,
        code: int,
        message: str,
        times: int = 1,
        to: Optional[str] = None,
        delay: float = 0.0,
    ) -> None:
        """The next ``times`` messages (to ``to``, if given) fail with ``status``/``code``."""
        self.fail(
            "messages",
            status,
            {"code": code, "message": message, "more_info": "", "status": status},
            times,
            None if to is None else (lambda params: params.get("To") == to),
            delay,
        )

    def wait_for_messages(
        self, where: Optional[Callable[[Call], bool]] = None, count: int = 1, timeout: float = 30
    ) -> List[Call]:
        return self.wait_for("messages", where, count=count, timeout=timeout, status=201)


class FakeMeta(_FakeServer):
    """``POST /v19.0/me/messages`` of Meta's Graph API (Send API) and ``GET /media/<name>``
    (an attachment on Meta's CDN)."""

    IMAGE = b"\x89PNG\r\n\x1a\n" + b"fake-image" * 10

    def __init__(self, page_access_token: str) -> None:
        super().__init__()
        self.page_access_token = page_access_token

    @property
    def api_url(self) -> str:
        return f"{self.url}/v19.0"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v19.0/me/messages", self._send)
        app.router.add_get("/media/{name}", self._media)

    async def _media(self, request: web.Request) -> web.Response:
        self._record(Call("media", {"name": request.match_info["name"],
                                    "auth": request.headers.get("Authorization")}))
        return web.Response(body=self.IMAGE, content_type="image/png")

    async def _send(self, request: web.Request) -> web.Response:
        try:
            params: Dict[str, Any] = await request.json()
        except ValueError:
            params = {}
        params = params if isinstance(params, dict) else {}
        if request.headers.get("Authorization") != f"Bearer {self.page_access_token}" or (
            "access_token" in request.query
        ):
            self._record(Call("messages", params, status=401))
            return web.json_response(
                {"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=401
            )
        failure = self._take_failure("messages", params)
        if failure is not None:
            self._record(Call("messages", params, status=failure.status))
            await asyncio.sleep(failure.delay)
            return web.json_response(failure.body, status=failure.status)
        recipient = (params.get("recipient") or {}).get("id")
        mid = "m_" + secrets.token_hex(12)
        self._record(Call("messages", params, status=200))
        return web.json_response({"recipient_id": recipient, "message_id": mid})

    def fail_messages(
        self, status: int, code: int, message: str, subcode: Optional[int] = None,
        times: int = 1, to: Optional[str] = None,
    ) -> None:
        """The next ``times`` sends (to page-scoped id ``to``, if given) fail like Meta's."""
        error: Dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        self.fail(
            "messages", status, {"error": error}, times,
            None if to is None else (lambda params: (params.get("recipient") or {}).get("id")
                                     == to),
        )

    def wait_for_messages(
        self, where: Optional[Callable[[Call], bool]] = None, count: int = 1, timeout: float = 30
    ) -> List[Call]:
        return self.wait_for("messages", where, count=count, timeout=timeout, status=200)


def telegram_error(status: int, description: str, retry_after: Optional[int] = None) -> Dict:
    body: Dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


__all__ = ["Call", "FakeMeta", "FakeTelegram", "FakeTwilio", "telegram_error"]

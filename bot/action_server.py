"""The action server: rasa_sdk's app behind a shared secret that only Rasa knows.

rasa_sdk has no authentication of its own: anyone who can reach ``/webhook`` can post a forged
tracker and run any custom action (e.g. guess postcodes for an order number). This entry point
(``python -m bot.action_server``) wraps ``rasa_sdk.endpoint.create_app`` with a request
middleware that refuses every request without ``Authorization: Bearer <ACTION_SERVER_TOKEN>``
(compared in constant time) before any action runs, and binds to ``BOT_HOST`` (loopback).
Rasa sends the header on every call: the launcher's ``endpoints.yml`` has
``headers: {Authorization: "Bearer ${ACTION_SERVER_TOKEN}"}``, expanded by Rasa from its
environment, so the secret itself is in no file but ``.env``. ``/health`` stays open (it says
only ``{"status": "ok"}``) for the launcher's readiness check.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import List, Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.errors import ConfigurationError
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"  # noqa: S105 - the variable's name, not a secret
AUTH_HEADER = "Authorization"
SCHEME = "Bearer "
OPEN_PATHS = frozenset({"/health"})
# What Rasa's endpoints.yml sends; Rasa expands ${...} from its own environment.
ENDPOINT_HEADERS = {AUTH_HEADER: SCHEME + "${" + TOKEN_VARIABLE + "}"}


def is_authorized(header: Optional[str], token: str) -> bool:
    """True if ``header`` is exactly ``Bearer <token>`` (constant-time; empty token: never)."""
    if not token:
        return False
    return hmac.compare_digest((header or "").encode(), (SCHEME + token).encode())


def check_token_configured(token: str) -> None:
    if not token:
        raise ConfigurationError(
            f"{TOKEN_VARIABLE} is not set: the action server refuses to run without it "
            "(`make run` generates one into .env)"
        )


def require_token(app: Sanic, token: str) -> None:
    """Refuse every request but ``/health`` that lacks the token, before any action runs."""
    check_token_configured(token)

    @app.middleware("request")
    async def _check_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        if is_authorized(request.headers.get(AUTH_HEADER), token):
            return None
        logger.warning(
            "refused %s %s from %s: missing or wrong action server token",
            request.method, request.path, request.ip,
        )
        return response.json({"error": "unauthorized"}, status=401)


def is_action_call(body: object) -> bool:
    """The shape Rasa posts to ``/webhook``: ``next_action`` (a name) and ``tracker`` (an object).
    rasa_sdk itself answers anything else with a 500 that echoes the request."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("next_action"), str)
        and isinstance(body.get("tracker"), dict)
        and isinstance(body["tracker"].get("sender_id", ""), str)
    )


def require_action_calls(app: Sanic) -> None:
    """Refuse malformed ``/webhook`` bodies with 400 before rasa_sdk sees them."""

    @app.middleware("request")
    async def _check_body(request: Request) -> Optional[HTTPResponse]:
        if request.path != "/webhook" or request.method != "POST":
            return None
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, RecursionError):
            body = None
        if is_action_call(body):
            return None
        return response.json({"error": "bad request"}, status=400)


def answer_failed_actions(app: Sanic) -> None:
    """An action that raises (a bug, or a tracker it cannot read) answers the customer with the
    holding message and a person button instead of rasa_sdk's 500, which echoes the request
    (customer data) and leaves the customer in silence. Logged with the traceback."""
    from channels._texts import HUMAN_BUTTON, STILL_THERE

    @app.exception(Exception)
    async def _failed(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException) and exception.status_code < 500:
            return response.json({"error": str(exception)}, status=exception.status_code)
        logger.error("action call failed (%s)", type(exception).__name__, exc_info=exception)
        return response.json({
            "events": [],
            "responses": [{"text": STILL_THERE, "buttons": [dict(HUMAN_BUTTON)]}],
        })


def create_app(settings: Settings, package: str = "actions") -> Sanic:
    """rasa_sdk's app for ``package`` with the token check and no CORS."""
    from rasa_sdk.endpoint import create_app as create_sdk_app

    token = settings.action_server_token
    check_token_configured(token)  # fail before loading the actions
    app = create_sdk_app(package, cors_origins=None)
    require_token(app, token)
    require_action_calls(app)
    answer_failed_actions(app)
    return app


def main(argv: Optional[List[str]] = None) -> int:
    """Run the action server on ``BOT_HOST``:``ACTION_PORT`` until stopped."""
    import sys

    from rasa_sdk import utils

    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    try:
        settings = load_settings()
        app = create_app(settings)
    except ConfigurationError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    logger.info("action server on http://%s:%s", settings.host, settings.action_port)
    app.run(settings.host, settings.action_port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Authenticating to Rasa's HTTP API without putting ``RASA_TOKEN`` into a URL.

Rasa 3.6 accepts the plain token only as the query parameter ``?token=`` (see
``rasa.server.requires_auth``); URLs end up in logs and proxies. Its other mechanism is a JWT
in the ``Authorization: Bearer`` header, enabled with ``--jwt-secret``. The Rasa server is
started by :mod:`bot.rasa_server` with a JWT secret derived from ``RASA_TOKEN``; every client of
this project (the inbox, the launcher's health check) signs a short-lived token with the same
derived secret and sends it in the header. Role ``admin`` is what Rasa requires for the
conversation and status endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Dict, Optional

JWT_METHOD = "HS256"
TOKEN_LIFETIME = 300  # seconds; Rasa (sanic-jwt) adds three minutes of leeway
_PURPOSE = b"paula rasa jwt v1"


def jwt_secret(token: str) -> str:
    """The secret Rasa verifies our JWTs with, derived from ``RASA_TOKEN``."""
    if not token:
        raise ValueError("RASA_TOKEN is empty")
    return hmac.new(token.encode("utf-8"), _PURPOSE, hashlib.sha256).hexdigest()


def bearer_token(token: str, lifetime: int = TOKEN_LIFETIME, now: Optional[float] = None) -> str:
    """A JWT Rasa accepts for the whole HTTP API until ``lifetime`` seconds from now."""
    import jwt

    issued = int(time.time() if now is None else now)
    claims = {"user": {"username": "paula", "role": "admin"}, "iat": issued,
              "exp": issued + lifetime}
    return jwt.encode(claims, jwt_secret(token), algorithm=JWT_METHOD)


def auth_headers(token: str, lifetime: int = TOKEN_LIFETIME) -> Dict[str, str]:
    """``{"Authorization": "Bearer <JWT>"}`` for a request to Rasa's HTTP API (nothing without
    a token: Rasa then refuses the request, which says more than a crash here)."""
    if not token:
        return {}
    return {"Authorization": f"Bearer {bearer_token(token, lifetime)}"}

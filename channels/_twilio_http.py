"""twilio's asynchronous HTTP client, optionally pointed at another base URL (tests, proxies)."""

from __future__ import annotations

import logging
import re
from typing import Dict, Optional, Tuple

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]*\.twilio\.com")


class RewritingAsyncHttpClient(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` that sends ``https://*.twilio.com/...`` to ``base_url``.

    Create it inside a running event loop (it opens an aiohttp session).
    """

    def __init__(self, base_url: str = "", timeout: float = 10.0) -> None:
        # twilio logs every request and response at INFO; ours are recorded in
        # channel_deliveries, so only its warnings are worth a log line.
        quiet = logging.getLogger("channels.twilio_http")
        quiet.setLevel(logging.WARNING)
        super().__init__(timeout=timeout, logger=quiet)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: Optional[Dict[str, object]] = None,
        data: Optional[Dict[str, object]] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: Optional[Tuple[str, str]] = None,
        timeout: Optional[float] = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base_url:
            url = _TWILIO_HOST.sub(self.base_url, url)
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


__all__ = ["RewritingAsyncHttpClient"]

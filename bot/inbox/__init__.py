"""The community managers' web app (inbox) and the local web chat page."""

from bot.inbox._app import create_app

__all__ = ["create_app"]

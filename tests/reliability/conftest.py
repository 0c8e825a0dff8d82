"""Fixtures: the messenger stack of tests/channels (real Rasa, action server, fake providers)."""

from tests.channels.conftest import channel_stack

__all__ = ["channel_stack"]

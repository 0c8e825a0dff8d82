"""Exception hierarchy: every error the application raises on purpose derives from BotError."""

from __future__ import annotations


class BotError(Exception):
    """Root of all errors raised by this package on purpose.

    The message is one German-free, human-readable English sentence meant for
    operators and trainers; the command line prints it without a traceback.
    """


class ConfigurationError(BotError):
    """The environment or a configuration file is missing something or is inconsistent."""


class NotFoundError(BotError):
    """A requested record does not exist."""

"""What the inbox's background loops (event consumers, insights) share."""

from __future__ import annotations


def worth_logging(failures: int) -> bool:
    """Whether the ``failures``-th failure in a row is logged (the 1st, 10th and every 100th):
    a dependency that stays down must not flood the log, but must stay visible in it."""
    return failures in (1, 10) or failures % 100 == 0


__all__ = ["worth_logging"]

"""Killing and restarting the Rasa server of a running stack, and a provider that redelivers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List

from bot.launcher import is_healthy, rasa_command, rasa_health_url
from bot.settings import PROJECT_ROOT
from tests._stack import Stack


def kill_rasa(stack: Stack) -> None:
    """SIGKILL the Rasa server: no shutdown hooks, no draining, like a crash or an OOM kill."""
    rasa = stack.processes[-1]
    os.kill(rasa.pid, signal.SIGKILL)
    rasa.wait(timeout=30)


def restart_rasa(stack: Stack, model: Path, timeout: float = 240.0) -> None:
    """Start Rasa again on the same port, databases and credentials; wait until it is healthy."""
    settings = stack.settings
    var_dir = settings.var_dir
    log = var_dir / f"rasa-restart-{int(time.time())}.log"
    command = rasa_command(
        settings, model, var_dir / "endpoints.yml", var_dir / "credentials.yml", sys.executable
    )
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=stack.env, stdout=handle, stderr=subprocess.STDOUT
        )
    stack.processes[-1] = process
    stack.logs.append(log)
    deadline = time.monotonic() + timeout
    while not is_healthy(rasa_health_url(settings)):
        if process.poll() is not None:
            raise RuntimeError(f"Rasa died during restart:\n{stack.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Rasa not ready in {timeout:.0f} s:\n{stack.log_tail()}")
        time.sleep(0.5)


@dataclass
class Delivery:
    """One webhook the provider must get acknowledged (2xx), with every attempt's outcome."""

    name: str
    post: Callable[[], int]
    outcomes: List[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.outcomes) and 200 <= self.outcomes[-1] < 300


def deliver_until_acknowledged(delivery: Delivery, deadline: float, pause: float = 0.3) -> None:
    """What Telegram and Twilio do: a delivery that was not answered 2xx (connection refused or
    reset, timeout, 5xx) is sent again, unchanged, until acknowledged or the provider gives up.
    0 stands for "no HTTP answer at all"."""
    while time.monotonic() < deadline:
        try:
            status = delivery.post()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            status = 0
        delivery.outcomes.append(status)
        if 200 <= status < 300:
            return
        time.sleep(pause)


def redeliver_all(
    deliveries: List[Delivery], deadline: float, workers: int = 4
) -> "ThreadPoolExecutor":
    """Start delivering in the background (``workers`` parallel connections, like a provider)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider")
    for delivery in deliveries:
        pool.submit(deliver_until_acknowledged, delivery, deadline)
    return pool


def attempts_by_outcome(deliveries: List[Delivery]) -> Dict[int, int]:
    counts: Dict[int, int] = {}
    for delivery in deliveries:
        for status in delivery.outcomes:
            counts[status] = counts.get(status, 0) + 1
    return counts

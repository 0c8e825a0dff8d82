"""REST webhook → reply latency, throughput and server memory of one model."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import List

from bot.evaluation import load_examples
from tests._stack import Stack, start_stack

MESSAGES = 500
CONCURRENCY = 4


@dataclass
class LatencyResult:
    p50_ms: float
    p95_ms: float
    messages_per_second: float
    rasa_rss_mb: float  # after the MESSAGES sequential messages
    rasa_peak_mb: float  # highest RSS of the Rasa server up to the end (VmHWM)
    actions_rss_mb: float


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(stack: Stack, texts: List[str]) -> LatencyResult:
    for text in texts[:20]:  # warm-up
        stack.send(f"warm-{uuid.uuid4().hex[:8]}", text)
    latencies = []
    for i in range(MESSAGES):
        started = time.perf_counter()
        stack.send(f"bench-{uuid.uuid4().hex[:10]}", texts[i % len(texts)])
        latencies.append((time.perf_counter() - started) * 1000)
    actions, rasa = stack.processes
    rasa_after_sequential = rss_mb(rasa.pid)

    def one(i: int) -> None:
        stack.send(f"load-{uuid.uuid4().hex[:10]}", texts[i % len(texts)])

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(MESSAGES)))
    elapsed = time.perf_counter() - started
    return LatencyResult(
        p50_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 0.95),
        messages_per_second=MESSAGES / elapsed,
        rasa_rss_mb=rasa_after_sequential,
        rasa_peak_mb=rss_mb(rasa.pid, "VmHWM"),
        actions_rss_mb=rss_mb(actions.pid),
    )


def run_latency_bench(model: Path) -> LatencyResult:
    texts = [example.text for example in load_examples()]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        stack = start_stack(Path(tmp), model)
        try:
            return measure(stack, texts)
        finally:
            stack.stop()

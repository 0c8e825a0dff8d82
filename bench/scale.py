"""``make bench-scale``: throughput of 1 vs 2 Rasa instances behind haproxy, in one run.

The scaled topology (PostgreSQL, Redis lock store, RabbitMQ event broker, 2 Rasa servers,
1 action server, 1 inbox consuming the events) is started once on loopback. Two haproxy
frontends sit in front of it: one with only the first Rasa instance, one with both. The same
closed-loop load (``--users`` customers, each sending the next FAQ question as soon as the
answer is there) runs against each for ``--seconds`` (after a short warm-up), bounded also by
``--max-messages``. Printed: messages/s, p50/p95 latency, the ratio, and each process's RSS.

A bounded asyncio/aiohttp load generator instead of Locust: Locust would add 15 packages
(gevent, Flask 3, pyzmq, psutil, …) to the shared Rasa virtualenv for this one benchmark.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

# Messages per simulated conversation; then the next customer writes. One endless conversation
# would measure a tracker of hundreds of events, which every turn loads and saves.
CONVERSATION_MESSAGES = 5
QUESTIONS = [
    "Wie lange dauert der Versand?",
    "Kann ich mit PayPal bezahlen?",
    "Wie kann ich etwas zurückschicken?",
    "Was kostet der Versand?",
    "Hallo",
    "Danke dir!",
]


@dataclass
class Result:
    label: str
    messages: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int
    load_average: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def percentile(values: List[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def load(url: str, label: str, users: int, seconds: float, max_messages: int,
               warmup: float = 3.0) -> Result:
    """Closed loop: each user sends, waits for the answer, sends the next question."""
    import aiohttp

    latencies: List[float] = []
    errors = 0
    started = time.monotonic()
    measure_from = started + warmup
    stop_at = measure_from + seconds
    counted = 0

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors, counted
        turn = 0
        while time.monotonic() < stop_at and counted < max_messages:
            if turn % CONVERSATION_MESSAGES == 0:  # a new customer: conversations are short
                sender = f"bench-{secrets.token_hex(4)}-{index}"
            text = QUESTIONS[turn % len(QUESTIONS)]
            turn += 1
            begin = time.monotonic()
            try:
                async with session.post(f"{url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": text}) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            end = time.monotonic()
            if begin >= measure_from and end <= stop_at:
                if ok:
                    latencies.append((end - begin) * 1000)
                    counted += 1
                else:
                    errors += 1

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(user(index, session) for index in range(users)))
    elapsed = min(time.monotonic(), stop_at) - measure_from
    return Result(label, len(latencies), elapsed, percentile(latencies, 0.5),
                  percentile(latencies, 0.95), errors, os.getloadavg()[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (seconds), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        one = pending.pop()
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{one}/task").iterdir():
                children = task / "children"
                if children.is_file():
                    pending += [int(child) for child in children.read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scale",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=8, help="concurrent customers (8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement (20)")
    parser.add_argument("--max-messages", type=int, default=3000,
                        help="upper bound of messages per measurement (3000)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from bot.scaled._services import Frontend, HAProxy, ensure_packages, free_port
    from bot.scaled._topology import Infrastructure, process_rss_mib, start_scaled
    from tests._stack import ensure_test_model
    from tests.scaled.conftest import scaled_env

    args = _parser().parse_args(argv)
    if not (1 <= args.users <= 64 and 1 <= args.seconds <= 120):
        raise SystemExit("--users must be 1..64 and --seconds 1..120")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    ensure_packages()
    model = ensure_test_model()  # the shipped config.yml on the real data (cached)
    work = Path(tempfile.mkdtemp(prefix="paula-bench-scale-"))
    infrastructure = Infrastructure.start(work / "servers")
    stack = None
    single = None
    try:
        stack = start_scaled(work / "scaled", model, infrastructure, rasa=2, actions=1,
                             inbox=1, base_env=scaled_env())
        rasa = stack.of("rasa")
        single = HAProxy(work / "haproxy-one", [
            Frontend("rasa", free_port(), (rasa[0].port,), "/"),
        ])
        single.start()
        time.sleep(2)  # first health checks
        one_url = f"http://127.0.0.1:{single.frontends[0].port}"
        processes = {instance.name: instance.process for instance in stack.instances}
        processes.update({"postgres": infrastructure.postgres.process,
                          "redis": infrastructure.redis.process,
                          "rabbitmq": infrastructure.rabbitmq.process,
                          "haproxy": stack.haproxy.process if stack.haproxy else None,
                          "haproxy-1": single.process})
        pids = {name: process.pid for name, process in processes.items() if process is not None}
        results = []
        cpu_per_message = []
        for url, label in ((one_url, "1 Rasa"), (stack.rasa_url, "2 Rasa")):
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            own = time.process_time()
            result = asyncio.run(load(url, label, args.users, args.seconds, args.max_messages))
            spent = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            spent["load generator"] = time.process_time() - own
            results.append(result)
            cpu_per_message.append({name: 1000 * value / max(1, result.messages)
                                    for name, value in spent.items()})
        print(f"\nLoad: {args.users} concurrent customers, {args.seconds:.0f} s each, "
              f"through haproxy (127.0.0.1), {os.cpu_count()} CPU cores\n")
        print("| Rasa instances | messages | msg/s | p50 ms | p95 ms | errors | load avg |")
        print("|---|---|---|---|---|---|---|")
        for result in results:
            print(f"| {result.label} | {result.messages} | {result.per_second:.1f} | "
                  f"{result.p50_ms:.0f} | {result.p95_ms:.0f} | {result.errors} | "
                  f"{result.load_average:.1f} |")
        if results[0].per_second:
            print(f"\nThroughput ratio 2 vs 1 instance: "
                  f"{results[1].per_second / results[0].per_second:.2f}×")
        print("\nCPU milliseconds per answered message (whole run incl. warm-up, by process):")
        for name in cpu_per_message[0]:
            print(f"  {name:<15} 1 Rasa: {cpu_per_message[0][name]:6.1f}   "
                  f"2 Rasa: {cpu_per_message[1][name]:6.1f}")
        for result, spent in zip(results, cpu_per_message, strict=True):
            print(f"  total ({result.label}): {sum(spent.values()):.0f} ms CPU per message "
                  f"-> at most {2000 / max(1.0, sum(spent.values())):.0f} msg/s on 2 cores")
        print("\nResident memory after the runs (MiB):")
        for instance in stack.instances:
            assert instance.process is not None
            print(f"  {instance.name:<9} {process_rss_mib(instance.process.pid):7.0f}")
        for name, process in (("postgres", infrastructure.postgres.process),
                              ("redis", infrastructure.redis.process),
                              ("rabbitmq", infrastructure.rabbitmq.process),
                              ("haproxy", stack.haproxy.process if stack.haproxy else None)):
            if process is not None:
                print(f"  {name:<9} {process_rss_mib(process.pid):7.0f}  (incl. children)")
        return 0
    finally:
        if single is not None:
            single.stop()
        if stack is not None:
            stack.stop()
        infrastructure.stop()


if __name__ == "__main__":
    raise SystemExit(main())

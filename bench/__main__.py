"""``make bench``: NLU accuracy (shipped vs Rasa default), training time, latency, memory."""

from __future__ import annotations

import importlib
import os
import sys
import time

from bot.settings import PROJECT_ROOT


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.monotonic()
    from bench.latency import run_latency_bench
    from bench.nlu import format_nlu_table, run_nlu_bench

    results = run_nlu_bench()
    print("\n## NLU on the held-out split (eval/heldout.yml)\n")
    print(format_nlu_table(results))
    if "--nlu-only" in sys.argv:
        return 0
    print("\n## REST channel (shipped model, 500 messages, one new customer each)\n", flush=True)
    latency = run_latency_bench(results[0].model)
    print(f"| p50 | p95 | messages/s ({4} parallel) | Rasa RSS | action server RSS |")
    print("|---|---|---|---|---|")
    print(
        f"| {latency.p50_ms:.0f} ms | {latency.p95_ms:.0f} ms | "
        f"{latency.messages_per_second:.1f} | {latency.rasa_rss_mb:.0f} MB | "
        f"{latency.actions_rss_mb:.0f} MB |"
    )
    if (PROJECT_ROOT / "bench" / "channels.py").is_file():
        channels = importlib.import_module("bench.channels")
        print("\n## Messenger channels vs REST\n", flush=True)
        channels.run_channel_bench(results[0].model)
    print(f"\nbench finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench``: the shipped config beside the previous one, measured in the same run.

For each config: training time (trained afresh, one after the other), model file size,
held-out figures (eval/heldout.yml), REST p50/p95, messages/s and Rasa server memory after
500 messages; then the messenger channels beside REST on the shipped model.

Options: ``--nlu-only`` (training + held-out only, no servers), ``--shipped-only`` (only
config.yml: about a minute), ``--reuse`` (keep models whose inputs did not change),
``--with-default`` (add Rasa's default config; slow), ``--no-channels``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from typing import List, Optional

from bot.settings import PROJECT_ROOT


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--nlu-only", action="store_true",
                        help="training time, model size and held-out figures only")
    parser.add_argument("--shipped-only", action="store_true", help="only config.yml")
    parser.add_argument("--reuse", action="store_true",
                        help="do not retrain a model whose data and config are unchanged")
    parser.add_argument("--with-default", action="store_true",
                        help="also Rasa's default config (bench/configs/rasa-default.yml)")
    parser.add_argument("--no-channels", action="store_true",
                        help="skip the Telegram/WhatsApp vs REST comparison")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.monotonic()
    from bench.latency import MESSAGES, run_latency_bench
    from bench.nlu import format_nlu_table, run_nlu_bench

    keys = ["shipped"] if args.shipped_only else ["shipped", "previous"]
    if args.with_default:
        keys.append("rasa-default")
    load = os.getloadavg()[0]
    print(f"bench: {', '.join(keys)}; load average {load:.1f} on {os.cpu_count()} cores",
          flush=True)
    results = run_nlu_bench(keys, reuse=args.reuse)
    print("\n## NLU on the held-out split (eval/heldout.yml)\n")
    print(format_nlu_table(results))
    if args.nlu_only:
        print(f"\nbench finished in {time.monotonic() - started:.0f} s")
        return 0
    print(f"\n## REST channel ({MESSAGES} messages one after another, a new customer each; "
          f"then {MESSAGES} with 4 in parallel)\n", flush=True)
    rows = []
    for result in results:
        print(f"[rest] {result.name} …", flush=True)
        latency = run_latency_bench(result.model)
        rows.append(
            f"| {result.name} | {latency.p50_ms:.0f} ms | {latency.p95_ms:.0f} ms | "
            f"{latency.messages_per_second:.1f} | {latency.rasa_rss_mb:.0f} MB | "
            f"{latency.rasa_peak_mb:.0f} MB | {latency.actions_rss_mb:.0f} MB |"
        )
    print(f"| config | p50 | p95 | messages/s (4 parallel) | Rasa RSS after {MESSAGES} | "
          "Rasa peak RSS | action server RSS |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if not args.no_channels and (PROJECT_ROOT / "bench" / "channels.py").is_file():
        channels = importlib.import_module("bench.channels")
        print(f"\n## Messenger channels vs REST ({results[0].name})\n", flush=True)
        channels.run_channel_bench(results[0].model)
    print(f"\nbench finished in {time.monotonic() - started:.0f} s; "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

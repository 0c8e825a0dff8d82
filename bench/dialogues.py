"""``python -m bench.dialogues``: held-out dialogues and conversation-gap figures of a model.

Starts a real Rasa server and action server (tests/_stack.py) on loopback with the given model
(default: the fast test model of the current data), runs every dialogue of eval/dialogues.yml
through the REST webhook and prints which ones went wrong, then the single-message figures of
eval/heldout.yml for the same model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from bot.dialogue_eval import DIALOGUES, DialogueResult, load_dialogues, run_dialogues
from bot.evaluation import evaluate


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="model archive (default: fast test model)")
    parser.add_argument("--dialogues-only", action="store_true")
    parser.add_argument("--dialogues", type=Path, default=DIALOGUES,
                        help="dialogue file (default: the held-out eval/dialogues.yml; "
                             "eval/development_dialogues.yml for diagnosis)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tests._stack import ensure_test_model, start_stack

    model = args.model or ensure_test_model()
    with tempfile.TemporaryDirectory(prefix="paula-dialogues-") as var_dir:
        stack = start_stack(Path(var_dir), model)
        try:

            def show(result: DialogueResult) -> None:
                print(("ok   " if result.right else "FAIL ") + result.explain(), flush=True)

            report = run_dialogues(stack, load_dialogues(args.dialogues), progress=show)
        finally:
            stack.stop()
    print(f"\ndialogues fully right: {report.fully_right_rate:.3f} ({len(report.results)})")
    for category, rate in report.categories().items():
        print(f"  {category}: {rate:.2f}")
    if args.dialogues_only:
        return 0
    summary = evaluate(model).summary()
    print("\nheld-out messages:", {k: round(v, 3) for k, v in summary.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

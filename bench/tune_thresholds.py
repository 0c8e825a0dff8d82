"""Choose the fallback thresholds on the development set, never on the held-out set.

By default a model is trained on all training data and its raw confidences on
``eval/development.yml`` (717 messages written independently of the training data, never
trained on) are re-judged under a grid of thresholds. ``--split`` uses the older way instead:
the training data split 80/20 (seeded, stratified by Rasa), trained on the 80 %, judged on the
20 %. ``eval/heldout.yml`` is never read here. Run: ``.venv/bin/python -m bench.tune_thresholds``
(``--config bench/configs/previous.yml`` for another config; the shipped one trains in
about 30 s, the previous DIET + ResponseSelector one in about 10 minutes).

Rule: the most right FAQ answers while, on the development split, wrong FAQ answers stay at or
below ``--max-wrong`` and out-of-scope questions are kept from FAQ answers at least
``--min-oos-safe`` of the time; ties go to the higher overall accuracy, then to the stricter
(higher) thresholds.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from bot.evaluation import Report, Thresholds, evaluate, load_examples, sweep
from bot.settings import PROJECT_ROOT
from bot.spacy_model import config_uses_spacy, ensure_spacy_model
from bot.training import train

TUNE_DIR = PROJECT_ROOT / "var" / "tune"
GRID = [
    Thresholds(nlu=n, ambiguity=a, answer=t, margin=m)
    for n, a, t, m in itertools.product(
        (0.3, 0.4, 0.5, 0.6),
        (0.0, 0.05, 0.1),
        (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6),
        (0.0, 0.05, 0.1, 0.2, 0.3),
    )
]
MAX_WRONG = 0.01
MIN_OOS_SAFE = 0.95
DEVELOPMENT = PROJECT_ROOT / "eval" / "development.yml"


def dev_split() -> Tuple[Path, Path]:
    out = TUNE_DIR / "split"
    subprocess.run(
        [
            sys.executable, "-m", "rasa", "data", "split", "nlu",
            "--nlu", "data/nlu", "--training-fraction", "0.8", "--random-seed", "7",
            "--out", str(out),
        ],
        cwd=PROJECT_ROOT,
        check=True,
    )
    return out / "training_data.yml", out / "test_data.yml"


def choose(
    results: List[Tuple[Thresholds, Report]],
    max_wrong: float = MAX_WRONG,
    min_oos_safe: float = MIN_OOS_SAFE,
) -> Optional[Tuple[Thresholds, Report]]:
    """The best thresholds within the limits; None if no thresholds keep them."""
    safe = [
        (t, r)
        for t, r in results
        if r.faq_wrong_answer_rate <= max_wrong + 1e-9
        and r.out_of_scope_safe_rate >= min_oos_safe - 1e-9
    ]
    if not safe:
        return None
    return max(safe, key=lambda item: (item[1].faq_accuracy, item[1].overall_accuracy,
                                       item[0].answer, item[0].margin, item[0].nlu,
                                       item[0].ambiguity))


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tune_thresholds")
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--max-wrong", type=float, default=MAX_WRONG,
                        help=f"highest wrong FAQ answer rate on the dev split ({MAX_WRONG})")
    parser.add_argument("--min-oos-safe", type=float, default=MIN_OOS_SAFE,
                        help=f"lowest out-of-scope safe rate on the dev split ({MIN_OOS_SAFE})")
    parser.add_argument("--split", action="store_true",
                        help="judge on 20 %% of the training data instead of "
                             "eval/development.yml")
    return parser.parse_args(argv)


def _model_and_development(config: str, split: bool) -> Tuple[Path, Path]:
    """A model of ``config`` and the messages to judge it on (never the held-out set)."""
    if not split:
        model = train(PROJECT_ROOT, TUNE_DIR / "models", config=config,
                      name="full-" + Path(config).stem, force=True).model
        return model, DEVELOPMENT
    training, development = dev_split()
    split_data = TUNE_DIR / "data"
    split_data.mkdir(parents=True, exist_ok=True)
    (split_data / "nlu.yml").write_text(training.read_text(encoding="utf-8"), encoding="utf-8")
    model = train(
        PROJECT_ROOT,
        TUNE_DIR / "models",
        config=config,
        data=(str(split_data), "data/stories", "data/nlu/regex.yml"),
        name="dev-" + Path(config).stem,
        force=True,
    ).model
    return model, development


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if config_uses_spacy(PROJECT_ROOT / args.config):
        ensure_spacy_model(PROJECT_ROOT / "var" / "spacy_de")
    model, development = _model_and_development(args.config, args.split)
    report = evaluate(model, load_examples(development))
    configured = report.summary()
    print(f"\nas configured in {args.config}: "
          + ", ".join(f"{k} {v:.3f}" for k, v in configured.items()))
    results = sweep(report, GRID)
    print("| nlu | ambiguity | answer | margin | FAQ acc | FAQ wrong | OOS safe | overall |")
    print("|---|---|---|---|---|---|---|---|")
    for limit in (0.01, 0.02, 0.03, 0.05):
        best = choose(results, limit, args.min_oos_safe)
        if best is None:
            print(f"| (no thresholds keep wrong ≤ {limit:.0%}) |||||||")
            continue
        t, r = best
        print(
            f"| {t.nlu} | {t.ambiguity} | {t.answer} | {t.margin} | {r.faq_accuracy:.3f} | "
            f"{r.faq_wrong_answer_rate:.3f} | {r.out_of_scope_safe_rate:.3f} | "
            f"{r.overall_accuracy:.3f} |"
        )
    chosen = choose(results, args.max_wrong, args.min_oos_safe)
    if chosen is None:
        print(f"\nno thresholds keep wrong ≤ {args.max_wrong} and OOS safe ≥ "
              f"{args.min_oos_safe} on the dev split")
        return 1
    print(f"\nchosen (wrong ≤ {args.max_wrong}, OOS safe ≥ {args.min_oos_safe}): {chosen[0]} -> "
          + ", ".join(f"{k} {v:.3f}" for k, v in chosen[1].summary().items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

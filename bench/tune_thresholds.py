"""Choose the fallback thresholds on a development split of the *training* data.

The held-out set in eval/ is never used here. The training NLU data is split 80/20 (seeded,
stratified by Rasa), a model is trained on the 80 %, and its raw confidences on the 20 % are
re-judged under a grid of thresholds. Run: ``.venv/bin/python -m bench.tune_thresholds``.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

from bot.evaluation import Report, Thresholds, evaluate, load_examples, sweep
from bot.settings import PROJECT_ROOT
from bot.spacy_model import ensure_spacy_model
from bot.training import train

TUNE_DIR = PROJECT_ROOT / "var" / "tune"
GRID = [
    Thresholds(nlu=n, ambiguity=a, answer=t, margin=m)
    for n, a, t, m in itertools.product(
        (0.3, 0.4, 0.5, 0.6), (0.0, 0.05, 0.1), (0.3, 0.4, 0.5, 0.6), (0.0, 0.05, 0.1, 0.2)
    )
]


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


def choose(results: List[Tuple[Thresholds, Report]]) -> Tuple[Thresholds, Report]:
    """Most right FAQ answers while wrong answers stay ≤ 1 % and out-of-scope safe ≥ 95 %."""
    safe = [
        (t, r)
        for t, r in results
        if r.faq_wrong_answer_rate <= 0.01 and r.out_of_scope_safe_rate >= 0.95
    ]
    pool = safe or results
    return max(pool, key=lambda item: (item[1].faq_accuracy, item[1].overall_accuracy))


def main() -> int:
    ensure_spacy_model(PROJECT_ROOT / "var" / "spacy_de")
    training, development = dev_split()
    split_data = TUNE_DIR / "data"
    split_data.mkdir(parents=True, exist_ok=True)
    (split_data / "nlu.yml").write_text(training.read_text(encoding="utf-8"), encoding="utf-8")
    model = train(
        PROJECT_ROOT,
        TUNE_DIR / "models",
        data=(str(split_data), "data/stories", "data/nlu/regex.yml"),
        name="dev",
        force=True,
    ).model
    report = evaluate(model, load_examples(development))
    results = sweep(report, GRID)
    print("| nlu | ambiguity | answer | margin | FAQ acc | FAQ wrong | OOS safe | overall |")
    print("|---|---|---|---|---|---|---|---|")
    for t, r in sorted(results, key=lambda x: -x[1].faq_accuracy)[:15]:
        print(
            f"| {t.nlu} | {t.ambiguity} | {t.answer} | {t.margin} | {r.faq_accuracy:.3f} | "
            f"{r.faq_wrong_answer_rate:.3f} | {r.out_of_scope_safe_rate:.3f} | "
            f"{r.overall_accuracy:.3f} |"
        )
    best, best_report = choose(results)
    print(f"\nchosen: {best} -> {best_report.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Held-out accuracy, training time and model size of several configs, trained on the same data.

By default every config is trained afresh in this run (``rasa train --force``, one after the
other), so training times are comparable side by side; ``--reuse`` keeps a model whose inputs
did not change and shows the training time recorded for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

from bot.evaluation import Report, evaluate, load_examples
from bot.settings import PROJECT_ROOT
from bot.spacy_model import ensure_spacy_model
from bot.training import train

BENCH_DIR = PROJECT_ROOT / "var" / "bench"


@dataclass(frozen=True)
class BenchConfig:
    name: str
    path: str


CONFIGS: Dict[str, BenchConfig] = {
    "shipped": BenchConfig("shipped (config.yml)", "config.yml"),
    "previous": BenchConfig("previous (DIET + ResponseSelector)", "bench/configs/previous.yml"),
    "rasa-default": BenchConfig("Rasa default (rasa init)", "bench/configs/rasa-default.yml"),
}
DEFAULT_CONFIGS = ("shipped", "previous")


@dataclass
class ConfigResult:
    name: str
    model: Path
    train_seconds: float
    trained_now: bool
    report: Report

    @property
    def model_mb(self) -> float:
        return self.model.stat().st_size / 1e6


def run_nlu_bench(keys: Sequence[str] = DEFAULT_CONFIGS, reuse: bool = False) -> List[ConfigResult]:
    """Train each config (all first, then evaluate each on the held-out split)."""
    ensure_spacy_model(PROJECT_ROOT / "var" / "spacy_de")  # the previous config needs it
    examples = load_examples()
    trained = []
    for key in keys:
        config = CONFIGS[key]
        print(f"[nlu] training {config.name} ({config.path}) …", flush=True)
        result = train(PROJECT_ROOT, BENCH_DIR / "models", config=config.path, name=key,
                       force=not reuse)
        note = "" if result.trained else " (earlier run, inputs unchanged)"
        print(f"[nlu] {config.name}: trained in {result.seconds:.0f} s{note}", flush=True)
        trained.append((config, result))
    results = []
    for config, result in trained:
        print(f"[nlu] evaluating {config.name} on {len(examples)} held-out messages …", flush=True)
        report = evaluate(result.model, examples)
        results.append(ConfigResult(config.name, result.model, result.seconds, result.trained,
                                    report))
    return results


def format_nlu_table(results: List[ConfigResult]) -> str:
    rows = [
        ("FAQ accuracy (right answer)", "faq_accuracy"),
        ("FAQ wrong answers", "faq_wrong_answer_rate"),
        ("FAQ fell back (ask back / handoff)", "faq_fallback_rate"),
        ("Out-of-scope safe rate", "out_of_scope_safe_rate"),
        ("Other intents accuracy", "intent_accuracy"),
        ("Overall", "overall_accuracy"),
    ]
    header = "| metric | " + " | ".join(r.name for r in results) + " |"
    lines = [header, "|---|" + "---|" * len(results)]
    summaries = [r.report.summary() for r in results]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(f"{s[key]:.3f}" for s in summaries) + " |")
    times = " | ".join(
        f"{r.train_seconds:.0f} s" + ("" if r.trained_now else " (earlier run)") for r in results
    )
    lines.append(f"| training time | {times} |")
    if len(results) > 1 and all(r.trained_now for r in results):
        base = results[0].train_seconds
        ratios = " | ".join(f"{r.train_seconds / base:.1f}×" for r in results)
        lines.append(f"| training time vs {results[0].name} | {ratios} |")
    lines.append("| model file | " + " | ".join(f"{r.model_mb:.1f} MB" for r in results) + " |")
    first = results[0].report
    lines.append("")
    lines.append(
        f"Held-out set: {len(first.predictions)} messages "
        f"({first.faq_total} FAQ, {first.out_of_scope_total} out of scope)."
    )
    confusions = first.confusions(8)
    if confusions:
        lines.append("")
        lines.append(f"Most frequent mistakes of {results[0].name}:")
        lines.extend(f"- {gold} → {got}: {n}" for gold, got, n in confusions)
    return "\n".join(lines)

"""Held-out accuracy of the shipped config vs Rasa's default config, trained on the same data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List

from bot.evaluation import Report, evaluate, load_examples
from bot.settings import PROJECT_ROOT
from bot.spacy_model import ensure_spacy_model
from bot.training import train

BENCH_DIR = PROJECT_ROOT / "var" / "bench"
CONFIGS = {
    "shipped (config.yml)": "config.yml",
    "Rasa default (rasa init)": "bench/configs/rasa-default.yml",
}


@dataclass
class ConfigResult:
    name: str
    model: Path
    train_seconds: float
    report: Report


def run_nlu_bench() -> List[ConfigResult]:
    ensure_spacy_model(PROJECT_ROOT / "var" / "spacy_de")
    examples = load_examples()
    results = []
    for name, config in CONFIGS.items():
        print(f"[nlu] training {name} (skipped if its data and config are unchanged) …", flush=True)
        model_dir = PROJECT_ROOT / "models" if config == "config.yml" else BENCH_DIR / "models"
        model_name = "bergpfad" if config == "config.yml" else Path(config).stem
        trained = train(PROJECT_ROOT, model_dir, config=config, name=model_name)
        seconds = trained.seconds
        print(f"[nlu] evaluating {name} on {len(examples)} held-out messages …", flush=True)
        report = evaluate(trained.model, examples)
        results.append(ConfigResult(name, trained.model, seconds, report))
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
    times = " | ".join(f"{r.train_seconds:.0f} s" for r in results)
    lines.append(f"| training time | {times} |")
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

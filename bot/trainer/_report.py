"""``evaluate``: metrics a trainer can act on, as an HTML report with plots and a Markdown
summary, compared with the last shipped model.

Built on :mod:`bot.evaluation` (the bot's full NLU pipeline, fallbacks included, on labelled
examples; by default the held-out split ``eval/heldout.yml``, which is never trained on).
"""

from __future__ import annotations

import asyncio
import html
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from bot.evaluation import OUT_OF_SCOPE, Example, Prediction, Report, Thresholds, sweep

SWEEP_VALUES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
DEFAULT_THRESHOLDS = Thresholds(nlu=0.4, ambiguity=0.05, answer=0.4, margin=0.05)
METRIC_LABELS = {
    "faq_accuracy": "FAQ accuracy (right answer)",
    "faq_wrong_answer_rate": "FAQ wrong answer rate",
    "faq_fallback_rate": "FAQ fallback rate (asked back / handed over)",
    "out_of_scope_safe_rate": "Out-of-scope safe rate (no FAQ answer)",
    "intent_accuracy": "Intent accuracy (non-FAQ)",
    "overall_accuracy": "Overall accuracy",
}


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    model: Path
    report: Report
    thresholds: Thresholds
    scores: List[LabelScore] = field(default_factory=list)
    sweep_rows: List[Tuple[Thresholds, Dict[str, float]]] = field(default_factory=list)
    baseline: Optional[Dict[str, float]] = None
    baseline_model: str = ""

    @property
    def summary(self) -> Dict[str, float]:
        return self.report.summary()


def judged_label(prediction: Prediction) -> str:
    """The label the bot effectively gave: out-of-scope handled safely counts as right."""
    if prediction.example.label == OUT_OF_SCOPE and prediction.intent != "faq":
        return OUT_OF_SCOPE
    return prediction.predicted_label


def label_scores(report: Report) -> List[LabelScore]:
    gold = Counter(p.example.label for p in report.predictions)
    predicted = Counter(judged_label(p) for p in report.predictions)
    hits = Counter(p.example.label for p in report.predictions
                   if judged_label(p) == p.example.label)
    scores = []
    for label in sorted(gold):
        precision = hits[label] / predicted[label] if predicted[label] else 0.0
        recall = hits[label] / gold[label]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, gold[label]))
    return sorted(scores, key=lambda s: (s.f1, s.label))


def configured_thresholds(config: Path) -> Thresholds:
    """The fallback and answer thresholds in the project's config.yml."""
    try:
        pipeline = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline")
    except OSError:
        return DEFAULT_THRESHOLDS
    values = DEFAULT_THRESHOLDS.__dict__.copy()
    for component in pipeline or []:
        name = str(component.get("name", ""))
        if name == "FallbackClassifier":
            values["nlu"] = float(component.get("threshold", values["nlu"]))
            values["ambiguity"] = float(component.get("ambiguity_threshold",
                                                      values["ambiguity"]))
        elif name.endswith("AnswerConfidenceGuard"):
            values["answer"] = float(component.get("threshold", values["answer"]))
            values["margin"] = float(component.get("margin", values["margin"]))
    return Thresholds(**values)


def predict(model: Path, examples: Sequence[Example], progress: bool = True) -> Report:
    """Like :func:`bot.evaluation.evaluate`, with a progress counter on stderr."""
    from bot.evaluation import _prediction

    async def run() -> List[Prediction]:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
        logging.getLogger("rasa").setLevel(logging.WARNING)
        agent = Agent.load(str(model))
        predictions = []
        for number, example in enumerate(examples, start=1):
            predictions.append(_prediction(example, await agent.parse_message(example.text)))
            if progress and (number % 10 == 0 or number == len(examples)):
                print(f"\r  evaluated {number}/{len(examples)}", end="", file=sys.stderr,
                      flush=True)
        if progress:
            print(file=sys.stderr)
        return predictions

    return Report(predictions=asyncio.run(run()))


def build(model: Path, report: Report, thresholds: Thresholds,
          baseline: Optional[Dict[str, float]] = None, baseline_model: str = "") -> Evaluation:
    grid = [
        Thresholds(nlu=n, ambiguity=thresholds.ambiguity, answer=a, margin=thresholds.margin)
        for n in SWEEP_VALUES for a in SWEEP_VALUES
    ]
    rows = [(t, r.summary()) for t, r in sweep(report, grid)]
    return Evaluation(model=model, report=report, thresholds=thresholds,
                      scores=label_scores(report), sweep_rows=rows,
                      baseline=baseline, baseline_model=baseline_model)


# --- plots ----------------------------------------------------------------------------------

def _plots(evaluation: Evaluation, out: Path) -> Dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {}
    predictions = evaluation.report.predictions
    right = [p.raw_confidence for p in predictions if judged_label(p) == p.example.label]
    wrong = [p.raw_confidence for p in predictions if judged_label(p) != p.example.label]
    answer_right = [p.answer_confidence or 0.0 for p in predictions
                    if p.example.label.startswith("faq/") and p.topic == p.example.label]
    answer_wrong = [p.answer_confidence or 0.0 for p in predictions
                    if p.example.label.startswith("faq/") and p.topic
                    and p.topic != p.example.label]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    bins = [i / 20 for i in range(21)]
    axes[0].hist([right, wrong], bins=bins, stacked=True, color=["#2e7d32", "#c62828"],
                 label=["right", "wrong"])
    axes[0].axvline(evaluation.thresholds.nlu, color="black", linestyle="--", label="threshold")
    axes[0].set_title("Intent confidence")
    axes[0].legend()
    axes[1].hist([answer_right, answer_wrong], bins=bins, stacked=True,
                 color=["#2e7d32", "#c62828"], label=["right topic", "wrong topic"])
    axes[1].axvline(evaluation.thresholds.answer, color="black", linestyle="--",
                    label="threshold")
    axes[1].set_title("FAQ answer confidence")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(out / "confidence.png", dpi=90)
    plt.close(figure)
    files["confidence"] = "confidence.png"

    figure, axis = plt.subplots(figsize=(6, 4))
    for nlu in SWEEP_VALUES:
        rows = [s for t, s in evaluation.sweep_rows if t.nlu == nlu]
        axis.plot([s["faq_wrong_answer_rate"] * 100 for s in rows],
                  [(1 - s["faq_fallback_rate"]) * 100 for s in rows],
                  marker="o", markersize=3, label=f"fallback {nlu:.1f}")
    current = evaluation.summary
    axis.plot([current["faq_wrong_answer_rate"] * 100],
              [(1 - current["faq_fallback_rate"]) * 100], "k*", markersize=14, label="now")
    axis.set_xlabel("wrong FAQ answers (%)")
    axis.set_ylabel("FAQ questions answered (%)")
    axis.set_title("Threshold sweep: coverage vs wrong answers")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "sweep.png", dpi=90)
    plt.close(figure)
    files["sweep"] = "sweep.png"
    return files


# --- writing --------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _delta(value: float, before: Optional[float]) -> str:
    if before is None:
        return ""
    change = (value - before) * 100
    return f"{change:+.1f} pp"


def _best_sweep(
    evaluation: Evaluation, max_wrong: float = 0.03
) -> List[Tuple[Thresholds, Dict[str, float]]]:
    """Threshold pairs with at most ``max_wrong`` wrong answers, most coverage first."""
    ok = [(t, s) for t, s in evaluation.sweep_rows if s["faq_wrong_answer_rate"] <= max_wrong]
    return sorted(ok, key=lambda row: (row[1]["faq_fallback_rate"],
                                       row[1]["faq_wrong_answer_rate"]))[:5]


def markdown(evaluation: Evaluation) -> str:
    s, base = evaluation.summary, evaluation.baseline or {}
    lines = [
        f"# Evaluation of {evaluation.model.name}",
        "",
        f"{int(s['examples'])} held-out examples, evaluated {datetime.now():%Y-%m-%d %H:%M}.",
        f"Thresholds: fallback {evaluation.thresholds.nlu}, ambiguity "
        f"{evaluation.thresholds.ambiguity}, answer {evaluation.thresholds.answer}, margin "
        f"{evaluation.thresholds.margin}.",
        "",
        "| Metric | Value | vs last shipped |" if base else "| Metric | Value |",
        "|---|---|---|" if base else "|---|---|",
    ]
    for key, title in METRIC_LABELS.items():
        row = f"| {title} | {_pct(s[key])} |"
        lines.append(row + f" {_delta(s[key], base.get(key))} |" if base else row)
    if evaluation.baseline_model:
        lines += ["", f"Last shipped model: {evaluation.baseline_model}"]
    lines += ["", "## Weakest intents and topics (F1)", "",
              "| Label | Precision | Recall | F1 | n |", "|---|---|---|---|---|"]
    for score in evaluation.scores[:10]:
        lines.append(f"| {score.label} | {score.precision:.2f} | {score.recall:.2f} | "
                     f"{score.f1:.2f} | {score.support} |")
    lines += ["", "## Most confused pairs", "", "| Expected | Got | Count |", "|---|---|---|"]
    for gold, got, count in evaluation.report.confusions(10):
        lines.append(f"| {gold} | {got} | {count} |")
    lines += ["", "## Threshold suggestions (≤ 3 % wrong answers, most answered first)", "",
              "| Fallback | Answer | Answered | Wrong | OOS safe |", "|---|---|---|---|---|"]
    for t, rates in _best_sweep(evaluation):
        lines.append(f"| {t.nlu:.1f} | {t.answer:.1f} | {_pct(1 - rates['faq_fallback_rate'])} | "
                     f"{_pct(rates['faq_wrong_answer_rate'])} | "
                     f"{_pct(rates['out_of_scope_safe_rate'])} |")
    return "\n".join(lines) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;
text-align:left}th{background:#f3f3f3}img{max-width:100%}.bad{color:#c62828}"""


def html_report(evaluation: Evaluation, plots: Dict[str, str]) -> str:
    s, base = evaluation.summary, evaluation.baseline or {}
    metric_rows = [
        (title, _pct(s[key]), _delta(s[key], base.get(key)) if base else "–")
        for key, title in METRIC_LABELS.items()
    ]
    score_rows = [(x.label, f"{x.precision:.2f}", f"{x.recall:.2f}", f"{x.f1:.2f}", x.support)
                  for x in evaluation.scores]
    sweep_rows = [
        (f"{t.nlu:.1f}", f"{t.answer:.1f}", _pct(1 - r["faq_fallback_rate"]),
         _pct(r["faq_wrong_answer_rate"]), _pct(r["out_of_scope_safe_rate"]))
        for t, r in evaluation.sweep_rows
    ]
    wrong = [
        (p.example.text, p.example.label, judged_label(p), f"{p.raw_confidence:.2f}")
        for p in evaluation.report.predictions if judged_label(p) != p.example.label
    ]
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Evaluation "
        f"{html.escape(evaluation.model.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation of {html.escape(evaluation.model.name)}</h1>",
        f"<p>{int(s['examples'])} held-out examples. Compared with: "
        f"{html.escape(evaluation.baseline_model or 'no shipped model yet')}.</p>",
        _table(["Metric", "Value", "vs last shipped"], metric_rows),
        "<h2>Confidence</h2>",
        f"<img src='{plots['confidence']}' alt='confidence histogram'>",
        "<h2>Threshold sweep</h2>",
        f"<img src='{plots['sweep']}' alt='threshold sweep'>",
        _table(["Fallback threshold", "Answer threshold", "FAQ answered", "Wrong answers",
                "OOS safe"], sweep_rows),
        "<h2>Per intent / topic (weakest first)</h2>",
        _table(["Label", "Precision", "Recall", "F1", "n"], score_rows),
        "<h2>Most confused pairs</h2>",
        _table(["Expected", "Got", "Count"], evaluation.report.confusions(15)),
        "<h2>Every miss</h2>",
        _table(["Message", "Expected", "Got", "Confidence"], wrong),
        "</body></html>",
    ]
    return "\n".join(parts)


def write(evaluation: Evaluation, out: Path) -> Dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(evaluation, out)
    files = {
        "html": out / "index.html",
        "markdown": out / "summary.md",
        "json": out / "metrics.json",
    }
    files["html"].write_text(html_report(evaluation, plots), encoding="utf-8")
    files["markdown"].write_text(markdown(evaluation), encoding="utf-8")
    files["json"].write_text(json.dumps({
        "model": str(evaluation.model),
        "summary": evaluation.summary,
        "baseline": evaluation.baseline,
        "labels": [s.__dict__ for s in evaluation.scores],
    }, indent=2) + "\n", encoding="utf-8")
    for name, file in plots.items():
        files[name] = out / file
    return files

"""``ship`` and ``rollback``: a new model into the running Rasa server, only if it is no worse.

train → evaluate on the held-out split → compare with the running model → refuse with the
reason if FAQ accuracy or the out-of-scope safe rate dropped by more than the tolerance →
``PUT /model`` (Rasa swaps the agent in place: no downtime) → record, keeping the previous
model file for ``rollback``. History: ``<model_dir>/shipped/history.json``.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.errors import BotError
from bot.evaluation import load_examples
from bot.rasa_auth import auth_headers
from bot.trainer._project import Project, TrainerError
from bot.trainer._report import Evaluation, build, configured_thresholds, predict

GUARDED_METRICS = ("faq_accuracy", "out_of_scope_safe_rate")
DEFAULT_TOLERANCE = 0.02


class RasaServerError(BotError):
    """The running Rasa server could not be reached or refused a request."""


class RasaServer:
    """The two calls of Rasa's HTTP API that shipping needs."""

    def __init__(self, url: str, token: str, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Content-Type": "application/json", **auth_headers(self.token)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise RasaServerError(
                f"Rasa at {self.url} answered {method} {path} with {error.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise RasaServerError(
                f"the Rasa server at {self.url} does not answer ({error}); start it with "
                f"`python -m bot run` or set RASA_PORT/RASA_TOKEN"
            ) from None
        return json.loads(raw) if raw else None

    def status(self) -> Dict[str, Any]:
        status: Dict[str, Any] = self._request("GET", "/status")
        return status

    def running_model(self) -> str:
        """The file name of the model the server is answering with."""
        return str(self.status().get("model_file") or "")

    def load(self, model: Path) -> None:
        self._request("PUT", "/model", {"model_file": str(model.resolve())})
        now = self.running_model()
        if Path(now).name != model.name:
            raise RasaServerError(f"Rasa still runs {now} after loading {model.name}")


class RasaCluster:
    """Several Rasa instances (behind a load balancer) that must all run the same model.

    ``load`` loads the model into each instance in turn; if one refuses, the instances already
    switched are put back on the model they ran, so no mix of models keeps answering."""

    def __init__(self, servers: List[RasaServer]) -> None:
        if not servers:
            raise ValueError("a Rasa cluster needs at least one server")
        self.servers = servers

    def running_model(self) -> str:
        """The model all instances run; an error when they disagree."""
        models = {server.url: server.running_model() for server in self.servers}
        names = {Path(model).name for model in models.values()}
        if len(names) > 1:
            listing = ", ".join(f"{url}: {Path(model).name or '(none)'}"
                                for url, model in models.items())
            raise RasaServerError(f"the Rasa instances run different models ({listing}); "
                                  "load one model into all of them first")
        return next(iter(models.values()))

    def load(self, model: Path) -> None:
        before = {server.url: server.running_model() for server in self.servers}
        switched: List[RasaServer] = []
        for server in self.servers:
            try:
                server.load(model)
            except RasaServerError:
                for done in switched:
                    if before[done.url]:
                        try:
                            done.load(Path(before[done.url]))
                        except RasaServerError:
                            pass
                raise
            switched.append(server)


@dataclass
class History:
    path: Path
    entries: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, model_dir: Path) -> "History":
        path = model_dir / "shipped" / "history.json"
        entries: List[Dict[str, Any]] = []
        if path.is_file():
            try:
                entries = list(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                raise TrainerError(f"{path} is damaged; fix or remove it") from None
        return cls(path, entries)

    def add(self, **entry: Any) -> Dict[str, Any]:
        entry = {"at": datetime.now().isoformat(timespec="seconds"), **entry}
        self.entries.append(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.path)
        return entry

    def current(self) -> Optional[Dict[str, Any]]:
        """The latest shipped or rolled-back-to model."""
        for entry in reversed(self.entries):
            if entry["action"] in ("ship", "rollback"):
                return entry
        return None

    def metrics_for(self, model: str) -> Optional[Dict[str, float]]:
        for entry in reversed(self.entries):
            if Path(entry.get("model", "")).name == Path(model).name and entry.get("metrics"):
                return dict(entry["metrics"])
        return None


@dataclass
class ShipOutcome:
    shipped: bool
    candidate: Path
    candidate_metrics: Dict[str, float]
    baseline: str
    baseline_metrics: Optional[Dict[str, float]]
    reasons: List[str]
    train_seconds: float = 0.0
    # Wall time of each step (train, evaluate, load) and of the whole ship, in seconds.
    steps: Dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return self.steps.get("total", 0.0)

    def timing(self) -> str:
        """One line for the trainer: "end to end 48 s (train 21 s, evaluate 19 s, load 8 s)"."""
        parts = [f"{name} {self.steps[name]:.0f} s"
                 for name in ("train", "evaluate", "load") if name in self.steps]
        return f"end to end {self.total_seconds:.0f} s ({', '.join(parts)})"


def compare(candidate: Dict[str, float], baseline: Optional[Dict[str, float]],
            tolerance: float) -> List[str]:
    """Why the candidate must not replace the baseline (empty: it may)."""
    if not baseline:
        return []
    reasons = []
    for key in GUARDED_METRICS:
        drop = baseline[key] - candidate[key]
        if drop > tolerance + 1e-9:
            reasons.append(
                f"{key.replace('_', ' ')} dropped from {baseline[key]:.1%} to {candidate[key]:.1%} "
                f"({drop * 100:.1f} pp > tolerance {tolerance * 100:.1f} pp)"
            )
    return reasons


def locate_model(name: str, model_dir: Path, history: History) -> Optional[Path]:
    """The file of a running model, known by its file name only."""
    for entry in reversed(history.entries):
        for key in ("model", "previous"):
            path = Path(entry.get(key) or "")
            if path.name == Path(name).name and path.is_file():
                return path
    for candidate in sorted(model_dir.rglob(Path(name).name)):
        if candidate.is_file():
            return candidate
    return None


def evaluate_model(project: Project, model: Path, heldout: Path,
                   baseline: Optional[Dict[str, float]] = None,
                   baseline_model: str = "") -> Evaluation:
    examples = load_examples(heldout)
    report = predict(model, examples)
    return build(model, report, configured_thresholds(project.root / "config.yml"),
                 baseline=baseline, baseline_model=baseline_model)


def ship(
    project: Project,
    server: "RasaServer | RasaCluster",
    model_dir: Path,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    heldout: Optional[Path] = None,
    config: str = "config.yml",
    report_dir: Optional[Path] = None,
) -> ShipOutcome:
    from bot.trainer._report import write
    from bot.training import train

    started = time.monotonic()
    steps: Dict[str, float] = {}
    heldout = heldout or project.heldout
    if not heldout.is_file():
        raise TrainerError(f"no held-out examples at {heldout}")
    history = History.open(model_dir)
    running = server.running_model()  # fails early if the server is not there
    shipped_dir = model_dir / "shipped"
    print(f"Running model: {running or '(none)'}. Training the candidate …", flush=True)
    step = time.monotonic()
    trained = train(project.root, shipped_dir, config=config, name="candidate")
    steps["train"] = time.monotonic() - step
    print(f"Candidate trained in {trained.seconds:.0f} s"
          f"{'' if trained.trained else ' (earlier run, inputs unchanged)'}", flush=True)
    step = time.monotonic()

    baseline_path = locate_model(running, model_dir, history) if running else None
    baseline_metrics = history.metrics_for(running) if running else None
    if running and baseline_metrics is None:
        if baseline_path is None:
            raise TrainerError(
                f"cannot find the running model {running} under {model_dir} to compare with"
            )
        print(f"Evaluating the running model {baseline_path.name} …", flush=True)
        baseline_metrics = evaluate_model(project, baseline_path, heldout).summary
    print("Evaluating the candidate …", flush=True)
    evaluation = evaluate_model(project, trained.model, heldout, baseline_metrics, running)
    if report_dir is not None:
        write(evaluation, report_dir)
    steps["evaluate"] = time.monotonic() - step
    print(f"Evaluated in {steps['evaluate']:.0f} s", flush=True)
    metrics = evaluation.summary
    reasons = compare(metrics, baseline_metrics, tolerance)
    outcome = ShipOutcome(False, trained.model, metrics, running, baseline_metrics, reasons,
                          trained.seconds, steps)
    if reasons:
        history.add(action="refused", model=str(trained.model), previous=str(baseline_path or ""),
                    metrics=metrics, reasons=reasons)
        steps["total"] = time.monotonic() - started
        return outcome
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    release = shipped_dir / f"bergpfad-{stamp}.tar.gz"
    shutil.copy2(trained.model, release)
    previous = None
    if baseline_path is not None:
        previous = baseline_path
        if baseline_path.parent.resolve() != shipped_dir.resolve():
            previous = shipped_dir / f"previous-{stamp}-{baseline_path.name}"
            shutil.copy2(baseline_path, previous)  # kept even if models/ is retrained later
    print(f"Loading {release.name} into the running server …", flush=True)
    step = time.monotonic()
    server.load(release)
    steps["load"] = time.monotonic() - step
    history.add(action="ship", model=str(release), previous=str(previous or ""),
                metrics=metrics, baseline_metrics=baseline_metrics)
    outcome.shipped = True
    outcome.candidate = release
    steps["total"] = time.monotonic() - started
    return outcome


def rollback(server: "RasaServer | RasaCluster", model_dir: Path) -> Path:
    """Load the model that ran before the current one back into the server."""
    history = History.open(model_dir)
    current = history.current()
    if current is None or not current.get("previous"):
        raise TrainerError("nothing to roll back to: no model was shipped with a predecessor")
    previous = Path(current["previous"])
    if not previous.is_file():
        raise TrainerError(f"the previous model {previous} is gone; cannot roll back")
    server.load(previous)
    earlier = history.metrics_for(str(previous)) or current.get("baseline_metrics")
    # the one before ``previous`` becomes the next rollback target
    before = next((e.get("previous") for e in reversed(history.entries)
                   if e["action"] in ("ship", "rollback")
                   and Path(e.get("model", "")).name == previous.name), "")
    history.add(action="rollback", model=str(previous), previous=before or "",
                metrics=earlier, rolled_back=current.get("model"))
    return previous

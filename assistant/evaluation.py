"""`tenths eval`: every evaluation in one place, each returning a dict of metrics.

Datasets: `gaps` (demo firms whose planted gaps the generator knows), `coding` (labelled narratives
in evals/coding/, held-out split) and `flags` (labelled entries in evals/flags/).
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

GAP_SEEDS = (7, 11, 23)


def run_gap_eval(seeds: tuple[int, ...] = GAP_SEEDS, attorneys: int = 5, month: str = "2026-10") -> dict[str, Any]:
    """Recall and precision of gap keys, and capture-rate error, against the generator's truth."""
    from .demo import generate, write_files
    from .models import Period
    from .pipeline import analyze

    tp = fp = fn = 0
    capture_errors = []
    per_seed = []
    for seed in seeds:
        demo = generate(attorneys=attorneys, month=month, seed=seed)
        with tempfile.TemporaryDirectory(prefix="tenths-eval-") as tmp:
            write_files(demo, Path(tmp))
            truth = demo.truth
            analysis = analyze(tmp, Period(start=truth.period_start, end=truth.period_end))
        found = {(g.timekeeper_id, g.date, g.matter_id) for g in analysis.gaps}
        expected = {(k.timekeeper_id, k.date, k.matter_id) for k in truth.keys if k.gap}
        s_tp, s_fp, s_fn = len(found & expected), len(found - expected), len(expected - found)
        tp, fp, fn = tp + s_tp, fp + s_fp, fn + s_fn
        truth_capture = _truth_capture(truth, analysis.firm.firm.increment_minutes)
        err = abs(analysis.summary["capture_rate"] - truth_capture)
        capture_errors.append(err)
        per_seed.append({"seed": seed, "gaps_expected": len(expected), "gaps_found": len(found), "missed": s_fn,
                         "spurious": s_fp, "capture_rate": analysis.summary["capture_rate"],
                         "truth_capture_rate": round(truth_capture, 4)})
    return {
        "gap_recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "gap_precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "capture_rate_abs_error_max": round(max(capture_errors), 4),
        "seeds": per_seed,
    }


def _truth_capture(truth, increment: int) -> float:
    from .worktime import round_up

    worked = covered = Decimal(0)
    for k in truth.keys:
        w = round_up(k.worked_minutes, increment)
        worked += w
        covered += min(Decimal(str(k.entered_hours)), w)
    return float(covered / worked) if worked else 1.0


def _external(module: str, function: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        return getattr(importlib.import_module(module), function)()
    return run


DATASETS: dict[str, Callable[[], dict[str, Any]]] = {
    "gaps": run_gap_eval,
}


def run(dataset: str | None = None) -> dict[str, Any]:
    names = [dataset] if dataset else list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        from .errors import ConfigError
        raise ConfigError(f"unknown dataset {unknown[0]!r}; choose from {', '.join(DATASETS)}")
    return {name: DATASETS[name]() for name in names}

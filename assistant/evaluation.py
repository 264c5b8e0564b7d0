"""`tenths eval`: every evaluation in one place, each returning a dict of metrics.

Datasets: `gaps` (demo firms whose planted gaps the generator knows), `coding` (labelled narratives
in evals/coding/, held-out split) and `flags` (labelled entries in evals/flags/).
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

GAP_SEEDS = (7, 11, 23)


def run_gap_eval(seeds: tuple[int, ...] = GAP_SEEDS, attorneys: int = 5, month: str = "2026-10") -> dict[str, Any]:
    """Gap keys, capture rate, matching and record counts against the demo generator's planted truth."""
    from .demo import generate, write_files
    from .models import Period
    from .pipeline import analyze

    tp = fp = fn = 0
    match_right = match_wrong = match_queued = queue_expected = queue_found = 0
    capture_errors, amount_errors, per_seed = [], [], []
    records_agree = True
    for seed in seeds:
        demo = generate(attorneys=attorneys, month=month, seed=seed)
        truth = demo.truth
        with tempfile.TemporaryDirectory(prefix="tenths-eval-") as tmp:
            write_files(demo, Path(tmp))
            analysis = analyze(tmp, Period(start=truth.period_start, end=truth.period_end))
        found = {(g.timekeeper_id, g.date, g.matter_id) for g in analysis.gaps}
        expected = {(k.timekeeper_id, k.date, k.matter_id) for k in truth.keys if k.gap}
        s_tp, s_fp, s_fn = len(found & expected), len(found - expected), len(expected - found)
        tp, fp, fn = tp + s_tp, fp + s_fp, fn + s_fn
        # Matching: every planted evidence record must land on its key's matter, never on another.
        by_ref = {(a.source_ref, a.timekeeper_id): a.matter_id for a in analysis.activities}
        for k in truth.keys:
            for ref in k.source_refs:
                got = by_ref.get((ref, k.timekeeper_id), "")
                if got == k.matter_id:
                    match_right += 1
                elif got is None:
                    match_queued += 1
                else:
                    match_wrong += 1
        queued = {c.activity_id for c in analysis.confirm}
        queue_expected += len(truth.confirm)
        queue_found += sum(1 for c in truth.confirm if c.activity_id in queued)
        records_agree &= all(analysis.summary["records"][src] == truth.records[src] for src in truth.records)
        capture_errors.append(abs(analysis.summary["capture_rate"] - truth.capture_rate))
        amount_errors.append(abs(analysis.summary["recoverable_amount"] - float(truth.recoverable_amount)))
        per_seed.append({"seed": seed, "gaps_expected": len(expected), "gaps_found": len(found), "missed": s_fn,
                         "spurious": s_fp, "capture_rate": analysis.summary["capture_rate"],
                         "truth_capture_rate": round(truth.capture_rate, 4),
                         "recoverable_amount": analysis.summary["recoverable_amount"],
                         "truth_recoverable_amount": float(truth.recoverable_amount)})
    evidence = match_right + match_wrong + match_queued
    return {
        "gap_recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "gap_precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "capture_rate_abs_error_max": round(max(capture_errors), 4),
        "recoverable_amount_abs_error_max": round(max(amount_errors), 2),
        "matching_accuracy": round(match_right / evidence, 4) if evidence else 1.0,
        "matching_wrong_assignments": match_wrong,
        "matching_sent_to_queue": match_queued,
        "confirm_queue_recall": round(queue_found / queue_expected, 4) if queue_expected else 1.0,
        "record_counts_match_truth": records_agree,
        "seeds": per_seed,
    }


EVALS_DIR = Path(__file__).resolve().parent.parent / "evals"


def _from_evals(relative: str, function: str) -> Callable[[], dict[str, Any]]:
    """A runner kept beside its labelled data in evals/ (a folder, not part of the installed package)."""
    def run() -> dict[str, Any]:
        path = EVALS_DIR / relative
        spec = importlib.util.spec_from_file_location(f"tenths_evals_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, function)()
    return run


DATASETS: dict[str, Callable[[], dict[str, Any]]] = {
    "gaps": run_gap_eval,
    "coding": _from_evals("coding/run.py", "run"),
    "flags": _from_evals("flags/__init__.py", "run_flags_eval"),
}


def run(dataset: str | None = None) -> dict[str, Any]:
    names = [dataset] if dataset else list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        from .errors import ConfigError
        raise ConfigError(f"unknown dataset {unknown[0]!r}; choose from {', '.join(DATASETS)}")
    return {name: DATASETS[name]() for name in names}

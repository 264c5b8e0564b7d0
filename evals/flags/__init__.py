"""Flags evaluation: the validator's rules against labelled time entries.

`entries.csv` (213 entries, every rule), `holdout.csv` (102) and `holdout2.csv` (82; both: block billing,
vague narratives and non-billable work) hold realistic entries of the small firm in `firm/` (the
time_entries.csv columns plus `expected_rules`, `;`-separated contract rule ids; empty = clean). For
every rule there are positives and hard negatives ("prepare for and attend deposition" is one task;
"Draft complaint" is short but specific; "review court's scheduling order" is not scheduling).
`run_flags_eval()` checks them all
with `assistant.validate.check_entries` and reports per-rule precision, recall and F1.

Honesty note: every file was written by the author of the rules. `entries.csv` was used while
developing them. Each held-out file was written afterwards and scored once before any change; those
first-run figures are the fair estimate of the rules on unseen entries:

| set | block_billing F1 | vague_narrative F1 | non_billable F1 |
| --- | --- | --- | --- |
| holdout (first run) | 1.00 (23 positives) | 0.98 (22; 1 false positive) | 0.93 (14; 1 miss, 1 false positive) |
| holdout2 (first run) | 1.00 (20) | 0.95 (18; 2 false positives) | 0.63 (11; recall 0.45: unseen phrasings of clerical work) |

General fixes followed each run (purpose infinitives in communications, more clerical phrasings:
binders, court reporters, travel arrangements, faxes, fee collection), so all sets now score
higher than they would on new data.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
THRESHOLDS = {"block_billing": 0.9, "vague_narrative": 0.9}
"""F1 targets (issue 4); `passed` in the result says whether they hold."""


DATASETS = ("entries.csv", "holdout.csv", "holdout2.csv")


def run_flags_eval(datasets: tuple[str, ...] | None = None, firm_dir: Path | None = None) -> dict:
    """Per-rule precision/recall/F1 over every dataset together (`rules`) and per file (`sets`)."""
    from assistant.folder import load_firm

    firm = load_firm(firm_dir or HERE / "firm")
    sets = {}
    outcomes: list[tuple[set[str], set[str], str, str]] = []
    for name in datasets or DATASETS:
        result, rows = _run_one(HERE / name if not Path(name).is_absolute() else Path(name), firm)
        sets[Path(name).stem] = result
        outcomes += rows
    rules, mistakes = _score(outcomes)
    return {
        "dataset": "flags",
        "entries": len(outcomes),
        "rules": rules,
        "sets": sets,
        "thresholds": THRESHOLDS,
        "passed": all(rules[r]["f1"] >= t for r, t in THRESHOLDS.items()),
        "mistakes": mistakes,
    }


def _run_one(path: Path, firm) -> tuple[dict, list]:
    from assistant.ingest.entries import parse_time_entries
    from assistant.validate import check_entries

    data = path.read_bytes()
    entries, rejected = parse_time_entries(data, path.name)
    if rejected:
        raise ValueError(f"{path.name}: unreadable rows {[r.source_ref for r in rejected]}")
    expected = {row["entry_id"]: {r for r in row["expected_rules"].split(";") if r}
                for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    found = check_entries(entries, firm)
    rows = [(expected[e.entry_id], {f.rule for f in found[e.entry_id]}, e.entry_id, e.narrative) for e in entries]
    rules, _ = _score(rows)
    return {"entries": len(rows), "rules": {r: {k: v[k] for k in ("precision", "recall", "f1", "positives")}
                                           for r, v in rules.items()}}, rows


def _score(rows: list[tuple[set[str], set[str], str, str]]) -> tuple[dict, list]:
    from assistant.rules import RULE_IDS

    per_rule: dict[str, dict] = {}
    mistakes: list[dict] = []
    for rule in RULE_IDS:
        tp = fp = fn = 0
        for want, got_rules, eid, narrative in rows:
            got = rule in got_rules
            if got and rule in want:
                tp += 1
            elif got or rule in want:
                fp, fn = (fp + 1, fn) if got else (fp, fn + 1)
                mistakes.append({"entry_id": eid, "rule": rule, "narrative": narrative,
                                 "kind": "false_positive" if got else "false_negative"})
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_rule[rule] = {"positives": tp + fn, "tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 3),
                          "recall": round(recall, 3), "f1": round(f1, 3)}
    return per_rule, mistakes


if __name__ == "__main__":
    import json

    print(json.dumps(run_flags_eval(), indent=2))

"""Flags evaluation: the validator's rules against labelled time entries.

`entries.csv` holds realistic entries of the small firm in `firm/` (the time_entries.csv columns plus
`expected_rules`, `;`-separated contract rule ids; empty = clean). For every rule it has positives and
hard negatives ("prepare for and attend deposition" is one task; "Draft complaint" is short but
specific; "review court's scheduling order" is not scheduling). `run_flags_eval()` checks them all
with `assistant.validate.check_entries` and reports per-rule precision, recall and F1.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
THRESHOLDS = {"block_billing": 0.9, "vague_narrative": 0.9}
"""F1 targets (issue 4); `passed` in the result says whether they hold."""


def run_flags_eval(entries_path: Path | None = None, firm_dir: Path | None = None) -> dict:
    from assistant.folder import load_firm
    from assistant.ingest.entries import parse_time_entries
    from assistant.rules import RULE_IDS
    from assistant.validate import check_entries

    entries_path = entries_path or HERE / "entries.csv"
    firm = load_firm(firm_dir or HERE / "firm")
    data = entries_path.read_bytes()
    entries, rejected = parse_time_entries(data, entries_path.name)
    if rejected:
        raise ValueError(f"{entries_path.name}: unreadable rows {[r.source_ref for r in rejected]}")
    expected = {row["entry_id"]: {r for r in row["expected_rules"].split(";") if r}
                for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    found = check_entries(entries, firm)
    predicted = {eid: {f.rule for f in flags} for eid, flags in found.items()}
    narrative = {e.entry_id: e.narrative for e in entries}

    per_rule: dict[str, dict] = {}
    mistakes: list[dict] = []
    for rule in RULE_IDS:
        tp = fp = fn = 0
        for eid, want in expected.items():
            got = rule in predicted.get(eid, set())
            if got and rule in want:
                tp += 1
            elif got:
                fp += 1
                mistakes.append({"entry_id": eid, "rule": rule, "kind": "false_positive", "narrative": narrative[eid]})
            elif rule in want:
                fn += 1
                mistakes.append({"entry_id": eid, "rule": rule, "kind": "false_negative", "narrative": narrative[eid]})
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_rule[rule] = {"positives": tp + fn, "tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 3),
                          "recall": round(recall, 3), "f1": round(f1, 3)}
    return {
        "dataset": "flags",
        "entries": len(entries),
        "rules": per_rule,
        "thresholds": THRESHOLDS,
        "passed": all(per_rule[r]["f1"] >= t for r, t in THRESHOLDS.items()),
        "mistakes": mistakes,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run_flags_eval(), indent=2))

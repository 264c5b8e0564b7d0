# Vendored copy of ../shared/tools/check_outputs.py (2026-11-24), used only when the shared one is not
# beside the checkout (a clean CI clone). The test prefers the live shared tool.
#!/usr/bin/env python3
"""Check that a `tenths analyze` output folder has the contract's shape (CONTRACT.md).

Usage: python ../shared/tools/check_outputs.py OUT [--flags flags.json]

It checks file presence, header columns (in order; extra columns after them are fine), the
summary's keys, and that read = activities + ignored + rejected for every source. It knows nothing
about what the right answers are: it checks shape, not content. Exit 0 when the shape holds.
"""
import csv
import json
import sys
from pathlib import Path

COLUMNS = {
    "activities.csv": "activity_id,source,source_ref,timekeeper_id,start,end,minutes,matter_id,match_confidence,match_reason,title",
    "gaps.csv": "timekeeper_id,date,matter_id,activity_ids,minutes,hours,amount",
    "drafts.csv": "draft_id,date,timekeeper_id,matter_id,hours,narrative,task_code,activity_code,evidence,confidence",
    "confirm_matter.csv": "activity_id,source,source_ref,timekeeper_id,date,title,reason,candidates",
    "rejected.csv": "source,source_ref,status,reason",
}
SUMMARY = ("records", "worked_hours", "entered_hours", "gap_hours", "capture_rate", "recoverable_amount", "timekeepers")
SOURCES = ("calendar", "mail", "calls", "documents")
RULES = {"block_billing", "vague_narrative", "increment", "duplicate", "daily_hours", "invalid_code",
         "missing_code", "rate_mismatch", "closed_matter", "non_billable"}


def check_out(out: Path) -> list[str]:
    bad = []
    for name, cols in COLUMNS.items():
        p = out / name
        if not p.exists():
            bad.append(f"{name}: missing")
            continue
        with p.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        want = cols.split(",")
        if header[: len(want)] != want:
            bad.append(f"{name}: header {','.join(header)} != {cols}")
    try:
        s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001 - any failure is a finding
        return bad + [f"summary.json: unreadable ({e})"]
    bad += [f"summary.json: no '{k}'" for k in SUMMARY if k not in s]
    recs = s.get("records") or {}
    for src in SOURCES:
        r = recs.get(src)
        if not isinstance(r, dict):
            bad.append(f"summary.json records.{src}: missing")
            continue
        try:
            a, i, j, rd = (int(r[k]) for k in ("activities", "ignored", "rejected", "read"))
        except Exception:  # noqa: BLE001
            bad.append(f"summary.json records.{src}: needs read, activities, ignored, rejected")
            continue
        if rd != a + i + j:
            bad.append(f"records.{src}: read {rd} != activities {a} + ignored {i} + rejected {j}")
    cr = s.get("capture_rate")
    if isinstance(cr, (int, float)) and not 0 <= cr <= 1:
        bad.append(f"capture_rate {cr} is not a fraction from 0 to 1")
    return bad


def check_flags(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001
        return [f"{path.name}: unreadable ({e})"]
    if not isinstance(data, list):
        return [f"{path.name}: not a JSON list"]
    bad = []
    for obj in data:
        if not isinstance(obj, dict) or "entry_id" not in obj or not isinstance(obj.get("flags"), list):
            bad.append(f"{path.name}: an object without entry_id and a flags list: {str(obj)[:80]}")
            continue
        for f in obj["flags"]:
            rule = f.get("rule", "")
            if rule not in RULES and not rule.startswith("guideline:"):
                bad.append(f"{obj['entry_id']}: unknown rule id {rule!r}")
            if f.get("severity") not in ("error", "warning"):
                bad.append(f"{obj['entry_id']}: severity {f.get('severity')!r} is not error or warning")
            for k in ("message", "suggestion"):
                if k not in f:
                    bad.append(f"{obj['entry_id']}: flag {rule} has no '{k}'")
    return bad


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    bad = check_out(Path(argv[0]))
    if "--flags" in argv:
        bad += check_flags(Path(argv[argv.index("--flags") + 1]))
    for b in bad:
        print(b)
    print("shape holds" if not bad else f"{len(bad)} shape problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

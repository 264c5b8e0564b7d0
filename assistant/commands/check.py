"""`tenths check FIRM --entries FILE [--expenses FILE] --out flags.json`

Writes a JSON list with one object per entry, in the file's order, then one per expense:
`{"entry_id": ..., "flags": [{"rule", "severity", "message", "suggestion"}, ...]}` (an expense's id is
under `entry_id` too). The file is written atomically. Exit 0 even when there are error flags: the
check itself succeeded; the flags say what blocks export.

A row of the entries (or expenses) CSV that cannot be read — a bad date, hours that are not a
number, an empty required value — is not an entry: it is listed on stderr with its line and reason,
is not in flags.json, and does not change the exit code. A file that cannot be used at all (missing,
not UTF-8, header without the required columns) is a usage error: exit 2, nothing written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import ConfigError
from ..folder import load_firm
from ..ingest.entries import parse_expenses, parse_time_entries
from ..models import Flag
from ..outputs import write_text
from ..validate import check_entries


def run(ns) -> int:
    firm = load_firm(ns.firm)
    entries, rejected = parse_time_entries(_read(ns.entries), Path(ns.entries).name)
    _stop_if_unusable(rejected, Path(ns.entries).name)
    expenses = []
    if ns.expenses:
        expenses, x_rejected = parse_expenses(_read(ns.expenses), Path(ns.expenses).name)
        _stop_if_unusable(x_rejected, Path(ns.expenses).name)
        rejected += x_rejected
    for r in rejected:
        print(f"tenths check: {r.source_ref}: {r.reason} (row not checked, not in {Path(ns.out).name})",
              file=sys.stderr)

    flags = check_entries(entries, firm, expenses=expenses)
    ids = [e.entry_id for e in entries] + [x.expense_id for x in expenses]
    seen: set[str] = set()
    doc = []
    for item_id in ids:
        if item_id in seen:
            continue  # a repeated id carries its `duplicate` flag once
        seen.add(item_id)
        doc.append({"entry_id": item_id, "flags": [flag_json(f) for f in flags.get(item_id, [])]})
    write_text(Path(ns.out), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

    errors = sum(1 for o in doc if any(f["severity"] == "error" for f in o["flags"]))
    warnings = sum(1 for o in doc if o["flags"] and not any(f["severity"] == "error" for f in o["flags"]))
    unread = f", {len(rejected)} unreadable row(s) skipped" if rejected else ""
    print(f"{len(doc)} checked: {errors} with errors, {warnings} with warnings only, "
          f"{len(doc) - errors - warnings} clean{unread} \u2192 {ns.out}")
    return 0


def flag_json(f: Flag) -> dict:
    return {"rule": f.rule, "severity": f.severity, "message": f.message, "suggestion": f.suggestion}


def _read(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"unreadable ({e.strerror})", file=str(path)) from None


def _stop_if_unusable(rejected, name: str) -> None:
    whole = [r for r in rejected if r.source_ref == name]
    if whole:
        raise ConfigError(whole[0].reason.removeprefix(f"{name}: "), file=name)

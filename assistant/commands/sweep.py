"""tenths sweep FIRM --date --out"""

from __future__ import annotations

from pathlib import Path

from ..models import Period
from ..outputs import hours, write_csv, write_text
from ..pipeline import analyze
from ..sweep import build_prompts, render_digest

COLUMNS = ["timekeeper_id", "date", "matter_id", "hours", "narrative", "evidence", "message"]


def run(ns) -> int:
    analysis = analyze(ns.firm, Period(start=ns.date, end=ns.date))
    prompts = build_prompts(analysis)
    out = Path(ns.out)
    write_csv(out / "prompts.csv", COLUMNS, (
        [p.timekeeper_id, p.date.isoformat(), p.matter_id, hours(p.hours), p.narrative, ";".join(p.evidence),
         p.message] for p in prompts))
    write_text(out / "digest.md", render_digest(analysis, prompts))
    print(f"{len(prompts)} prompts for {ns.date} → {out}")
    return 0

"""Benchmark: ingest and match a 30-attorney month, against simply parsing the same files.

    python benchmarks/bench_analyze.py [--attorneys 30] [--month 2026-10] [--dir FIRM] [--workers 2]

Prints JSON: records, seconds for parsing alone, for ingest + matching, and for the full analysis
(gaps, drafts, codes), records per second, peak memory, and the ratio of the full analysis to
parsing alone (targets: ingest and match < 10 s, < 1 GiB, ratio ≤ 2, on a 2-core machine).
Not part of the test suite: timings belong in benchmarks, not in pass/fail tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--attorneys", type=int, default=30)
    p.add_argument("--month", default="2026-10")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--dir", type=Path, default=None, help="an existing firm folder (skips generation)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)

    from assistant import folder
    from assistant.models import Period
    from assistant.matching import match_activities
    from assistant.pipeline import analyze, ingest_sources

    tmp = None
    root = args.dir
    gen_s = None
    if root is None:
        from assistant.demo import write_demo
        tmp = tempfile.TemporaryDirectory(prefix="tenths-bench-")
        root = Path(tmp.name)
        t = time.perf_counter()
        write_demo(root, attorneys=args.attorneys, month=args.month, seed=args.seed)
        gen_s = round(time.perf_counter() - t, 2)
    year, month = map(int, args.month.split("-"))
    start = dt.date(year, month, 1)
    end = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
    period = Period(start=start, end=end)

    import assistant.codes  # noqa: F401 - import cost is not analysis cost
    firm = folder.load_firm(root)
    t = time.perf_counter()
    parsed, counts = ingest_sources(root, firm, period, workers=args.workers)
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    match_activities(parsed.activities, firm)
    match_s = time.perf_counter() - t
    t = time.perf_counter()
    analysis = analyze(root, period, workers=args.workers)
    analyze_s = time.perf_counter() - t
    records = sum(c.read for name, c in analysis.counts.items() if name in ("calendar", "mail", "calls", "documents"))
    out = {
        "attorneys": args.attorneys, "generate_seconds": gen_s,
        "records": {k: v.model_dump() for k, v in counts.items()},
        "parse_seconds": round(parse_s, 2),
        "ingest_and_match_seconds": round(parse_s + match_s, 2),
        "analyze_seconds": round(analyze_s, 2),
        "analyze_over_parse": round(analyze_s / parse_s, 2),
        "records_per_second": round(records / analyze_s),
        "peak_memory_mib": peak_mib(),
        "activities": len(analysis.activities), "gaps": len(analysis.gaps), "drafts": len(analysis.drafts),
    }
    print(json.dumps(out, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

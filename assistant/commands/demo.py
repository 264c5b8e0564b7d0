"""`tenths demo OUT`: write a synthetic firm folder (same seed, same bytes)."""

from __future__ import annotations

import argparse

from ..demo import write_demo


def run(ns: argparse.Namespace) -> int:
    demo = write_demo(ns.out, attorneys=ns.attorneys, month=ns.month, seed=ns.seed,
                      with_truth=bool(getattr(ns, "truth", False)))
    t = demo.truth
    counts = {s: c["read"] for s, c in t.records.items()}
    gaps = sum(1 for k in t.keys if k.gap)
    print(f"Wrote a demo firm to {ns.out}: {t.attorneys} attorneys, {t.period_start:%B %Y}; "
          f"{counts['calendar']} events, {counts['mail']} emails, {counts['calls']} calls, "
          f"{counts['documents']} document sessions; {len(t.keys)} worked days-and-matters, {gaps} with unentered time "
          f"(capture rate {t.capture_rate:.1%}).")
    return 0

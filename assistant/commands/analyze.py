"""tenths analyze FIRM --from --to --out"""

from __future__ import annotations

import sys

from ..engines import get_engine
from ..errors import ConfigError
from ..models import Period
from ..outputs import write_outputs
from ..pipeline import analyze
from ..progress import TqdmProgress
from ..settings import load_settings


def run(ns) -> int:
    if ns.date_to < ns.date_from:
        raise ConfigError(f"--to {ns.date_to} is before --from {ns.date_from}")
    engine = get_engine(load_settings())
    with TqdmProgress(disable=ns.quiet or not sys.stderr.isatty()) as progress:
        analysis = analyze(ns.firm, Period(start=ns.date_from, end=ns.date_to), engine=engine, progress=progress)
    write_outputs(analysis, ns.out)
    s = analysis.summary
    print(f"{s['worked_hours']:.1f} h worked, {s['entered_hours']:.1f} h entered, {s['gap_hours']:.1f} h missing "
          f"(capture {s['capture_rate']:.1%}); recoverable {s['recoverable_amount']:,.2f} {s['currency']}; "
          f"{len(analysis.drafts)} drafts, {len(analysis.confirm)} to confirm, "
          f"{len(analysis.rejections)} left out → {ns.out}")
    return 0

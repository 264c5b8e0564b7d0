"""tenths eval [--dataset NAME]"""

from __future__ import annotations

import json

from ..evaluation import run as run_evals


def run(ns) -> int:
    print(json.dumps(run_evals(ns.dataset), indent=2, default=str))
    return 0

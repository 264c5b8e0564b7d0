"""Coding evaluation: train on the `train` split of narratives.csv, score the held-out `test` split.

    python evals/coding/run.py        # prints the metrics as JSON

The function is `assistant.coder.run_coding_eval()`; `tenths eval` calls it.
"""

from __future__ import annotations

import json
import sys

from assistant.coder import run_coding_eval

TARGETS = {"task_top1": 0.85, "activity_top1": 0.90}


def run() -> dict:
    metrics = run_coding_eval()
    metrics["targets"] = TARGETS
    metrics["meets_targets"] = all(metrics[k] is not None and metrics[k] >= v for k, v in TARGETS.items())
    return metrics


if __name__ == "__main__":
    result = run()
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["meets_targets"] else 1)

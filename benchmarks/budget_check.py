"""Time ``AutoClassifier.fit`` alone (imports done first) against its budget.

    python benchmarks/budget_check.py 60 credit_data default ...   # budget, dataset names

Datasets come from ../shared/datasets (beside the repository). One line per dataset:
fit wall time, how far over (or under) the budget, trials run, 1-minute load average.
The promise checked: fit returns within time_budget + max(5 %, 2 s).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

import automl.estimators  # noqa: F401 - imported before the clock starts
from automl import AutoClassifier

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def main(budget: float, names: list[str]) -> None:
    meta = {d["name"]: d for d in json.loads((DATASETS / "manifest.json").read_text())["datasets"]}
    for name in names:
        entry = meta[name]
        frame = pd.read_csv(DATASETS / entry["file"])
        y = frame.pop(entry["target"])
        start = time.monotonic()
        clf = AutoClassifier(time_budget=budget, n_jobs=2, random_state=0).fit(frame, y)
        wall = time.monotonic() - start
        print(f"{name}: budget {budget:g} s, fit {wall:.2f} s, over {wall - budget:+.2f} s, "
              f"trials {len(clf.trials_)}, load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(float(sys.argv[1]), sys.argv[2:])

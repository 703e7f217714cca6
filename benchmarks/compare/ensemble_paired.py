"""Ensemble against single best from the *same* search: a paired check of issue 9's ensemble.

The ablation variant ``automl_no_ensemble`` runs a second search, so its difference from
ours in full mixes the ensemble's effect with the search's run-to-run noise (which trials
finish in the budget). Here each (dataset, split) is searched once with ours in full, and
the holdout score of what ``predict_proba`` uses (the ensemble when the search chose it)
is compared with that of ``best_pipeline_`` (the single best pipeline). Same splits and
metrics as the side-by-side benchmark (``amlbench``); ``random_state`` = split.

Run with ours' environment (it imports ``automl`` directly), one job at a time:

    PY=benchmarks/compare/.envs/automl/bin/python
    $PY benchmarks/compare/ensemble_paired.py run --budget 10 --splits 3 \\
        --out benchmarks/compare/results/ensemble_paired_10s.jsonl
    $PY benchmarks/compare/ensemble_paired.py summary \\
        --out benchmarks/compare/results/ensemble_paired_10s.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from amlbench.data import load_manifest, load_split  # noqa: E402
from amlbench.scoring import HIGHER_IS_BETTER, score  # noqa: E402


def paired_run(name: str, split: int, budget: float) -> dict:
    """Search once; holdout score of the model used by ``predict_proba`` and of the single best."""
    from automl import AutoClassifier

    ds, X, y, train, test = load_split(name, split)
    classes = sorted(set(y))
    tic = time.perf_counter()
    model = AutoClassifier(time_budget=budget, metric=ds.metric, n_jobs=2, random_state=split,
                           verbose=0).fit(X.iloc[train], y.iloc[train])
    fit = time.perf_counter() - tic
    order = [list(model.classes_).index(c) for c in classes]

    def holdout(estimator: object) -> float:
        proba = np.asarray(estimator.predict_proba(X.iloc[test]))[:, order]
        return float(score(ds.metric, y.iloc[test].to_numpy(), proba, classes))

    return {"dataset": name, "split": split, "budget": budget, "metric": ds.metric,
            "fit_time": round(fit, 2), "used": holdout(model), "single": holdout(model.best_pipeline_),
            "ensemble": model.ensemble_ is not None, "algorithm": model.best_algorithm_,
            "trials": len(model.trials_)}


def summary(rows: pd.DataFrame) -> str:
    """Markdown: where the ensemble was used, how often it beat the single best on holdout."""
    sign = rows["metric"].map(lambda m: 1.0 if HIGHER_IS_BETTER[m] else -1.0)
    rows = rows.assign(gain=(rows["used"] - rows["single"]) * sign)
    used = rows[rows["ensemble"]]
    lines = [f"runs: {len(rows)}; ensemble chosen in {len(used)}",
             f"holdout better than the single best: {int((used['gain'] > 0).sum())}, worse: "
             f"{int((used['gain'] < 0).sum())}, equal: {int((used['gain'] == 0).sum())}",
             f"mean gain {used['gain'].mean():+.4f}, median {used['gain'].median():+.4f} "
             "(metric units; + = the ensemble better)", "",
             "| metric | runs with the ensemble | better | worse | mean gain |", "|---|---|---|---|---|"]
    for metric, part in used.groupby("metric"):
        lines.append(f"| {metric} | {len(part)} | {int((part['gain'] > 0).sum())} | "
                     f"{int((part['gain'] < 0).sum())} | {part['gain'].mean():+.4f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["run", "summary"])
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--datasets", default="all")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.step == "summary":
        rows = pd.DataFrame([json.loads(line) for line in args.out.read_text().splitlines() if line])
        print(summary(rows))
        return
    names = sorted(load_manifest()) if args.datasets == "all" else args.datasets.split(",")
    done = set()
    if args.out.exists():
        done = {(r["dataset"], r["split"]) for r in map(json.loads, args.out.read_text().splitlines())}
    warnings.simplefilter("ignore")
    for split in range(args.splits):
        for name in names:
            if (name, split) in done:
                continue
            row = paired_run(name, split, args.budget)
            print(json.dumps(row), flush=True)
            with args.out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Ablation of the short-budget mechanisms: portfolio, racing, cost model, ensemble.

Runs AutoClassifier on a few development datasets (75/25 stratified holdout, seed 0) at
each budget, once per variant, and appends one JSON line per run to ``--out`` (a rerun
skips the runs already there). ``--table`` prints the Markdown table of a results file.

Variants (all private switches, set on a subclass; nothing else changes):

``full``          built-in portfolio + racing + upper-quartile cost model + ensemble
``no_portfolio``  cheap algorithms' defaults as startup (the earlier naive portfolio)
``no_racing``     every trial runs all its folds
``no_ensemble``   ``ensemble=False``
``min_cost``      the earlier cost rule (an algorithm's fastest time decides if it fits)
``none``          naive portfolio, no racing, no ensemble, earlier cost rule

Examples
--------
    nice -n 10 python benchmarks/portfolio/ablation.py --budgets 30 60 --out results/ablation.jsonl
    python benchmarks/portfolio/ablation.py --table --out results/ablation.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import automl.budget as budget_module  # noqa: E402
from automl import AutoClassifier  # noqa: E402

DATA_DIR = Path("/work/shared/datasets")
VARIANTS = {  # name: (portfolio, racing, ensemble, cautious cost model)
    "full": (True, True, True, True),
    "no_portfolio": (False, True, True, True),
    "no_racing": (True, False, True, True),
    "no_ensemble": (True, True, False, True),
    "min_cost": (True, True, True, False),
    "none": (False, False, False, False),
}


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    meta = {d["name"]: d for d in json.loads((DATA_DIR / "manifest.json").read_text())["datasets"]}
    frame = pd.read_csv(DATA_DIR / meta[name]["file"])
    y = frame.pop(meta[name]["target"]).to_numpy()
    return frame, y


def run(name: str, budget: float, variant: str) -> dict:
    """One fit and its holdout scores, timings and trial counts."""
    use_portfolio, racing, ensemble, cautious = VARIANTS[variant]
    X, y = load(name)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    model_class = type("Variant", (AutoClassifier,),
                       {"_use_portfolio": use_portfolio, "_racing": racing})
    original = budget_module.expected_time
    if not cautious:
        budget_module.expected_time = min
    try:
        clf = model_class(time_budget=budget, n_jobs=1, random_state=0, ensemble=ensemble)
        start = time.time()
        clf.fit(X_tr, y_tr)
        fit_time = time.time() - start
    finally:
        budget_module.expected_time = original
    proba = clf.predict_proba(X_te)
    classes = list(clf.classes_)
    auc = (roc_auc_score(y_te, proba[:, 1]) if len(classes) == 2
           else roc_auc_score(y_te, proba, multi_class="ovr", labels=classes))
    late = [t for t in clf.trials_ if t["started_at"] - start > 0.75 * budget]
    return {"dataset": name, "budget": budget, "variant": variant, "roc_auc": float(auc),
            "log_loss": float(log_loss(y_te, proba, labels=classes)),
            "fit_time": round(fit_time, 2), "n_trials": len(clf.trials_),
            "n_pruned": sum(t["status"] == "pruned" for t in clf.trials_),
            "n_timeout": sum(t["status"] == "timeout" for t in clf.trials_),
            "late_timeouts": sum(t["status"] == "timeout" for t in late),
            "best": clf.best_algorithm_, "ensemble": clf.ensemble_ is not None}


def _markdown(frame: pd.DataFrame) -> str:
    frame = frame.reset_index()
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def table(path: Path) -> str:
    rows = pd.read_json(path, lines=True)
    out = rows.groupby(["budget", "variant"]).agg(
        roc_auc=("roc_auc", "mean"), log_loss=("log_loss", "mean"), fit_time=("fit_time", "mean"),
        trials=("n_trials", "mean"), pruned=("n_pruned", "mean"), timeouts=("n_timeout", "sum"),
        late_timeouts=("late_timeouts", "sum"), runs=("dataset", "size")).round(4)
    detail = rows.pivot_table(index=["budget", "variant"], columns="dataset", values="roc_auc")
    return _markdown(out) + "\n\nHoldout ROC AUC per dataset:\n\n" + _markdown(detail.round(4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["attrition", "oj"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[30.0, 60.0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ablation.jsonl")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table:
        print(table(args.out))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        done = {(r["dataset"], r["budget"], r["variant"])
                for r in map(json.loads, args.out.read_text().splitlines())}
    for budget in args.budgets:
        for name in args.datasets:
            for variant in args.variants:
                if (name, budget, variant) in done:
                    continue
                row = run(name, budget, variant)
                print(json.dumps(row), flush=True)
                with open(args.out, "a") as handle:
                    handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

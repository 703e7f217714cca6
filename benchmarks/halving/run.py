"""Successive halving over data size, on vs off: AutoClassifier side by side.

Each run: one development dataset, 75/25 stratified holdout (seed 0), AutoClassifier with
``n_jobs=1``, ``random_state=0`` and the given budget; ``on`` lowers the halving threshold
(``--min-cells``) so that halving is active on these <= 10k-row datasets, ``off`` sets
``_halving = None``. One JSON line per run is appended to ``--out``; ``--table`` prints
the Markdown table. The two variants of a (dataset, budget) pair run one after the other.

Examples
--------
    nice -n 19 python benchmarks/halving/run.py --datasets lending_club default --budgets 60
    python benchmarks/halving/run.py --table
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from automl import AutoClassifier  # noqa: E402
from automl.halving import HalvingSettings  # noqa: E402

DATA_DIR = Path("/work/shared/datasets")


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A development dataset's features and target."""
    meta = {d["name"]: d for d in json.loads((DATA_DIR / "manifest.json").read_text())["datasets"]}
    frame = pd.read_csv(DATA_DIR / meta[name]["file"])
    y = frame.pop(meta[name]["target"]).to_numpy()
    return frame, y


def run(name: str, budget: float, variant: str, min_cells: int, seed: int) -> dict:
    """One fit and its holdout scores, timing and trial counts."""
    X, y = load(name)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    halving = HalvingSettings(min_cells=min_cells) if variant == "on" else None
    model_class = type("Variant", (AutoClassifier,), {"_halving": halving})
    clf = model_class(time_budget=budget, n_jobs=1, random_state=seed)
    load_before = os.getloadavg()[0]
    start = time.time()
    clf.fit(X_tr, y_tr)
    fit_time = time.time() - start
    proba = clf.predict_proba(X_te)
    classes = list(clf.classes_)
    trials = clf.trials_
    return {"dataset": name, "budget": budget, "variant": variant, "seed": seed,
            "roc_auc": float(roc_auc_score(y_te, proba[:, 1])),
            "log_loss": float(log_loss(y_te, proba, labels=classes)),
            "fit_time": round(fit_time, 2), "n_trials": len(trials),
            "n_full": sum(t.get("stage", "full") == "full" and t["status"] in ("ok", "pruned")
                          for t in trials),
            "n_ok": sum(t["status"] == "ok" for t in trials),
            "n_sub_pruned": sum(t.get("stage") == "subsample" and t["status"] == "pruned"
                                for t in trials),
            "n_race_pruned": sum(t.get("stage", "full") == "full" and t["status"] == "pruned"
                                 for t in trials),
            "n_timeout": sum(t["status"] == "timeout" for t in trials),
            "best": clf.best_algorithm_, "cv_score": clf.best_score_,
            "ensemble": clf.ensemble_ is not None,
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "trials": [[t["algorithm"], t["status"], t.get("stage"), round(t["duration"], 2),
                        round(float(t["score"]), 4), len(t["fold_scores"])] for t in trials]}


def table(path: Path) -> str:
    """Markdown table of every run in ``path``."""
    rows = pd.read_json(path, lines=True)
    cols = ["dataset", "budget", "seed", "variant", "n_trials", "n_full", "n_ok", "n_sub_pruned",
            "n_race_pruned", "n_timeout", "roc_auc", "log_loss", "cv_score", "fit_time", "best",
            "load_before"]
    means = rows.groupby(["dataset", "budget", "variant"]).agg(
        runs=("seed", "size"), n_trials=("n_trials", "mean"), n_full=("n_full", "mean"),
        n_sub_pruned=("n_sub_pruned", "mean"), n_race_pruned=("n_race_pruned", "mean"),
        n_timeout=("n_timeout", "mean"), roc_auc=("roc_auc", "mean"),
        cv_score=("cv_score", "mean"), fit_time=("fit_time", "mean"),
        load_before=("load_before", "mean")).round(4).reset_index()
    runs = rows.sort_values(["dataset", "budget", "seed", "variant"])[cols].round(4)
    return _markdown(means) + "\n\nEvery run:\n\n" + _markdown(runs)


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["lending_club", "default"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[60.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--min-cells", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "runs.jsonl")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table:
        print(table(args.out))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for budget in args.budgets:
            for name in args.datasets:
                for variant in ("on", "off"):
                    row = run(name, budget, variant, args.min_cells, seed)
                    print(json.dumps(row), flush=True)
                    with args.out.open("a") as handle:
                        handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Build the built-in portfolio (``search_spaces/portfolio.json``) from measured trials.

Two steps, both resumable:

``evaluate``
    Candidates = the default configuration of every algorithm of the default space plus
    ``--n-random`` random draws from it (seeded). Each candidate is cross-validated
    (3 folds, the task's default metric) on every dataset with our own machinery
    (:func:`automl.evaluate.evaluate_config` in a :class:`automl.workers.WorkerPool`, so a
    per-evaluation time limit really stops a slow one). Datasets: the development CSVs of
    ``/work/shared/datasets`` plus a few bundled/synthetic scikit-learn ones, each
    subsampled to ``--max-rows``. One JSON line per (candidate, dataset) is appended to
    ``<out>/<kind>_evals.jsonl`` as it finishes; a rerun skips what is there.
``select``
    Per dataset, each candidate's loss is normalised to a regret in [0, 1]:
    ``(loss - best) / (median - best)``, clipped, 1 for a failed or timed-out one. Greedy
    forward selection adds the candidate that most lowers the mean over datasets of the
    best-in-set regret (ties: lower mean regret of its own, then faster), up to
    ``--size`` (a candidate that adds nothing and has a mean regret of its own >= 0.9
    ends the list early); the set is written cheapest first (mean seconds over datasets).
    Candidates the current default space no longer accepts are left out.

Examples
--------
    nice -n 10 python benchmarks/portfolio/build.py evaluate --kind classification
    nice -n 10 python benchmarks/portfolio/build.py evaluate --kind regression
    python benchmarks/portfolio/build.py select --size 24
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from automl.builder import describe_columns  # noqa: E402
from automl.evaluate import SharedTrialData, TrialData, evaluate_config, make_folds  # noqa: E402
from automl.scoring import get_metric  # noqa: E402
from automl.validation import validate_fit_input  # noqa: E402
from automl.workers import WorkerPool  # noqa: E402
from search_spaces import default_space  # noqa: E402

DATA_DIR = Path("/work/shared/datasets")
OUT = Path(__file__).resolve().parent / "results"
TARGET = ROOT / "search_spaces" / "portfolio.json"
USELESS = 0.9   # mean regret of a config that is near the median or worse on almost every dataset
SPACE_TASK = {"classification": "binary", "regression": "regression"}
# imported by the worker before the first evaluation, so no candidate pays for the imports
PRELOAD = ("automl.evaluate", "sklearn.ensemble", "lightgbm", "xgboost")


# ---------------------------------------------------------------------------------------
# datasets


def _subsample(X: pd.DataFrame, y: np.ndarray, max_rows: int, classify: bool,
               seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    if len(y) <= max_rows:
        return X, y
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=max_rows, random_state=seed,
                               stratify=y if classify else None)
    keep = np.sort(keep)
    return X.iloc[keep].reset_index(drop=True), np.asarray(y)[keep]


def _sklearn_sets(kind: str) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    from sklearn import datasets as skd

    if kind == "classification":
        X1, y1 = skd.make_classification(1000, 20, n_informative=6, random_state=1)
        X2, y2 = skd.make_classification(1000, 12, n_informative=8, n_classes=5,
                                         n_clusters_per_class=1, random_state=2)
        X3, y3 = skd.load_digits(return_X_y=True)
        sets = {"synth_binary": (X1, y1), "synth_5class": (X2, y2), "digits": (X3, y3)}
    else:
        X1, y1 = skd.make_friedman1(1000, 10, noise=1.0, random_state=1)
        X2, y2 = skd.load_diabetes(return_X_y=True)
        X3, y3 = skd.make_regression(800, 30, n_informative=10, noise=20.0, random_state=3)
        sets = {"friedman1": (X1, y1), "diabetes": (X2, y2), "synth_linear": (X3, y3)}
    return {name: (pd.DataFrame(X).add_prefix("x"), np.asarray(y)) for name, (X, y) in sets.items()}


def load_datasets(kind: str, max_rows: int) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Name -> (X, y) of every dataset of ``kind``, subsampled to ``max_rows``."""
    manifest = json.loads((DATA_DIR / "manifest.json").read_text())["datasets"]
    wanted = ("binary", "multiclass") if kind == "classification" else ("regression",)
    sets = {}
    for meta in manifest:
        if meta["task"] in wanted:
            frame = pd.read_csv(DATA_DIR / meta["file"])
            sets[meta["name"]] = (frame.drop(columns=[meta["target"]]),
                                  frame[meta["target"]].to_numpy())
    sets.update(_sklearn_sets(kind))
    return {name: _subsample(X, y, max_rows, kind == "classification")
            for name, (X, y) in sets.items()}


def trial_data(X: pd.DataFrame, y: np.ndarray, kind: str) -> TrialData:
    """3-fold TrialData over the default space with the task's default metric."""
    data = validate_fit_input(X, y, task=kind)
    n_classes = 0 if kind == "regression" else len(data.classes_)
    task = "regression" if kind == "regression" else ("binary" if n_classes == 2 else "multiclass")
    folds = make_folds(data.y, task, cv=3, random_state=0)
    return TrialData(data.X, data.y, folds, default_space(task), describe_columns(data.X), task,
                     get_metric(None, task), n_classes)


# ---------------------------------------------------------------------------------------
# candidates and evaluation


def candidates(kind: str, n_random: int, seed: int = 0) -> list[dict]:
    """Every algorithm's default configuration, then ``n_random`` prior draws."""
    space = default_space(SPACE_TASK[kind])
    configs = [space.restrict(include=[name]).default() for name in space.algorithms]
    rng = np.random.default_rng(seed)
    configs += [space.sample(rng) for _ in range(n_random)]
    return configs


def _done(path: Path) -> set[tuple[int, str]]:
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(row["candidate"], row["dataset"]) for row in rows}


def _row(index: int, name: str, result: Any) -> dict:
    value = result.value if result.status == "ok" else None
    status = result.status if value is None else value.status
    return {"candidate": index, "dataset": name, "status": status,
            "loss": None if value is None or not math.isfinite(value.loss) else value.loss,
            "seconds": round(float(result.duration), 3)}


def evaluate(kind: str, n_random: int, max_rows: int, time_limit: float, out: Path) -> None:
    """Evaluate every candidate on every dataset, appending to the checkpoint file."""
    out.mkdir(parents=True, exist_ok=True)
    configs = candidates(kind, n_random)
    (out / f"{kind}_candidates.json").write_text(json.dumps(configs))
    log = out / f"{kind}_evals.jsonl"
    done = _done(log)
    shared = {name: SharedTrialData(trial_data(X, y, kind))
              for name, (X, y) in load_datasets(kind, max_rows).items()}
    try:
        with WorkerPool(1, 1, 2000, preload=PRELOAD) as pool, open(log, "a") as fh:
            for index, config in enumerate(configs):
                for name, data in shared.items():
                    if (index, name) in done:
                        continue
                    pool.submit(evaluate_config, data.path, config, seed=0, time_limit=time_limit)
                    result = _wait(pool)
                    fh.write(json.dumps(_row(index, name, result)) + "\n")
                    fh.flush()
                print(f"{kind}: candidate {index + 1}/{len(configs)} done", flush=True)
    finally:
        for data in shared.values():
            data.close()


def _wait(pool: WorkerPool) -> Any:
    while True:
        results = pool.wait(timeout=None)
        if results:
            return results[0]


# ---------------------------------------------------------------------------------------
# selection


def regret_table(log: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(regret, seconds) tables, candidates x datasets, over complete candidates only."""
    rows = pd.DataFrame([json.loads(line) for line in log.read_text().splitlines() if line.strip()])
    loss = rows.pivot_table(index="candidate", columns="dataset", values="loss", aggfunc="first",
                            dropna=False)
    seconds = rows.pivot_table(index="candidate", columns="dataset", values="seconds")
    complete = seconds.notna().all(axis=1)
    loss, seconds = loss.loc[complete], seconds.loc[complete]
    best, ref = loss.min(), loss.median()
    regret = ((loss - best) / (ref - best).where(ref > best, 1.0)).clip(0.0, 1.0)
    return regret.fillna(1.0), seconds


def greedy(regret: pd.DataFrame, seconds: pd.DataFrame, size: int) -> list[int]:
    """Greedy forward selection minimising the mean best-in-set regret."""
    chosen: list[int] = []
    current = pd.Series(1.0, index=regret.columns)
    own, cost = regret.mean(axis=1), seconds.mean(axis=1)
    while len(chosen) < min(size, len(regret)):
        rest = regret.index.difference(chosen)
        gain = regret.loc[rest].clip(upper=current, axis=1).mean(axis=1)
        key = pd.DataFrame({"gain": gain, "own": own[rest], "cost": cost[rest]})
        pick = int(key.sort_values(["gain", "own", "cost"]).index[0])
        if key.loc[pick, "gain"] >= current.mean() and key.loc[pick, "own"] >= USELESS:
            break   # adds nothing and is worse than the median config almost everywhere
        chosen.append(pick)
        current = np.minimum(current, regret.loc[pick])
        print(f"  + candidate {pick}: mean best-in-set regret {current.mean():.4f}")
    return chosen


def select(out: Path, size: int) -> dict:
    """The portfolio entries of both kinds, cheapest first."""
    result: dict[str, Any] = {"format": 1, "built_by": "benchmarks/portfolio/build.py"}
    for kind in ("classification", "regression"):
        configs = json.loads((out / f"{kind}_candidates.json").read_text())
        regret, seconds = regret_table(out / f"{kind}_evals.jsonl")
        space = default_space(SPACE_TASK[kind])
        valid = [i for i in regret.index if space.is_valid(configs[i])]
        print(f"{kind}: {len(regret)} complete candidates x {regret.shape[1]} datasets; "
              f"{len(regret) - len(valid)} no longer valid in the current space, left out")
        picks = greedy(regret.loc[valid], seconds.loc[valid], size)
        entries = [{"algorithm": space.choice(configs[i]), "config": configs[i],
                    "seconds": round(float(seconds.loc[i].mean()), 3),
                    "mean_regret": round(float(regret.loc[i].mean()), 4)} for i in picks]
        result[kind] = sorted(entries, key=lambda e: e["seconds"])
        result[f"{kind}_datasets"] = list(regret.columns)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["evaluate", "select"])
    parser.add_argument("--kind", choices=list(SPACE_TASK), default="classification")
    parser.add_argument("--n-random", type=int, default=40)
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.step == "evaluate":
        tic = time.process_time()
        evaluate(args.kind, args.n_random, args.max_rows, args.time_limit, args.out)
        print(f"parent CPU {time.process_time() - tic:.0f} s", flush=True)
    else:
        TARGET.write_text(json.dumps(select(args.out, args.size), indent=1) + "\n")
        print(f"wrote {TARGET}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()

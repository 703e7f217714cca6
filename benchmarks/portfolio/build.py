"""Build the built-in portfolio (``search_spaces/portfolio.json``) from measured trials.

Three steps; ``evaluate`` is resumable:

``evaluate``
    Candidates = the default configuration of every algorithm of the default space plus
    ``--n-random`` random draws from it (seeded), kept in ``<kind>_candidates.json``: a
    rerun keeps the stored list and only appends (further draws of the same seeded stream,
    and the current form of stored candidates the default space no longer accepts). Each
    candidate is cross-validated (3 folds, the task's default metric) on every dataset
    with our own machinery (:func:`automl.evaluate.evaluate_config` in a one-worker
    :class:`automl.workers.WorkerPool`). Datasets: the development CSVs of
    ``/work/shared/datasets`` plus a few bundled/synthetic scikit-learn ones, each
    subsampled to ``--max-rows``. Robust to a loaded machine: the worker measures the CPU
    seconds each evaluation uses (``getrusage``) and stops it past ``--cpu-cap`` CPU
    seconds (``RLIMIT_CPU``, status ``cpu_limit``); the wall-clock ``--time-limit`` is
    only a generous backstop. One JSON line per (candidate, dataset) is appended to
    ``<kind>_evals.jsonl``; the last line of a pair wins. A rerun skips the finished
    pairs and re-evaluates the pairs whose last line is a wall-clock ``timeout`` (it may
    have been starvation), those first; ``--remeasure`` also re-evaluates the rows of the
    first build (8 s wall limit, no CPU seconds) after the missing pairs.
``select``
    Per dataset, each candidate's loss is normalised to a regret in [0, 1]:
    ``(loss - best) / (median - best)``, clipped, 1 for a failed one or one above the CPU
    cap. Greedy forward selection adds the candidate that most lowers the mean over
    datasets of the best-in-set regret (ties: lower mean regret of its own, then cheaper),
    up to ``--size`` (a candidate that adds nothing and has a mean regret of its own
    >= 0.9 ends the list early). The set is written in its anytime order
    (:func:`anytime_order`): greedily by the mean best-in-set regret it removes per mean
    CPU second, the order the search evaluates it in; except that the default LightGBM
    configuration, if selected, goes first (:data:`FIRST`).
    Only candidates evaluated on every dataset and valid in the current space take part.
``report``
    In-sample mean best-in-set regret of the naive portfolio, of all defaults and of the
    built one, and a leave-one-dataset-out check of the greedy selection; then the
    anytime check of the order: held-out mean best-so-far regret after T CPU seconds per
    dataset, anytime order against cheapest first.

Examples
--------
    nice -n 19 python benchmarks/portfolio/build.py evaluate --kind classification
    nice -n 19 python benchmarks/portfolio/build.py evaluate --kind regression
    nice -n 19 python benchmarks/portfolio/build.py select --size 24
    nice -n 19 python benchmarks/portfolio/build.py report
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
from automl.search import portfolio as naive_portfolio  # noqa: E402
from automl.validation import validate_fit_input  # noqa: E402
from automl.workers import WorkerPool  # noqa: E402
from search_spaces import default_space  # noqa: E402

DATA_DIR = Path("/work/shared/datasets")
OUT = Path(__file__).resolve().parent / "results"
TARGET = ROOT / "search_spaces" / "portfolio.json"
USELESS = 0.9   # mean regret of a config that is near the median or worse on almost every dataset
# Run first when the greedy set contains its default configuration: the measurements are
# on <= 800-row subsamples, where linear models look cheaper and better than on full
# data, so the anytime order alone would reach a booster late on larger data.
FIRST = "lightgbm"
SPACE_TASK = {"classification": "binary", "regression": "regression"}
KINDS = tuple(SPACE_TASK)
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


def algorithm_defaults(space: Any) -> list[dict]:
    """The default configuration of every algorithm of ``space``, in its order."""
    return [space.restrict(include=[name]).default() for name in space.algorithms]


def candidates(kind: str, n_random: int, seed: int = 0,
               stored: list[dict] | None = None) -> list[dict]:
    """Every algorithm's default configuration, then ``n_random`` prior draws.

    With ``stored`` (an earlier list), that list is kept as it is (its indices name the
    rows already measured) and every fresh configuration not in it is appended in order:
    the current form of stored entries the default space no longer accepts, and the
    draws of the same seeded stream beyond the stored ones.
    """
    space = default_space(SPACE_TASK[kind])
    rng = np.random.default_rng(seed)
    fresh = algorithm_defaults(space)
    fresh += [space.sample(rng) for _ in range(n_random)]
    if stored is None:
        return fresh
    return list(stored) + [config for config in fresh if config not in stored]


def measured_evaluation(data_path: str, config: dict, cpu_cap: float) -> dict[str, Any]:
    """Worker entry point: 3-fold CV of ``config`` stopped past ``cpu_cap`` CPU seconds.

    The soft ``RLIMIT_CPU`` makes the kernel end the worker with SIGXCPU (the pool
    reports it as crashed) once this task used between ``cpu_cap`` and ``cpu_cap + 1``
    CPU seconds; the limit is lifted again for the next task.
    """
    import resource

    def used() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    start = used()
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cap = math.ceil(start + cpu_cap) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cap if hard < 0 else min(cap, hard), hard))
    try:
        result = evaluate_config(data_path, config, seed=0)
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    return {"status": result.status, "loss": result.loss, "cpu": used() - start}


def read_evals(log: Path) -> pd.DataFrame:
    """The last row of every (candidate, dataset) pair of an evals file."""
    if not log.exists():
        return pd.DataFrame(columns=["candidate", "dataset", "status", "loss", "seconds", "cpu"])
    rows = pd.DataFrame([json.loads(line) for line in log.read_text().splitlines() if line.strip()])
    if "cpu" not in rows:
        rows["cpu"] = np.nan
    return rows.drop_duplicates(["candidate", "dataset"], keep="last").reset_index(drop=True)


def _todo(configs: list[dict], datasets: list[str], log: Path, space: Any,
          remeasure: bool = False) -> list[tuple[int, str]]:
    """Pairs to evaluate: wall-clock timeouts first (maybe starved), then the missing ones,
    then (``remeasure``) the valid pairs of the first build, which has no CPU seconds."""
    last = read_evals(log)
    status = {(int(r.candidate), r.dataset): r.status for r in last.itertuples()}
    retry = [pair for pair, s in status.items() if s == "timeout"]
    missing = [(i, name) for i, config in enumerate(configs) if space.is_valid(config)
               for name in datasets if (i, name) not in status]
    old = [(int(r.candidate), r.dataset) for r in last.itertuples()
           if remeasure and pd.isna(r.cpu) and r.status != "timeout"
           and space.is_valid(configs[int(r.candidate)])]
    return retry + missing + old


def _row(index: int, name: str, result: Any, cpu_cap: float) -> dict:
    if result.status == "ok":
        value = result.value
        loss = value["loss"] if math.isfinite(value["loss"]) else None
        status, cpu = value["status"], round(float(value["cpu"]), 3)
    else:
        killed_by_cap = result.status == "crashed" and "SIGXCPU" in (result.error or "")
        status = "cpu_limit" if killed_by_cap else result.status
        loss, cpu = None, (float(cpu_cap) if killed_by_cap else None)
    return {"candidate": index, "dataset": name, "status": status, "loss": loss,
            "seconds": round(float(result.duration), 3), "cpu": cpu}


def evaluate(kind: str, n_random: int, max_rows: int, time_limit: float, cpu_cap: float,
             out: Path, remeasure: bool = False) -> None:
    """Evaluate every candidate on every dataset, appending to the checkpoint file."""
    out.mkdir(parents=True, exist_ok=True)
    stored_path = out / f"{kind}_candidates.json"
    stored = json.loads(stored_path.read_text()) if stored_path.exists() else None
    configs = candidates(kind, n_random, stored=stored)
    stored_path.write_text(json.dumps(configs))
    log = out / f"{kind}_evals.jsonl"
    sets = load_datasets(kind, max_rows)
    todo = _todo(configs, list(sets), log, default_space(SPACE_TASK[kind]), remeasure)
    print(f"{kind}: {len(configs)} candidates, {len(todo)} evaluations to do", flush=True)
    shared = {name: SharedTrialData(trial_data(X, y, kind)) for name, (X, y) in sets.items()}
    try:
        with WorkerPool(1, 1, 2000, preload=PRELOAD) as pool, open(log, "a") as fh:
            for done, (index, name) in enumerate(todo, 1):
                pool.submit(measured_evaluation, shared[name].path, configs[index], cpu_cap,
                            time_limit=time_limit)
                row = _row(index, name, _wait(pool), cpu_cap)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                if done % 18 == 0 or done == len(todo):
                    print(f"{time.strftime('%H:%M:%S')} {kind}: {done}/{len(todo)} "
                          f"(candidate {index})", flush=True)
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


def loss_table(log: Path, cpu_cap: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loss, cost) tables, candidates x datasets, over complete candidates only.

    A failed pair, or one above ``cpu_cap`` CPU seconds, has a NaN loss. The cost of a
    pair is its measured CPU seconds, or its wall seconds for rows of the first build,
    which did not measure CPU (an upper bound: one thread).
    """
    rows = read_evals(log)
    cpu = rows["cpu"].astype(float)
    rows["cost"] = cpu.fillna(rows["seconds"].astype(float))
    rows["loss"] = rows["loss"].astype(float).where(~(cpu > cpu_cap))
    loss = rows.pivot(index="candidate", columns="dataset", values="loss")
    cost = rows.pivot(index="candidate", columns="dataset", values="cost")
    complete = cost.notna().all(axis=1)
    return loss.loc[complete], cost.loc[complete]


def regret_table(loss: pd.DataFrame) -> pd.DataFrame:
    """Per dataset ``(loss - best) / (median - best)`` clipped to [0, 1]; NaN loss -> 1."""
    best, ref = loss.min(), loss.median()
    regret = ((loss - best) / (ref - best).where(ref > best, 1.0)).clip(0.0, 1.0)
    return regret.fillna(1.0)


def greedy(regret: pd.DataFrame, seconds: pd.DataFrame, size: int, verbose: bool = False) -> list[int]:
    """Greedy forward selection minimising the mean best-in-set regret."""
    chosen: list[int] = []
    current = pd.Series(1.0, index=regret.columns)
    own, cost = regret.mean(axis=1), seconds.mean(axis=1)
    while len(chosen) < min(size, len(regret)):
        rest = regret.index.difference(chosen)
        gain = regret.loc[rest].clip(upper=current, axis=1).mean(axis=1)
        key = pd.DataFrame({"gain": gain, "own": own[rest], "cost": cost[rest]})
        pick = int(key.sort_values(["gain", "own", "cost"], kind="stable").index[0])
        if key.loc[pick, "gain"] >= current.mean() and key.loc[pick, "own"] >= USELESS:
            break   # adds nothing and is worse than the median config almost everywhere
        chosen.append(pick)
        current = np.minimum(current, regret.loc[pick])
        if verbose:
            print(f"  + candidate {pick}: mean best-in-set regret {current.mean():.4f}")
    return chosen


def anytime_order(regret: pd.DataFrame, seconds: pd.DataFrame, picks: list[int]) -> list[int]:
    """``picks`` reordered for a short budget: each next one removes the most mean
    best-so-far regret per mean CPU second; once none removes any, cheapest first."""
    rest, order = list(picks), []
    current = pd.Series(1.0, index=regret.columns)
    cost = seconds.loc[picks].mean(axis=1)
    while rest:
        gain = pd.Series({i: current.mean() - np.minimum(current, regret.loc[i]).mean() for i in rest})
        rate = (gain / cost[rest]).sort_values(ascending=False, kind="stable")
        pick = int(rate.index[0]) if gain.max() > 0 else int(cost[rest].sort_values(kind="stable").index[0])
        order.append(pick)
        rest.remove(pick)
        current = np.minimum(current, regret.loc[pick])
    return order


def lead_with(order: list[int], configs: list[dict], first: dict | None) -> list[int]:
    """``order`` with the candidate whose configuration is ``first`` moved to the front
    (unchanged if it was not selected)."""
    lead = [i for i in order if configs[i] == first]
    return lead + [i for i in order if i not in lead]


def anytime_curve(regret: pd.DataFrame, seconds: pd.DataFrame, order: list[int],
                  dataset: str, budgets: list[float]) -> list[float]:
    """Best-so-far regret on ``dataset`` after each budget of CPU seconds, in ``order``."""
    spent = seconds.loc[order, dataset].cumsum()
    values = regret.loc[order, dataset]
    return [float(values[spent <= t].min()) if (spent <= t).any() else 1.0 for t in budgets]


def _usable(out: Path, kind: str, cpu_cap: float) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """Candidates, and regret/cost tables restricted to candidates valid in the space."""
    configs = json.loads((out / f"{kind}_candidates.json").read_text())
    loss, cost = loss_table(out / f"{kind}_evals.jsonl", cpu_cap)
    space = default_space(SPACE_TASK[kind])
    valid = [i for i in loss.index if space.is_valid(configs[i])]
    # the same pipeline under two configurations (e.g. impute "native" for a model that
    # gets median imputation either way) has the same loss everywhere: keep one, the
    # current default configuration if it is one of them, else the first
    defaults = algorithm_defaults(space)
    preferred = sorted(valid, key=lambda i: (configs[i] not in defaults, i))
    unique = sorted(loss.loc[preferred].drop_duplicates(keep="first").index)
    print(f"{kind}: {len(loss)} complete candidates x {loss.shape[1]} datasets; "
          f"{len(loss) - len(valid)} not valid in the current space, left out; "
          f"{len(valid) - len(unique)} duplicates of an earlier candidate's losses, left out")
    return configs, regret_table(loss.loc[unique]), cost.loc[unique]


def select(out: Path, size: int, cpu_cap: float) -> dict:
    """The portfolio entries of both kinds, in anytime order."""
    result: dict[str, Any] = {"format": 1, "built_by": "benchmarks/portfolio/build.py",
                              "seconds": "mean CPU seconds of 3-fold CV on <= 800 rows",
                              "order": "anytime: most mean regret removed per CPU second first"}
    for kind in KINDS:
        configs, regret, cost = _usable(out, kind, cpu_cap)
        space = default_space(SPACE_TASK[kind])
        picks = greedy(regret, cost, size, verbose=True)
        entries = [{"algorithm": space.choice(configs[i]), "config": configs[i],
                    "seconds": round(float(cost.loc[i].mean()), 3),
                    "mean_regret": round(float(regret.loc[i].mean()), 4)} for i in picks]
        order = lead_with(anytime_order(regret, cost, picks), configs,
                          space.restrict(include=[FIRST]).default() if FIRST in space.algorithms else None)
        result[kind] = [entries[picks.index(i)] for i in order]
        result[f"{kind}_datasets"] = list(regret.columns)
    return result


# ---------------------------------------------------------------------------------------
# report


def _set_regret(regret: pd.DataFrame, picks: list[int]) -> float:
    return float(regret.loc[picks].min().mean())


def _indices(configs: list[dict], wanted: list[dict], regret: pd.DataFrame) -> list[int]:
    return [i for i in regret.index if configs[i] in wanted]


def leave_one_out(regret: pd.DataFrame, cost: pd.DataFrame, size: int) -> float:
    """Mean over datasets of the held-out regret of a set selected on the others."""
    held = [regret.loc[greedy(regret.drop(columns=d), cost.drop(columns=d), size), d].min()
            for d in regret.columns]
    return float(np.mean(held))


def random_sets(regret: pd.DataFrame, size: int, n_sets: int = 500, seed: int = 0) -> float:
    """Mean best-in-set regret of ``n_sets`` random subsets of ``size`` candidates."""
    rng = np.random.default_rng(seed)
    picks = [list(rng.choice(regret.index, size=min(size, len(regret)), replace=False))
             for _ in range(n_sets)]
    return float(np.mean([_set_regret(regret, p) for p in picks]))


ANYTIME_BUDGETS = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def held_out_anytime(regret: pd.DataFrame, seconds: pd.DataFrame,
                     picks: list[int]) -> dict[str, list[float]]:
    """Mean over datasets of the best-so-far regret after each of :data:`ANYTIME_BUDGETS`,
    each dataset's order made without it: anytime order against cheapest first."""
    curves: dict[str, list[list[float]]] = {"cheapest first": [], "anytime order": []}
    for d in regret.columns:
        others, cost = regret.drop(columns=d), seconds.drop(columns=d)
        cheapest = list(cost.loc[picks].mean(axis=1).sort_values(kind="stable").index)
        for name, order in (("cheapest first", cheapest),
                            ("anytime order", anytime_order(others, cost, picks))):
            curves[name].append(anytime_curve(regret, seconds, order, d, ANYTIME_BUDGETS))
    return {name: list(np.mean(rows, axis=0)) for name, rows in curves.items()}


def report(out: Path, size: int, cpu_cap: float, target: Path = TARGET) -> None:
    """Print the in-sample and leave-one-dataset-out tables (markdown).

    A fixed set (not selected on the data) has the same regret in and out of sample.
    """
    built = json.loads(target.read_text())
    print("| kind | set | configs | CPU s | in-sample regret | held-out regret (LODO) "
          "| random sets of that size |")
    print("|---|---|---|---|---|---|---|")
    anytime = []
    for kind in KINDS:
        configs, regret, cost = _usable(out, kind, cpu_cap)
        space = default_space(SPACE_TASK[kind])
        sets = {"naive (defaults, cost <= 2)": _indices(configs, naive_portfolio(space), regret),
                "all defaults": _indices(configs, algorithm_defaults(space), regret)}
        sets.update({f"greedy, first {k}": greedy(regret, cost, k) for k in (4, 8, 12, 16)})
        sets["built"] = _indices(configs, [e["config"] for e in built[kind]], regret)
        for name, picks in sets.items():
            fixed = _set_regret(regret, picks)
            lodo = leave_one_out(regret, cost, len(picks)) if "default" not in name else fixed
            print(f"| {kind} | {name} | {len(picks)} | {cost.loc[picks].mean(axis=1).sum():.1f} "
                  f"| {fixed:.3f} | {lodo:.3f} | {random_sets(regret, len(picks)):.3f} |")
        anytime += [f"| {kind} | {name} | " + " | ".join(f"{v:.3f}" for v in curve) + " |"
                    for name, curve in held_out_anytime(regret, cost, sets["built"]).items()]
    print("\n| kind | order | " + " | ".join(f"{t:g} s" for t in ANYTIME_BUDGETS) + " |")
    print("|---|---|" + "---|" * len(ANYTIME_BUDGETS))
    print("\n".join(anytime))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["evaluate", "select", "report"])
    parser.add_argument("--kind", choices=KINDS, default="classification")
    parser.add_argument("--n-random", type=int, default=30)
    parser.add_argument("--max-rows", type=int, default=800)
    parser.add_argument("--time-limit", type=float, default=60.0, help="wall seconds (backstop)")
    parser.add_argument("--cpu-cap", type=float, default=8.0, help="CPU seconds per evaluation")
    parser.add_argument("--remeasure", action="store_true",
                        help="also re-evaluate the first build's rows (no CPU seconds)")
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--target", type=Path, default=TARGET, help="the portfolio JSON")
    args = parser.parse_args(argv)
    if args.step == "evaluate":
        tic = time.process_time()
        evaluate(args.kind, args.n_random, args.max_rows, args.time_limit, args.cpu_cap, args.out,
                 args.remeasure)
        print(f"parent CPU {time.process_time() - tic:.0f} s", flush=True)
    elif args.step == "select":
        args.target.write_text(json.dumps(select(args.out, args.size, args.cpu_cap), indent=1)
                               + "\n")
        print(f"wrote {args.target}")
    else:
        report(args.out, args.size, args.cpu_cap, args.target)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()

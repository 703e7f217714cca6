"""Probe (session 8): does a temperature on the final model's probabilities, chosen on its
out-of-fold predictions, help on the holdout? Fits ours with the temperature step off,
then scores on each split's holdout the final model as it is, at the temperature
``automl.calibration.temperature`` picks (guards included), and at the unguarded best
temperature of a wide grid (0.3 to 3).

Run from benchmarks/compare with ours' environment:
    .envs/automl/bin/python probes/temperature.py DATASET BUDGET SPLITS   (SPLITS: 0,1,2)
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import automl.calibration as calibration  # noqa: E402
from amlbench.capture import capture_search  # noqa: E402
from amlbench.data import load_split  # noqa: E402
from amlbench.scoring import score  # noqa: E402
from automl import AutoClassifier  # noqa: E402
from automl.bagging import final_oof  # noqa: E402
from automl.ensemble import temper  # noqa: E402

captured = capture_search()


def _untempered(state, data, chosen, pipeline, ensemble, members):
    """The search without the step: the probe applies the temperatures itself."""
    captured["state"] = state
    return ensemble, members, ""


import automl.search  # noqa: E402

automl.search.temper_final = _untempered

name, budget = sys.argv[1], float(sys.argv[2])
for split in map(int, sys.argv[3].split(",")):
    ds, X, y, tr, te = load_split(name, split)
    classes = sorted(set(y))
    model = AutoClassifier(time_budget=budget, metric=ds.metric, n_jobs=2, random_state=split)
    model.fit(X.iloc[tr], y.iloc[tr])
    data, result, state = captured["data"], captured["result"], captured["state"]
    members = model.ensemble_members_
    oof = final_oof(state, result.best, members)
    order = [list(model.classes_).index(c) for c in classes]
    proba = model.predict_proba(X.iloc[te])

    def holdout(p):
        return score(ds.metric, y.iloc[te].to_numpy(), p[:, order], classes)

    if oof is None:
        print(f"{name} {split}: no out-of-fold predictions of the final model kept")
        continue
    chosen = calibration.temperature(data.metric, data.y, oof, data.sample_weight)
    grid = np.exp(np.linspace(np.log(0.3), np.log(3.0), 41))
    rows = np.isfinite(oof).all(axis=1)
    losses = [data.metric.loss(data.metric.score(data.y[rows], temper(oof[rows], t))) for t in grid]
    wide = float(grid[int(np.argmin(losses))])
    print(f"{name} {split}: members {len(members)} | chosen t={chosen:.3f} holdout "
          f"{holdout(proba):.4f} -> {holdout(temper(proba, chosen)):.4f} | unguarded t={wide:.3f} "
          f"-> {holdout(temper(proba, wide)):.4f}", flush=True)

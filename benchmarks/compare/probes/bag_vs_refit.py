"""Probe (session 7): after a search, is the best pipeline better refit on all rows
(what we do) or as the average of its 5 fold models (AutoGluon's bagging)? Holdout
score of ours' final model, the refit best pipeline and bags of 5 and 2 fold models.

Run from benchmarks/compare with ours' environment:
    .envs/automl/bin/python probes/bag_vs_refit.py DATASET BUDGET SPLIT
"""
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from amlbench.data import load_split  # noqa: E402
from amlbench.scoring import score  # noqa: E402
from automl import AutoClassifier  # noqa: E402
from automl.components import EarlyStoppedBooster  # noqa: E402

name, budget, split = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
ds, X, y, tr, te = load_split(name, split)
classes = sorted(set(y))
model = AutoClassifier(time_budget=budget, metric=ds.metric, n_jobs=2, random_state=0)
model.fit(X.iloc[tr], y.iloc[tr])
Xtr, Xte = model._features(X.iloc[tr]), model._features(X.iloc[te])
codes = np.searchsorted(model.classes_, y.iloc[tr].to_numpy())
order = [list(model.classes_).index(c) for c in classes]


def holdout(proba):
    return score(ds.metric, y.iloc[te].to_numpy(), np.asarray(proba)[:, order], classes)


def proba(pipeline, frame):
    out = np.zeros((len(frame), len(model.classes_)))
    out[:, np.asarray(pipeline.classes_).astype(int)] = pipeline.predict_proba(frame)
    return out


tic, bag = time.perf_counter(), []
for a, _ in StratifiedKFold(5, shuffle=True, random_state=0).split(Xtr, codes):
    pipeline = clone(model.best_pipeline_)
    if isinstance(pipeline[-1], EarlyStoppedBooster):
        pipeline[-1].set_params(refit=False)     # as in cross-validation
    bag.append(pipeline.fit(Xtr.iloc[a], codes[a]))
seconds = time.perf_counter() - tic
print(f"{name} {split} {model.best_algorithm_}: final {holdout(model.predict_proba(X.iloc[te])):.4f} "
      f"refit {holdout(proba(model.best_pipeline_, Xte)):.4f} "
      f"bag5 {holdout(np.mean([proba(p, Xte) for p in bag], axis=0)):.4f} "
      f"bag2 {holdout(np.mean([proba(p, Xte) for p in bag[:2]], axis=0)):.4f} ({seconds:.1f} s)")

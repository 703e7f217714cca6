"""Probe (session 8): after a search, the holdout score of the final model, of the best
single trial refit on all rows, and of the ensemble choose_ensemble selects over the
best 50 candidates ("cv": its decision rule; "naive": weights chosen on all rows), each
member refit on all rows, whatever the search's time left allowed. One JSON line per
DATASET:SPLIT.

Run from benchmarks/compare with ours' environment:
    .envs/automl/bin/python probes/ensemble_vs_single.py BUDGET DATASET:SPLIT ...
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpy as np  # noqa: E402

from amlbench.capture import capture_search  # noqa: E402
from amlbench.data import load_split  # noqa: E402
from amlbench.scoring import score  # noqa: E402
from automl import AutoClassifier  # noqa: E402
from automl.builder import build_pipeline  # noqa: E402
from automl.components import EarlyStoppedBooster  # noqa: E402
from automl.ensemble import choose_ensemble, select_candidates  # noqa: E402
from automl.refit import _ensemble_loss  # noqa: E402

captured = capture_search()
budget = float(sys.argv[1])
for arg in sys.argv[2:]:
    name, split = arg.split(":")
    split = int(split)
    ds, X, y, tr, te = load_split(name, split)
    classes = sorted(set(y))
    model = AutoClassifier(time_budget=budget, metric=ds.metric, n_jobs=2, random_state=split)
    model.fit(X.iloc[tr], y.iloc[tr])
    result, data = captured["result"], captured["data"]
    ids = select_candidates(result.trials, 50, result.oof)
    codes = np.searchsorted(model.classes_, y.iloc[tr].to_numpy())
    Xtr, Xte = model._features(X.iloc[tr]), model._features(X.iloc[te])
    order = [list(model.classes_).index(c) for c in classes]
    by_id = {t["trial_id"]: t for t in result.trials}
    cache = {}

    def proba(trial_id):
        """Holdout probabilities of a trial's pipeline refit on all training rows."""
        if trial_id not in cache:
            pipeline = build_pipeline(by_id[trial_id]["config"], data.space, data.columns,
                                      data.task, split, 1)
            if isinstance(pipeline[-1], EarlyStoppedBooster):
                pipeline[-1].set_params(refit=True)
            pipeline.fit(Xtr, codes)
            out = np.zeros((len(Xte), len(model.classes_)))
            out[:, np.asarray(pipeline.classes_).astype(int)] = pipeline.predict_proba(Xte)
            cache[trial_id] = out
        return cache[trial_id]

    def holdout(p):
        return score(ds.metric, y.iloc[te].to_numpy(), np.asarray(p)[:, order], classes)

    row = {"ds": name, "split": split, "final": holdout(model.predict_proba(X.iloc[te])),
           "n_members": len(model.ensemble_members_)}
    for method in ("cv", "naive"):
        choice = choose_ensemble([result.oof[i] for i in ids], codes, _ensemble_loss(data.metric),
                                 method=method, random_state=0)
        row[method] = holdout(sum(w * proba(i) for i, w in zip(ids, choice.weights) if w > 0))
        row[method + "_use"] = bool(choice.use_ensemble)
        row[method + "_gain"] = float(choice.single_loss - choice.ensemble_loss)
    row["single"] = holdout(proba(ids[0]))
    print(json.dumps(row), flush=True)

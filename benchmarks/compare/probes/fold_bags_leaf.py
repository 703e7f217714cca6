"""Probe (session 7): on leaf_flavia (32 classes), how good are a few fold models of our
early-stopped LightGBM, averaged, against the same model refit on all training rows and
against default LightGBM? Holdout log loss per split, one model fitted per fold.

Run from benchmarks/compare with ours' environment:
    .envs/automl/bin/python probes/fold_bags_leaf.py [dataset]
"""
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from amlbench.data import load_frame, load_manifest, stratified_split  # noqa: E402
from automl.components import EarlyStoppedLGBMClassifier  # noqa: E402

ds = load_manifest()[sys.argv[1] if len(sys.argv) > 1 else "leaf_flavia"]
X0, y0 = load_frame(ds)
X, y = X0.select_dtypes("number").to_numpy(float), y0.to_numpy()
for split in range(3):
    tr, te = stratified_split(y, split)
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(Xtr, ytr))
    tic = time.perf_counter()
    probas = [EarlyStoppedLGBMClassifier(random_state=0).fit(Xtr[a], ytr[a]).predict_proba(Xte)
              for a, _ in folds[:3]]
    per_fold = (time.perf_counter() - tic) / 3
    full = EarlyStoppedLGBMClassifier(random_state=0).fit(Xtr, ytr)
    default = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(Xtr, ytr)
    labels = full.classes_
    bags = " ".join(f"bag{k} {log_loss(yte, np.mean(probas[:k], axis=0), labels=labels):.4f}"
                    for k in (1, 2, 3))
    print(f"split {split}: fold {per_fold:.1f} s | {bags} | refit on all rows "
          f"{log_loss(yte, full.predict_proba(Xte), labels=labels):.4f} | default LightGBM "
          f"{log_loss(yte, default.predict_proba(Xte), labels=labels):.4f}", flush=True)

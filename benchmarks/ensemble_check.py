"""Check post-hoc ensemble selection on real data: best single model vs ensemble, on a holdout.

For each dataset and seed: a stratified 75/25 split; a handful of plain scikit-learn and
LightGBM models give 5-fold out-of-fold (OOF) predictions on the training part
(``cross_val_predict``) and, refitted on it, predictions on the test part. From the OOF
predictions we pick the best single model and the ensemble weights, then score both on the
test part. The decision rules of :func:`automl.ensemble.choose_ensemble` ("naive",
"holdout", "cv") and a temperature scaling of the ensemble (log loss only) are scored the
same way.

    nice -n 10 python benchmarks/ensemble_check.py [--seeds 3] [--datasets credit_data hpc_data sacramento]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict, train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from automl.ensemble import choose_ensemble, ensemble_selection  # noqa: E402

DATA = Path("/work/shared/datasets")
METRICS = {"binary": ["roc_auc", "log_loss"], "multiclass": ["log_loss", "accuracy"], "regression": ["rmse"]}


def load(name: str) -> tuple[pd.DataFrame, pd.Series, dict]:
    meta = {d["name"]: d for d in json.loads((DATA / "manifest.json").read_text())["datasets"]}[name]
    frame = pd.read_csv(DATA / meta["file"])
    y = frame.pop(meta["target"])
    return frame, y, meta


def models(task: str, categorical: list[str], numeric: list[str], seed: int) -> dict:
    import lightgbm as lgb

    def prep(scale: bool):
        num = make_pipeline(SimpleImputer(strategy="median"), *([StandardScaler()] if scale else []))
        cat = make_pipeline(SimpleImputer(strategy="most_frequent"),
                            OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False))
        return ColumnTransformer([("num", num, numeric), ("cat", cat, categorical)])

    if task == "regression":
        return {
            "ridge": make_pipeline(prep(True), Ridge(alpha=1.0)),
            "knn": make_pipeline(prep(True), KNeighborsRegressor(n_neighbors=15)),
            "rf": make_pipeline(prep(False), RandomForestRegressor(200, min_samples_leaf=2, random_state=seed, n_jobs=1)),
            "et": make_pipeline(prep(False), ExtraTreesRegressor(200, min_samples_leaf=2, random_state=seed, n_jobs=1)),
            "lgbm_small": make_pipeline(prep(False), lgb.LGBMRegressor(n_estimators=200, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1, n_jobs=1)),
            "lgbm_big": make_pipeline(prep(False), lgb.LGBMRegressor(n_estimators=400, learning_rate=0.03, num_leaves=63, subsample=0.8, subsample_freq=1, colsample_bytree=0.7, random_state=seed, verbose=-1, n_jobs=1)),
        }
    return {
        "logreg": make_pipeline(prep(True), LogisticRegression(C=1.0, max_iter=2000)),
        "knn": make_pipeline(prep(True), KNeighborsClassifier(n_neighbors=25)),
        "rf": make_pipeline(prep(False), RandomForestClassifier(300, min_samples_leaf=2, random_state=seed, n_jobs=1)),
        "et": make_pipeline(prep(False), ExtraTreesClassifier(300, min_samples_leaf=2, random_state=seed, n_jobs=1)),
        "lgbm_small": make_pipeline(prep(False), lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1, n_jobs=1)),
        "lgbm_big": make_pipeline(prep(False), lgb.LGBMClassifier(n_estimators=400, learning_rate=0.03, num_leaves=63, subsample=0.8, subsample_freq=1, colsample_bytree=0.7, random_state=seed, verbose=-1, n_jobs=1)),
    }


def predictions(name: str, seed: int) -> tuple[list, list, np.ndarray, np.ndarray, str]:
    """OOF predictions on the train part and test predictions of every model."""
    X, y, meta = load(name)
    task = meta["task"]
    categorical = list(meta["categorical_columns"])
    numeric = [c for c in X.columns if c not in categorical]
    X[categorical] = X[categorical].astype(object)
    if task != "regression":
        y = LabelEncoder().fit_transform(y)
    else:
        y = y.to_numpy(dtype=float)
    strat = y if task != "regression" else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)
    cv = (StratifiedKFold if task != "regression" else KFold)(5, shuffle=True, random_state=seed)
    method = "predict" if task == "regression" else "predict_proba"
    oof, test = [], []
    for model in models(task, categorical, numeric, seed).values():
        oof.append(cross_val_predict(model, X_tr, y_tr, cv=cv, method=method))
        test.append(getattr(model.fit(X_tr, y_tr), method)(X_te))
    return oof, test, y_tr, y_te, task


def loss(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """Oriented like automl.scoring: lower is better."""
    if metric == "roc_auc":
        return -skm.roc_auc_score(y, p[:, 1])
    if metric == "log_loss":
        return skm.log_loss(y, p, labels=np.arange(p.shape[1]))
    if metric == "accuracy":
        return -skm.accuracy_score(y, p.argmax(axis=1))
    return skm.root_mean_squared_error(y, p)


def temperature(oof_blend: np.ndarray, y: np.ndarray) -> float:
    logp = np.log(np.clip(oof_blend, 1e-15, 1))

    def nll(t: float) -> float:
        z = logp / t
        z -= z.max(axis=1, keepdims=True)
        return -np.mean(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1)))

    return float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)


def scale(p: np.ndarray, t: float) -> np.ndarray:
    z = np.log(np.clip(p, 1e-15, 1)) / t
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def evaluate(oof: list, test: list, y_tr: np.ndarray, y_te: np.ndarray, metric: str) -> dict:
    blend = lambda w, preds: np.tensordot(w, np.asarray(preds), axes=1)  # noqa: E731
    best = int(np.argmin([loss(metric, y_tr, p) for p in oof]))
    row = {"single": loss(metric, y_te, test[best])}
    start = time.perf_counter()
    weights = ensemble_selection(oof, y_tr, metric)
    row["select_s"] = time.perf_counter() - start
    row["ensemble"] = loss(metric, y_te, blend(weights, test))
    row["ens_p0"] = loss(metric, y_te, blend(ensemble_selection(oof, y_tr, metric, patience=0), test))
    row["ens_init3"] = loss(metric, y_te, blend(ensemble_selection(oof, y_tr, metric, n_init=3), test))
    row["n_members"] = int(np.count_nonzero(weights))
    for method in ("naive", "holdout", "cv"):
        choice = choose_ensemble(oof, y_tr, metric, method=method)
        row[method] = loss(metric, y_te, blend(choice.weights, test))
        row[f"{method}_use"] = choice.use_ensemble
    if metric == "log_loss":
        t = temperature(blend(weights, oof), y_tr)
        row["ens_temp"] = loss(metric, y_te, scale(blend(weights, test), t))
        row["T"] = t
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["credit_data", "hpc_data", "sacramento"])
    args = parser.parse_args()
    rows = []
    for name in args.datasets:
        for seed in range(args.seeds):
            oof, test, y_tr, y_te, task = predictions(name, seed)
            for metric in METRICS[task]:
                rows.append({"dataset": name, "seed": seed, "metric": metric,
                             **evaluate(oof, test, y_tr, y_te, metric)})
                print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    columns = ["single", "ensemble", "ens_p0", "ens_init3", "naive", "holdout", "cv", "ens_temp"]
    summary = table.groupby(["dataset", "metric"])[[c for c in columns if c in table]].mean()
    pd.set_option("display.width", 200)
    print("\nmean test loss (lower is better; roc_auc and accuracy as -score):")
    print(summary.round(4).to_string())
    gains = table[["single", "ensemble", "naive", "holdout", "cv"]].sub(table["single"], axis=0)
    print("\nwins over single (test loss lower):", {c: int((gains[c] < 0).sum()) for c in gains},
          "losses:", {c: int((gains[c] > 0).sum()) for c in gains}, "of", len(table))
    print("\nensemble used (naive/holdout/cv):",
          {m: int(table[f"{m}_use"].sum()) for m in ("naive", "holdout", "cv")}, "of", len(table))


if __name__ == "__main__":
    main()

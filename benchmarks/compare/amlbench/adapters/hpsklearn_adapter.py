"""hyperopt-sklearn's HyperoptEstimator, run under a wall-clock budget."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, OrdinalFrame, median_impute


def probabilistic_classifiers(name: str, binary: bool):
    """hyperopt-sklearn's ``any_classifier`` with every member able to give probabilities
    (SVC with ``probability=True``, SGD with a probabilistic loss), as a probability
    metric needs; for multiclass tasks gradient boosting keeps to ``log_loss`` (its
    space also samples ``exponential``, which scikit-learn rejects for 3+ classes)."""
    from hyperopt import hp
    import hpsklearn as H

    gb_args = {} if binary else {"loss": "log_loss"}
    members = [
        H.svc(name + ".svc", probability=True), H.k_neighbors_classifier(name + ".knn"),
        H.random_forest_classifier(name + ".random_forest"),
        H.extra_tree_classifier(name + ".extra_trees"),
        H.ada_boost_classifier(name + ".ada_boost"),
        H.gradient_boosting_classifier(name + ".grad_boosting", **gb_args),
        H.sgd_classifier(name + ".sgd", loss=hp.choice(name + ".sgd.loss",
                                                       ["log_loss", "modified_huber"])),
    ]
    if importlib.util.find_spec("xgboost") is not None:  # as any_classifier does
        members.append(H.xgboost_classification(name + ".xgboost"))
    return hp.choice(name, members)


class HyperoptSklearnAdapter(Adapter):
    """``HyperoptEstimator(classifier=<any probabilistic classifier>,
    preprocessing=any_preprocessing, algo=tpe.suggest, loss_fn=<metric>,
    continuous_loss_fn=True)``, validated on a shuffled stratified 20% (``cv_shuffle=True``;
    without it hyperopt-sklearn validates on the last 20% of rows). hyperopt-sklearn has
    no total time limit: trials are run one at a time, each limited to the time left,
    until the budget is spent; then the best model is refit on all rows, as ``fit`` does.
    Categoricals are ordinal-coded and missing values median-imputed (it needs a
    numeric matrix without NaN).

    Examples
    --------
    >>> ad = HyperoptSklearnAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                     # doctest: +SKIP
    """

    def _loss(self):
        from sklearn.metrics import log_loss, roc_auc_score

        k = len(self.classes_)

        def loss(y_true: np.ndarray, flat_proba: np.ndarray) -> float:
            proba = np.asarray(flat_proba, dtype=float).reshape(len(y_true), k)
            if self.task == "binary":
                return 1.0 - roc_auc_score(y_true == 1, proba[:, 1])
            proba = np.clip(proba, 1e-15, 1.0)
            return log_loss(y_true, proba / proba.sum(axis=1, keepdims=True),
                            labels=list(range(k)))

        return loss

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "HyperoptSklearnAdapter":
        from hpsklearn import HyperoptEstimator, any_preprocessing
        from hyperopt import tpe

        start = time.monotonic()
        labels = y.astype(str)
        self.classes_ = sorted(labels.unique().tolist())
        codes = labels.map({c: i for i, c in enumerate(self.classes_)}).to_numpy()
        self.encoder_ = OrdinalFrame(self.categorical).fit(X)
        self.train_ = self.encoder_.transform(X)
        Xn, _ = median_impute(self.train_, self.train_[:1])
        est = HyperoptEstimator(
            classifier=probabilistic_classifiers("clf", self.task == "binary"),
            preprocessing=any_preprocessing("pre"), algo=tpe.suggest, loss_fn=self._loss(),
            continuous_loss_fn=True, trial_timeout=self.time_budget, seed=self.seed,
            n_jobs=self.n_jobs,
        )
        self._search(est, Xn, codes, start)
        if est._best_learner is None:
            raise RuntimeError("hyperopt-sklearn: every trial failed or timed out")
        est._retrain_best_model_on_full_data(Xn, codes)
        self.model_ = est.best_model()
        return self

    def _search(self, est, Xn: np.ndarray, codes: np.ndarray, start: float) -> None:
        """One trial at a time until the budget is spent. A trial that raises ends
        hyperopt-sklearn's generator (it lets exceptions through); the search then goes
        on warm-started from the trials so far."""
        rng = np.random.default_rng(self.seed)
        trials, warm = None, False
        while (left := self.time_budget - (time.monotonic() - start)) > 1.0:
            if trials is None:
                trials = est.fit_iter(Xn, codes, cv_shuffle=True, valid_size=0.2,
                                      random_state=rng, warm_start=warm)
                next(trials)
            est.trial_timeout = left
            try:
                trials.send(1)
            except Exception:  # a configuration its estimator rejects: go on without it
                trials, warm = None, True

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        _, Xt = median_impute(self.train_, self.encoder_.transform(X))
        for step in self.model_["preprocs"]:
            Xt = step.transform(Xt)
        return self.model_["learner"].predict_proba(Xt)

    @staticmethod
    def version() -> str:
        from importlib.metadata import version

        return version("hyperopt-sklearn")

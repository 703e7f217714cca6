"""auto-sklearn 0.15 (Python 3.9 environment)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, as_category


class AutoSklearnAdapter(Adapter):
    """``AutoSklearnClassifier(time_left_for_this_task=budget, metric=<metric>,
    n_jobs=cores, seed=seed)`` with its defaults otherwise (per-run limit = budget / 10,
    holdout validation, meta-learned warm start, ensemble selection); categoricals as
    pandas ``category``, which auto-sklearn encodes itself.

    Examples
    --------
    >>> ad = AutoSklearnAdapter("binary", "roc_auc", 60, 0, 2, "/tmp/j", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                      # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "AutoSklearnAdapter":
        import autosklearn.metrics
        from autosklearn.classification import AutoSklearnClassifier

        labels = y.astype(str)
        self.classes_ = sorted(labels.unique().tolist())
        codes = labels.map({c: i for i, c in enumerate(self.classes_)}).to_numpy()
        metric = getattr(autosklearn.metrics, self.metric)
        self.model_ = AutoSklearnClassifier(
            time_left_for_this_task=int(self.time_budget), metric=metric,
            n_jobs=self.n_jobs, seed=self.seed,
            tmp_folder=os.path.join(self.workdir, "autosklearn_tmp"),
        )
        self.model_.fit(as_category(X, self.categorical), codes)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(as_category(X, self.categorical)))

    @staticmethod
    def version() -> str:
        import autosklearn

        return autosklearn.__version__

"""FLAML's AutoML (``flaml[automl]``), budgeted with ``time_budget``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, as_category


class FlamlAdapter(Adapter):
    """``flaml.AutoML().fit(task="classification", metric=..., time_budget=...)`` with
    the default estimator list and evaluation method, categoricals as ``category``.

    Examples
    --------
    >>> ad = FlamlAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                           # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "FlamlAdapter":
        from flaml import AutoML

        self.model_ = AutoML()
        self.model_.fit(
            as_category(X, self.categorical), y.astype(str), task="classification",
            metric=self.metric, time_budget=self.time_budget, n_jobs=self.n_jobs,
            seed=self.seed, verbose=0, log_file_name="",
        )
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(as_category(X, self.categorical)))

    @staticmethod
    def version() -> str:
        import flaml

        return flaml.__version__

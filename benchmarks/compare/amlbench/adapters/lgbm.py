"""LightGBM with its default parameters (categoricals as pandas ``category``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, as_category


class LightGBMAdapter(Adapter):
    """``lightgbm.LGBMClassifier()`` with default parameters; only the seed and the
    thread count are set. The time budget is not used (a single fit).

    Examples
    --------
    >>> ad = LightGBMAdapter("binary", "roc_auc", 60, 0, 2, ".", ["c"])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                 # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "LightGBMAdapter":
        from lightgbm import LGBMClassifier

        self.model_ = LGBMClassifier(random_state=self.seed, n_jobs=self.n_jobs, verbose=-1)
        self.model_.fit(as_category(X, self.categorical), y.astype(str))
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(as_category(X, self.categorical))

    @staticmethod
    def version() -> str:
        import lightgbm

        return lightgbm.__version__

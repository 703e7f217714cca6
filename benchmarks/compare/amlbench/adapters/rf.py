"""scikit-learn's RandomForestClassifier with 500 trees."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, OrdinalFrame


class RandomForestAdapter(Adapter):
    """``RandomForestClassifier(n_estimators=500)`` on ordinal-coded categoricals;
    missing values are left to the forest's native NaN support (scikit-learn >= 1.4).

    Examples
    --------
    >>> ad = RandomForestAdapter("binary", "roc_auc", 60, 0, 2, ".", ["c"])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                     # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "RandomForestAdapter":
        from sklearn.ensemble import RandomForestClassifier

        self.encoder_ = OrdinalFrame(self.categorical).fit(X)
        self.model_ = RandomForestClassifier(
            n_estimators=500, n_jobs=self.n_jobs, random_state=self.seed
        )
        self.model_.fit(self.encoder_.transform(X), y.astype(str).to_numpy())
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self.encoder_.transform(X))

    @staticmethod
    def version() -> str:
        import sklearn

        return sklearn.__version__

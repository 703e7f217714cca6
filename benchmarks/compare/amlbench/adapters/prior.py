"""The class-prior predictor: every test row gets the training class frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter


class PriorAdapter(Adapter):
    """Predict the training class frequencies for every row (the score-0 reference).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    >>> ad = PriorAdapter("binary", "roc_auc", 10, 0, 2, ".", []).fit(X, pd.Series(list("abbb")))
    >>> ad.predict_proba(X.head(1)).tolist()
    [[0.25, 0.75]]
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "PriorAdapter":
        labels = y.astype(str)
        self.classes_ = sorted(labels.unique().tolist())
        counts = labels.value_counts()
        self.prior_ = np.array([counts[c] for c in self.classes_], dtype=float) / len(labels)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))

    @staticmethod
    def version() -> str:
        return "n/a"

"""TPOT 1.x (genetic programming over sklearn pipelines, on Dask)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, reorder_columns

SCORERS = {"roc_auc": "roc_auc", "log_loss": "neg_log_loss"}


class TpotAdapter(Adapter):
    """``TPOTClassifier(scorers=[<metric>], max_time_mins=budget/60, n_jobs=cores,
    preprocessing=True, categorical_features=...)``: the default "linear" search space
    and 10-fold CV, with TPOT's own imputation and one-hot encoding of the categoricals.
    No thread-count variables are set for it (Dask oversubscribes the cores with them).

    Examples
    --------
    >>> ad = TpotAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                          # doctest: +SKIP
    """

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for col in self.categorical:
            X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
        return X

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "TpotAdapter":
        from tpot import TPOTClassifier

        labels = y.astype(str)
        self.classes_ = sorted(labels.unique().tolist())
        codes = labels.map({c: i for i, c in enumerate(self.classes_)}).to_numpy()
        minutes = self.time_budget / 60.0
        self.model_ = TPOTClassifier(
            scorers=[SCORERS[self.metric]], scorers_weights=[1],
            max_time_mins=minutes, max_eval_time_mins=minutes, n_jobs=self.n_jobs,
            preprocessing=True, categorical_features=self.categorical or None,
            random_state=self.seed, verbose=0,
        )
        self.model_.fit(self._frame(X), codes)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.model_.predict_proba(self._frame(X))
        have = [self.classes_[int(c)] for c in self.model_.classes_]
        return reorder_columns(np.asarray(proba), have, self.classes_)

    @staticmethod
    def version() -> str:
        import tpot

        return tpot.__version__

"""The one interface every benchmarked system is wrapped in, and shared input helpers.

This module runs inside each system's own environment, from Python 3.9 (auto-sklearn)
to 3.11, with pandas 1.x to 3.x: it uses only features all of them have.
"""

from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd


class Adapter:
    """Train on a DataFrame, predict class probabilities, under a time budget.

    Parameters
    ----------
    task : {"binary", "multiclass"}
    metric : {"roc_auc", "log_loss"}
        The metric the system must optimize (ROC AUC for binary, log loss for multiclass).
    time_budget : float
        Seconds the system may spend in :meth:`fit`.
    seed : int
        Random seed handed to the system.
    n_jobs : int
        Cores the system may use.
    workdir : str
        A scratch folder the system may write to.
    categorical : sequence of str
        The categorical columns (strings; missing values are NaN).

    Examples
    --------
    >>> from amlbench.adapters.prior import PriorAdapter
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    >>> ad = PriorAdapter("binary", "roc_auc", 10, 0, 2, ".", []).fit(X, pd.Series(list("aaab")))
    >>> ad.classes_, ad.predict_proba(X)[0].tolist()
    (['a', 'b'], [0.75, 0.25])
    """

    def __init__(
        self, task: str, metric: str, time_budget: float, seed: int, n_jobs: int,
        workdir: str, categorical: Sequence[str],
    ) -> None:
        self.task = task
        self.metric = metric
        self.time_budget = time_budget
        self.seed = seed
        self.n_jobs = n_jobs
        self.workdir = workdir
        self.categorical = list(categorical)
        self.classes_: List[str] = []

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "Adapter":
        """Search and train within ``time_budget`` seconds; set ``classes_``."""
        raise NotImplementedError

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``, in that order."""
        raise NotImplementedError

    @staticmethod
    def version() -> str:
        """The version of the wrapped system."""
        raise NotImplementedError


def as_category(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """Give categorical columns pandas' ``category`` dtype (NaN stays missing)."""
    X = X.copy()
    for col in categorical:
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan).astype("category")
    return X


class OrdinalFrame:
    """Turn a mixed DataFrame into a float matrix: categories become integer codes
    learned on the training rows (unseen or missing -> NaN); numbers pass through.

    For systems whose documentation expects a numeric matrix.

    Examples
    --------
    >>> X = pd.DataFrame({"c": ["x", "y", None], "n": [1.0, None, 3.0]})
    >>> OrdinalFrame(["c"]).fit(X).transform(X).tolist()
    [[0.0, 1.0], [1.0, nan], [nan, 3.0]]
    """

    def __init__(self, categorical: Sequence[str]) -> None:
        self.categorical = list(categorical)
        self.levels_: dict = {}

    def fit(self, X: pd.DataFrame) -> "OrdinalFrame":
        """Learn each categorical column's sorted levels."""
        self.levels_ = {
            c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in self.categorical
        }
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The float matrix, columns in X's order."""
        cols = []
        for col in X.columns:
            if col in self.levels_:
                lookup = {v: float(i) for i, v in enumerate(self.levels_[col])}
                values = X[col].astype(object)
                cols.append([lookup.get(str(v), np.nan) if pd.notna(v) else np.nan
                             for v in values])
            else:
                cols.append(pd.to_numeric(X[col], errors="coerce").astype(float).tolist())
        return np.asarray(cols, dtype=float).T.reshape(len(X), len(cols))


def median_impute(train: np.ndarray, test: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Replace NaN by the training column's median (0 for an all-missing column)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: handled below
        med = np.nanmedian(train, axis=0)
    med = np.where(np.isnan(med), 0.0, med)
    return np.where(np.isnan(train), med, train), np.where(np.isnan(test), med, test)


def reorder_columns(
    proba: np.ndarray, have: Sequence, want: Sequence[str], fill: Optional[float] = 0.0
) -> np.ndarray:
    """Reorder probability columns from label order ``have`` to ``want`` (labels as str)."""
    have = [str(c) for c in have]
    out = np.full((proba.shape[0], len(want)), fill, dtype=float)
    for j, label in enumerate(want):
        if label in have:
            out[:, j] = proba[:, have.index(label)]
    return out

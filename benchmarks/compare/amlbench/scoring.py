"""The two metrics, computed the same way for every system from its saved probabilities."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

EPS = 1e-15
HIGHER_IS_BETTER = {"roc_auc": True, "log_loss": False}


def score(metric: str, y_true: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> float:
    """ROC AUC (positive class = ``classes[1]``) or log loss of ``proba``.

    Probabilities are clipped to ``[1e-15, 1]`` and renormalized per row, so a system
    that outputs a hard zero for the true class gets a large, finite loss.

    Examples
    --------
    >>> y = np.array(["a", "b", "b"])
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    >>> score("roc_auc", y, p, ["a", "b"])
    1.0
    """
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"metric must be 'roc_auc' or 'log_loss'; got {metric!r}.")
    proba = np.asarray(proba, dtype=float)
    if proba.shape != (len(y_true), len(classes)):
        raise ValueError(
            f"probabilities must have shape (n_test, n_classes) = {(len(y_true), len(classes))};"
            f" got {proba.shape}."
        )
    if not np.isfinite(proba).all():
        raise ValueError("probabilities contain NaN or infinity; the system's output is broken.")
    if metric == "roc_auc":
        return float(roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1]))
    proba = np.clip(proba, EPS, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(log_loss(y_true, proba, labels=list(classes)))

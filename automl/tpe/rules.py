"""The width rules of the Parzen estimators: kernel bandwidths and categorical smoothing.

Both are functions of the observations of one mixture only (no state), used by
:class:`~automl.tpe.parzen.ParzenEstimator` (and re-exported there).

Examples
--------
>>> import numpy as np
>>> bandwidths(np.array([[0.5]]), np.array([0.0]), np.array([1.0])).ravel().tolist()
[0.5]
>>> categorical_smoothing(15, 4, 3.0).item()
0.75
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bandwidths", "categorical_smoothing"]


def bandwidths(mus: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Kernel widths of ``n`` observations of numeric columns, one per observation and column.

    Column by column, each observation's width is the larger of the gaps to its two
    neighbours (the bounds count as neighbours, except that the lowest and the highest
    observation look only inwards once there are two or more), so kernels are narrow
    where observations crowd and wide where they are sparse (Bergstra et al. 2011;
    Optuna's default). Widths are clipped to ``[width / min(100, n + 2), width]``, the
    "magic clip" floor of hyperopt and Optuna, so they never collapse.

    Parameters
    ----------
    mus : array of shape (n, d)
        Observations on the internal scale.
    low, high : arrays of shape (d,)
        Bounds of each column on the internal scale.

    Examples
    --------
    >>> bandwidths(np.array([[0.1], [0.2], [0.9]]), np.array([0.0]), np.array([1.0])).ravel()
    array([0.2, 0.7, 0.7])
    """
    mus = np.asarray(mus, dtype=float)
    n = len(mus)
    if n == 0:
        return np.empty_like(mus)
    order = mus.argsort(axis=0, kind="stable")  # methods, not wrappers: this runs per decision
    columns = np.arange(mus.shape[1])
    ranked = mus[order, columns]
    edges = np.concatenate([low[None, :], ranked, high[None, :]], axis=0)
    gaps = edges[1:] - edges[:-1]
    widths = np.maximum(gaps[:-1], gaps[1:])
    if n >= 2:
        widths[0], widths[-1] = gaps[1], gaps[-2]
    span = high - low
    widths = np.minimum(np.maximum(widths, span / min(100, n + 2)), span)  # a clip
    out = np.empty_like(widths)
    out[order, columns] = widths
    return out


def categorical_smoothing(n: int, n_choices: np.ndarray | int,
                          exploration: np.ndarray | float = 1.0) -> np.ndarray:
    """Share of an Aitchison-Aitken kernel spread over all categories, per column.

    ``min(1, exploration / sqrt(n + 1))`` for ``n`` observations: the fewer the
    observations, the flatter the kernels (1 for a column with a single category).

    Examples
    --------
    >>> categorical_smoothing(3, np.array([4, 1]), np.array([1.0, 1.0]))
    array([0.5, 1. ])
    """
    smoothing = np.minimum(1.0, np.asarray(exploration, dtype=float) / math.sqrt(n + 1))
    return np.where(np.asarray(n_choices) > 1, smoothing, 1.0)

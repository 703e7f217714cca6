"""The good/bad split of observed trials.

Each trial has a loss and a status code. Only finished, successful trials with a finite
loss (:data:`OK`) can be *good*. Failed trials (:data:`FAILED`: error, timeout, memout,
crashed, or a non-finite loss) and pending ones (:data:`PENDING`, the constant liar)
are always bad. Pruned trials (:data:`PRUNED`) are bad too, but their partial loss
still informs: when a node has no successful trial yet, the best pruned trials (by
partial loss) form the good set, so a search where everything is pruned still learns.

Ties are broken by trial order (the earlier trial ranks first), so the split is a
deterministic function of its inputs.

Examples
--------
>>> import numpy as np
>>> good, bad = split(np.array([0.3, 0.1, np.nan, 0.2]), np.array([OK, OK, FAILED, OK]))
>>> good.tolist(), bad.tolist()
([1], [0, 2, 3])
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OK", "PRUNED", "FAILED", "PENDING", "STATUS_CODES", "n_good", "split", "good_weights"]

OK, PRUNED, FAILED, PENDING = 0, 1, 2, 3

#: Status name (as in ``automl.tpe.STATUSES``) -> status code.
STATUS_CODES = {"ok": OK, "pruned": PRUNED, "error": FAILED, "timeout": FAILED,
                "memout": FAILED, "crashed": FAILED}

#: Percentage of the finished trials that form the good set, and its cap. 15% rather
#: than the usual 10% (Optuna, hyperopt): on the benchmarks of ``benchmarks/optimizer``
#: it lowered the regret on the conditional problems and on Hartmann-6 (RESULTS.md).
GAMMA_PERCENT = 15
MAX_GOOD = 25


def n_good(n: int) -> int:
    """Size of the good set among ``n`` finished trials: ``min(ceil(0.15 n), 25)``.

    Computed in integers, so ``n = 20`` gives exactly 3.

    Examples
    --------
    >>> [n_good(n) for n in (0, 1, 7, 20, 21, 1000)]
    [0, 1, 2, 3, 4, 25]
    """
    return min(-(-GAMMA_PERCENT * n // 100), MAX_GOOD)


def split(losses: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the good and of the bad trials.

    Parameters
    ----------
    losses : array of float
        Lower is better; may hold NaN or inf for failed trials.
    codes : array of int
        Status codes (:data:`OK`, :data:`PRUNED`, :data:`FAILED`, :data:`PENDING`).

    Returns
    -------
    good, bad : arrays of int
        Sorted indices into ``losses``; together they cover every trial once.

    Examples
    --------
    >>> split(np.array([1.0, 1.0, 1.0]), np.array([OK, OK, OK]))[0].tolist()
    [0]
    """
    losses = np.asarray(losses, dtype=float)
    codes = np.asarray(codes)
    finished = int(np.count_nonzero(codes != PENDING))
    eligible = ((codes == OK) & np.isfinite(losses)).nonzero()[0]
    if eligible.size == 0:
        eligible = ((codes == PRUNED) & np.isfinite(losses)).nonzero()[0]
    order = eligible[losses[eligible].argsort(kind="stable")]
    good = order[:min(n_good(finished), eligible.size)].copy()
    good.sort()
    is_good = np.zeros(len(losses), dtype=bool)
    is_good[good] = True
    return good, (~is_good).nonzero()[0]


def good_weights(losses: np.ndarray, good: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Weights of the good trials: their improvement over the split threshold.

    The threshold is the best finite loss of the bad set (or the worst good loss if the
    bad set has none). Weights are proportional to ``threshold - loss`` plus a floor of
    a tenth of the mean, so a trial much better than the rest dominates the good density
    while barely-good trials still count; they average to one.

    Examples
    --------
    >>> good_weights(np.array([0.0, 0.9, 1.0]), np.array([0, 1]), np.array([2])).round(3)
    array([1.744, 0.256])
    """
    values = np.asarray(losses, dtype=float)
    good_losses = values[good]
    if good_losses.size == 0:
        return np.ones(0)
    finite_bad = values[bad][np.isfinite(values[bad])]
    threshold = finite_bad.min() if finite_bad.size else good_losses.max()
    gain = np.maximum(threshold - good_losses, 0.0)
    if gain.sum() <= 0.0:
        return np.ones(good_losses.size)
    gain = gain + 0.1 * (np.add.reduce(gain) / gain.size)  # the mean, without its wrapper
    return gain / (np.add.reduce(gain) / gain.size)

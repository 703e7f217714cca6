"""The acquisition: draw candidates from l(x), keep the one with the best l(x)/g(x).

Examples
--------
>>> import numpy as np
>>> from automl.tpe.parzen import Dim, ParzenEstimator
>>> dims = [Dim.continuous(0.0, 1.0)]
>>> good = ParzenEstimator(np.array([[0.1], [0.15]]), dims)
>>> bad = ParzenEstimator(np.array([[0.8], [0.9], [0.7]]), dims)
>>> best = select(good, bad, np.random.default_rng(0))
>>> bool(best[0] < 0.5)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from automl.tpe.parzen import ParzenEstimator

__all__ = ["N_CANDIDATES", "CHOICE_COUNT_BONUS", "Density", "count_bonus", "log_ratio", "select",
           "select_split"]

#: Candidates drawn from l(x) per decision (Bergstra et al. 2011; Optuna and hyperopt).
N_CANDIDATES = 24
#: Weight of the trial-count bonus at ``Choice`` columns (:func:`count_bonus`): 0.3 beat
#: 0 and 0.1 on the three conditional benchmarks (40-100 seeds, RESULTS.md).
CHOICE_COUNT_BONUS = 0.3


class Density(Protocol):
    """What the acquisition needs of l and g: a :class:`~automl.tpe.parzen.ParzenEstimator`
    (points are arrays) or a :class:`~automl.tpe.mixture.TreeMixture` (whole branches)."""

    def sample(self, rng: np.random.Generator, size: int,
               allowed: Mapping[int, np.ndarray] | None = None) -> Any: ...

    def log_pdf(self, points: Any) -> np.ndarray: ...


def log_ratio(good: Density, bad: Density, points: Any) -> np.ndarray:
    """``log l(x) - log g(x)`` for each candidate."""
    return good.log_pdf(points) - bad.log_pdf(points)


def select(good: Density, bad: Density, rng: np.random.Generator,
           n_candidates: int = N_CANDIDATES,
           allowed: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """The candidate (one row) with the highest ``l(x) / g(x)`` among draws from ``l``.

    For a :class:`~automl.tpe.mixture.TreeMixture` the candidates are whole branches and
    the row returned is the best branch's row in the mixture's own group.
    ``allowed`` restricts categorical columns as in :meth:`ParzenEstimator.sample`.
    Ties go to the first candidate drawn, so the choice is deterministic given ``rng``.
    """
    candidates = good.sample(rng, n_candidates, allowed)
    return candidates[int(np.argmax(log_ratio(good, bad, candidates)))]


def count_bonus(candidates: np.ndarray, counts: Mapping[int, np.ndarray]) -> np.ndarray:
    """Exploration bonus of each candidate for the options it takes at ``Choice`` columns.

    ``counts`` maps a column to the number of trials of each of its options; the bonus is
    ``CHOICE_COUNT_BONUS * sqrt(log(n + 1) / (n_option + 1))`` summed over the columns, with
    ``n`` the column's total, so a rarely tried option gains on ``log l - log g`` (a UCB
    term): it keeps a branch whose first trials were poor from being starved by one that
    was easy to make look good (the "trap" of the ``functions`` benchmark, RESULTS.md).

    Examples
    --------
    >>> bonus = count_bonus(np.array([[0.0], [1.0]]), {0: np.array([9, 0])})
    >>> bool(bonus[1] > bonus[0] > 0)
    True
    """
    bonus = np.zeros(len(candidates))
    for column, per_option in counts.items():
        scale = math.log(float(per_option.sum()) + 1.0)
        taken = per_option[candidates[:, column].astype(np.int64)]
        bonus += np.sqrt(scale / (taken + 1.0))
    return CHOICE_COUNT_BONUS * bonus


def select_split(mixtures: ParzenEstimator, rng: np.random.Generator,
                 n_candidates: int = N_CANDIDATES,
                 allowed: Mapping[int, np.ndarray] | None = None,
                 counts: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """As :func:`select`, for l and g held as blocks 0 and 1 of one stacked estimator.

    Both densities are evaluated in one pass (:meth:`ParzenEstimator.log_pdfs`). With
    ``counts`` (trials per option of the ``Choice`` columns), :func:`count_bonus` is added
    to the log-ratio.

    Examples
    --------
    >>> from automl.tpe.parzen import Dim
    >>> pair = ParzenEstimator.stacked([(np.array([[0.1], [0.15]]), None),
    ...                                 (np.array([[0.8], [0.9], [0.7]]), None)],
    ...                                [Dim.continuous(0.0, 1.0)])
    >>> bool(select_split(pair, np.random.default_rng(0))[0] < 0.5)
    True
    """
    candidates = mixtures.sample(rng, n_candidates, allowed)
    log_good, log_bad = mixtures.log_pdfs(candidates)
    score = log_good - log_bad
    if counts:
        score += count_bonus(candidates, counts)
    return candidates[int(np.argmax(score))]

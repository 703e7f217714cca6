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
import operator
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any, NamedTuple, Protocol

import numpy as np

from automl.tpe.parzen import ParzenEstimator
from automl.tpe.split import n_good

__all__ = ["N_CANDIDATES", "CHOICE_COUNT_BONUS", "BRANCH_BONUS", "PATHS_BONUS", "Branches",
           "Density",
           "branch_bonus", "branches", "count_bonus", "log_ratio", "path_products", "select",
           "select_split"]

#: Candidates drawn from l(x) per decision (Bergstra et al. 2011; Optuna and hyperopt).
N_CANDIDATES = 24
#: Weight of the trial-count bonus at ``Choice`` columns (:func:`count_bonus`): 0.3 beat
#: 0 and 0.1 on the three conditional benchmarks (40-100 seeds, RESULTS.md).
CHOICE_COUNT_BONUS = 0.3
#: Weight of the best-loss bonus of an option combination (:func:`branch_bonus`): with
#: 0.6 the median regret at 100 evaluations was lower than with 0 on the three
#: conditional benchmarks over 80 seeds (0.45 and 0.8 alike on "nested"), but more runs
#: stay on the "functions" trap at 200 (RESULTS.md, round 5). 0 gives round 4's draws.
BRANCH_BONUS = 0.6
#: Weight of the extra exploration of an option combination that holds several branches
#: (:func:`branches`, ``paths``): 2 found the narrow optimum of "nested" in more runs over
#: 80 seeds, leaving the problems without nested choices unchanged (RESULTS.md, round 7).
PATHS_BONUS = 2.0
#: Largest number of option combinations kept in a table indexed by combination.
_DENSE = 1 << 16


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


def count_bonus(candidates: np.ndarray, counts: Mapping[int, Sequence[int]]) -> np.ndarray:
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
    tables = []  # per column, the term of each option (a handful: plain floats are cheaper)
    for per_option in counts.values():
        per_option = [int(n) for n in per_option]
        scale = math.log(float(sum(per_option)) + 1.0)
        tables.append([math.sqrt(scale / (n + 1.0)) for n in per_option])
    bonus = []
    for options in candidates[:, list(counts)].astype(np.int64).tolist():
        total = 0.0
        for table, option in zip(tables, options):  # column after column, from zero
            total += table[option]
        bonus.append(CHOICE_COUNT_BONUS * total)
    return np.array(bonus)


class Branches(NamedTuple):
    """The option combinations a group's trials took at its ``Choice`` columns, and how
    close each one's best loss is to the group's best (1 for the best, towards 0 for the
    worst, 0 for one not tried); see :func:`branches`.

    A combination is the integer ``options @ radix``; ``closeness`` (and ``trials``,
    every trial's combination counted, kept only with ``paths``) is indexed by it when
    ``keys`` is None (few possible combinations), else aligned with the sorted ``keys``
    of the combinations with a successful trial. ``paths`` (per column, the branches
    below each option) and ``n_trials`` feed :func:`paths_exploration`;
    ``path_products`` (:func:`path_products`, dense tables only) holds the product of
    ``paths`` for every combination.
    """

    columns: list[int]
    radix: np.ndarray
    keys: np.ndarray | None
    closeness: np.ndarray
    trials: np.ndarray | None = None
    paths: Sequence[np.ndarray] | None = None
    n_trials: int = 0
    path_products: np.ndarray | None = None


def path_products(paths: Sequence[np.ndarray]) -> np.ndarray:
    """For every combination (``options @ radix``, as in :func:`branches`) of the options
    of some ``Choice`` columns, the product of ``paths[j][option_j]``, multiplied column
    after column from one as :func:`branch_bonus` does for a candidate (same values).

    Examples
    --------
    >>> path_products([np.array([1.0, 3.0]), np.array([1.0, 2.0, 1.0])]).tolist()
    [1.0, 3.0, 2.0, 6.0, 1.0, 3.0]
    """
    sizes = [len(p) for p in paths]
    every = np.arange(math.prod(sizes))
    products = np.ones(len(every))
    for per_option, stride in zip(paths, accumulate([1, *sizes[:-1]], operator.mul)):
        products *= per_option[every // stride % len(per_option)]
    return products


def branches(values: np.ndarray, columns: list[int], n_choices: Sequence[int],
             losses: np.ndarray, usable: np.ndarray,
             paths: Sequence[np.ndarray] | None = None, *, every: np.ndarray | None = None,
             trials: np.ndarray | None = None,
             products: np.ndarray | None = None) -> Branches:
    """Closeness of each option combination's best loss to the best loss of all.

    ``values`` are a group's rows, ``columns`` its ``Choice`` columns (with ``n_choices``
    options each), ``usable`` flags the successful trials with a finite loss. A
    combination whose best loss is ``b`` gets ``exp(-(b - best) / (threshold - best))``,
    with ``threshold`` the loss ranked just after the good set of the usable trials
    (:func:`~automl.tpe.split.n_good`): 1 for the best combination, ``exp(-1)`` for one
    whose best only matches the edge of the good set.

    ``paths`` (per column, the number of branches below each option relative to the
    column's fewest, :func:`~automl.tpe.tree.leaf_paths`) adds :func:`paths_exploration`
    to :func:`branch_bonus`. A caller that keeps them between calls can pass ``every``
    (each row's combination, ``values[:, columns] @ radix``) and, for a dense table,
    ``trials`` (every row counted per combination) and ``products``
    (:func:`path_products`).

    Examples
    --------
    >>> b = branches(np.array([[0.0], [0.0], [1.0], [1.0]]), [0], [3],
    ...              np.array([0.1, 0.5, 0.2, 0.9]), np.ones(4, dtype=bool))
    >>> b.closeness.round(3).tolist()
    [1.0, 0.368, 0.0]
    """
    radix = np.array([1, *accumulate(n_choices[:-1], operator.mul)])  # exact integers
    possible = int(radix[-1]) * int(n_choices[-1])
    if every is None:
        every = (values[:, columns] @ radix).astype(np.int64)  # exact: small integers
    keys, losses = every[usable], losses[usable]
    if possible <= _DENSE:
        distinct, index, size = None, keys, possible
    else:
        distinct, index = np.unique(keys, return_inverse=True)
        size = len(distinct)
    closeness = _closeness(losses, index, size)
    if paths is None:
        return Branches(columns, radix, distinct, closeness)
    if distinct is not None:
        tried = np.sort(every)
        trials = tried.searchsorted(distinct, "right") - tried.searchsorted(distinct, "left")
        products = None
    elif trials is None:
        trials = np.bincount(every, minlength=possible)
    return Branches(columns, radix, distinct, closeness, trials, paths, len(every), products)


def _closeness(losses: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """``exp(-(best of each combination - best) / (threshold - best))``; see :func:`branches`."""
    n = len(losses)
    if n < 2:
        return np.zeros(size)
    edge = min(n - 1, max(1, n_good(n)))
    ranked = losses.copy()
    ranked.partition((0, edge))
    best, threshold = ranked[[0, edge]]
    scale = max(threshold - best, 1e-12)
    best_of = np.empty(size)
    best_of.fill(np.inf)
    np.minimum.at(best_of, index, losses)
    return np.exp(-((best_of - best) / scale))


def paths_exploration(n_k: np.ndarray, p_k: np.ndarray, n: int) -> np.ndarray:
    """Extra exploration of option combinations that hold several branches.

    A combination whose options lead to ``p_k`` times as many branches below as the
    plainest one (a model with a nested kernel choice beside models without) needs about
    ``p_k`` times its trials before its best loss says as much, so it gets the UCB term
    it would have with ``n_k / p_k`` trials instead of ``n_k``, minus the term of ``n_k``:
    ``PATHS_BONUS * sqrt(log(n + 1)) * (1 / sqrt(n_k / p_k + 1) - 1 / sqrt(n_k + 1))``,
    with ``n`` the group's trials. It is 0 for a plain combination (``p_k = 1``) and for
    one never tried (the count bonus, :func:`count_bonus`, covers those).

    Examples
    --------
    >>> paths_exploration(np.array([2.0, 2.0, 0.0]), np.array([3.0, 1.0, 3.0]), 4).round(3)
    array([0.5, 0. , 0. ])
    """
    scale = PATHS_BONUS * math.sqrt(math.log(n + 1.0))
    return scale * (1.0 / np.sqrt(n_k / p_k + 1.0) - 1.0 / np.sqrt(n_k + 1.0))


def _explore(candidates: np.ndarray, known: Branches, n_k: np.ndarray,
             keys: np.ndarray) -> np.ndarray:
    """:func:`paths_exploration` of each candidate's combination (``keys``; ``n_k``: its
    trials)."""
    if known.path_products is not None:
        p_k = known.path_products[keys]
    else:
        p_k = np.ones(len(candidates))
        for column, per_option in zip(known.columns, known.paths):
            p_k *= per_option[candidates[:, column].astype(np.int64)]
    return paths_exploration(n_k.astype(float), p_k, known.n_trials)


def branch_bonus(candidates: np.ndarray, known: Branches) -> np.ndarray:
    """Bonus of each candidate for the option combination it takes: ``BRANCH_BONUS``
    times that combination's closeness (:func:`branches`), 0 for a combination not tried,
    plus the combination's :func:`paths_exploration` if ``known`` has ``paths``.

    An option whose best trial is close to the best of all keeps being explored even if
    most of its trials were poor (a model whose good region is narrow), while an option
    whose best is far behind is left to the count bonus (:func:`count_bonus`).

    Examples
    --------
    >>> known = branches(np.array([[0.0], [1.0], [1.0]]), [0], [3],
    ...                  np.array([0.1, 0.2, 0.9]), np.ones(3, dtype=bool))
    >>> branch_bonus(np.array([[0.0], [1.0], [2.0]]), known).round(3).tolist()
    [0.6, 0.221, 0.0]
    """
    keys = (candidates[:, known.columns] @ known.radix).astype(np.int64)
    if known.keys is None:
        bonus = BRANCH_BONUS * known.closeness[keys]
        return bonus if known.paths is None else bonus + _explore(candidates, known,
                                                                  known.trials[keys], keys)
    if not len(known.keys):
        return np.zeros(len(candidates))
    at = np.minimum(np.searchsorted(known.keys, keys), len(known.keys) - 1)
    found = known.keys[at] == keys
    bonus = BRANCH_BONUS * np.where(found, known.closeness[at], 0.0)
    if known.paths is None:
        return bonus
    return bonus + _explore(candidates, known, np.where(found, known.trials[at], 0), keys)


def select_split(mixtures: ParzenEstimator, rng: np.random.Generator,
                 n_candidates: int = N_CANDIDATES,
                 allowed: Mapping[int, np.ndarray] | None = None,
                 counts: Mapping[int, np.ndarray] | None = None,
                 known: Branches | None = None,
                 densities: tuple[Density, Density] | None = None) -> np.ndarray:
    """As :func:`select`, for l and g held as blocks 0 and 1 of one stacked estimator.

    Both densities are evaluated in one pass (:meth:`ParzenEstimator.log_pdfs`); with
    ``densities`` (l and g, e.g. :class:`~automl.tpe.counts.CountedMixture`), the
    candidates drawn from block 0 of ``mixtures`` are scored with them instead. With
    ``counts`` (trials per option of the ``Choice`` columns), :func:`count_bonus` is
    added to the log-ratio, and with ``known`` (:func:`branches`), :func:`branch_bonus`.

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
    if densities is None:
        log_good, log_bad = mixtures.log_pdfs(candidates)
        score = log_good - log_bad
    else:
        score = log_ratio(*densities, candidates)
    if counts:
        score += count_bonus(candidates, counts)
    if known is not None:
        score += branch_bonus(candidates, known)
    return candidates[int(score.argmax())]

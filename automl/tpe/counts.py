"""The mixture of a purely categorical group's rows, from counts kept as rows come and go.

At a group whose columns are all categorical (the root of the default space: the
algorithm and the preprocessing choices), the bad mixture ``g`` holds every row except
the few good ones: ~1,000 components at 1,000 trials, whose density at each candidate
a :class:`~automl.tpe.parzen.ParzenEstimator` computes term by term. Its kernels are
Aitchison-Aitken kernels with one smoothing per column, so a component gives category
``x_j`` the probability ``a_j + d_j [x_j = o_j]`` (``a_j = beta_j / k_j`` spread over the
``k_j`` categories, ``d_j = 1 - beta_j`` on its own category ``o_j``), and the product
over columns expands over the subsets ``S`` of the columns::

    sum_c prod_j (a_j + d_j [x_j = o_cj])
        = sum_S (prod_{j not in S} a_j) (prod_{j in S} d_j) M_S(x)

with ``M_S(x)`` the number of rows equal to ``x`` on the columns of ``S``. A
:class:`CategoryCounts` keeps every ``M_S`` (one table, updated when a row is added or
removed), so the density of ``g`` costs a lookup of ``2 ** d`` counts per candidate
whatever the number of rows: the same mixture (equal to ~1e-15 relative), not a model
of it. The good mixture ``l`` (a few weighted rows) is expanded the same way
(:meth:`CategoryCounts.weighted`), so a decision at such a group needs its Parzen
estimator only to draw the candidates.

Examples
--------
>>> import numpy as np
>>> from automl.tpe.parzen import Dim, ParzenEstimator
>>> dims = [Dim.categorical(3), Dim.categorical(2)]
>>> counts = CategoryCounts(dims)
>>> rows = np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 0.0]])
>>> for row in rows:
...     counts.add(row)
>>> points = np.array([[0.0, 1.0], [1.0, 0.0]])
>>> exact = ParzenEstimator(rows[1:], dims).log_pdf(points)
>>> bool(np.allclose(counts.mixture(rows[:1]).log_pdf(points), exact, rtol=1e-12))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from automl.tpe.rules import categorical_smoothing

__all__ = ["CategoryCounts", "CountedMixture", "MAX_COLUMNS", "MAX_TABLE"]

#: Most columns counted (``2 ** d`` subsets per row and per candidate).
MAX_COLUMNS = 6
#: Most entries of the table of counts (``prod(k_j + 1)``).
MAX_TABLE = 1 << 16


class CategoryCounts:
    """The rows of a purely categorical group counted on every subset of its columns.

    Parameters
    ----------
    dims : sequence of Dim
        The group's columns, all categorical (see :meth:`fits`).

    Attributes
    ----------
    n : int
        Rows counted.

    Examples
    --------
    >>> from automl.tpe.parzen import Dim
    >>> counts = CategoryCounts([Dim.categorical(2)])
    >>> counts.add([1.0]); counts.add([1.0]); counts.add([0.0])
    >>> counts.n, counts.count(np.array([[1.0]])).tolist()
    (3, [[3, 2]])
    """

    def __init__(self, dims: Sequence) -> None:
        if not self.fits(dims):
            raise ValueError("CategoryCounts needs 1 to {} categorical columns with at most "
                             "{} subset cells; got {}.".format(MAX_COLUMNS, MAX_TABLE,
                                                              list(dims)))
        self.n_choices = np.array([d.n_choices for d in dims], dtype=np.int64)
        self.exploration = np.array([d.exploration for d in dims], dtype=float)
        # a cell holds a category per column, or ``k_j`` for "any" (the column is not in S)
        radix = np.cumprod(np.concatenate([[1], self.n_choices[:-1] + 1]))
        subsets = np.arange(1 << len(dims))
        self._in_subset = (subsets >> np.arange(len(dims))[:, None]) & 1  # (d, 2 ** d)
        self._step = radix[:, None] * self._in_subset
        self._anywhere = int(self.n_choices @ radix)  # the cell of the empty subset
        self._table = np.zeros(math.prod((self.n_choices + 1).tolist()), dtype=np.int64)
        self._prior = float(np.prod(1.0 / self.n_choices))

    @staticmethod
    def fits(dims: Sequence) -> bool:
        """Whether a group's columns can be counted: all categorical, few enough."""
        return 0 < len(dims) <= MAX_COLUMNS and all(d.kind == "cat" for d in dims) \
            and math.prod(d.n_choices + 1 for d in dims) <= MAX_TABLE

    @property
    def n(self) -> int:
        return int(self._table[self._anywhere])

    def cells(self, points: np.ndarray) -> np.ndarray:
        """The cell of each point on each subset of the columns, shape ``(m, 2 ** d)``."""
        offsets = np.asarray(points).astype(np.int64) - self.n_choices
        return offsets @ self._step + self._anywhere

    def add(self, row: Sequence[float]) -> None:
        """Count a row (its cells are distinct: ``+=`` counts each once)."""
        self._table[self.cells(np.asarray(row)[None])[0]] += 1

    def remove(self, row: Sequence[float]) -> None:
        """Forget a row counted before."""
        self._table[self.cells(np.asarray(row)[None])[0]] -= 1

    def count(self, points: np.ndarray) -> np.ndarray:
        """``M_S(x)`` for each point and subset, shape ``(m, 2 ** d)``."""
        return self._table[self.cells(points)]

    def mixture(self, excluded: np.ndarray, prior_weight: float = 1.0) -> "CountedMixture":
        """The mixture of the counted rows except ``excluded`` (rows counted, e.g. the good
        ones), with a prior component of weight ``prior_weight``: the mixture
        ``ParzenEstimator(rows, dims, prior_weight)`` builds from the rest."""
        table = self._table
        if len(excluded):
            table = table - np.bincount(self.cells(excluded).ravel(), minlength=len(table))
        n = int(table[self._anywhere])
        return CountedMixture(self, table, n, n, prior_weight)

    def weighted(self, rows: np.ndarray, weights: np.ndarray,
                 prior_weight: float = 1.0) -> "CountedMixture":
        """The mixture ``ParzenEstimator(rows, dims, prior_weight, weights)`` of some rows
        (not necessarily counted), by the same expansion: ``M_S`` holds their weights."""
        n_subsets = self._in_subset.shape[1]
        table = np.bincount(self.cells(rows).ravel(), np.repeat(weights, n_subsets),
                            minlength=len(self._table))
        return CountedMixture(self, table, len(rows), float(np.add.reduce(weights)),
                              prior_weight)


class CountedMixture:
    """A mixture of Aitchison-Aitken product kernels given by its counts on every subset
    of the columns; see :meth:`CategoryCounts.mixture` and :meth:`CategoryCounts.weighted`.

    Parameters
    ----------
    counts : CategoryCounts
        The columns and the cells.
    table : ndarray
        The (weighted) number of rows in each cell.
    n_obs : int
        Rows in the mixture (the smoothing follows it).
    total : float
        Their total weight.
    prior_weight : float
        Weight of the prior component.
    """

    def __init__(self, counts: CategoryCounts, table: np.ndarray, n_obs: int, total: float,
                 prior_weight: float) -> None:
        self._counts, self._table, self.n = counts, table, n_obs
        beta = categorical_smoothing(n_obs, counts.n_choices, counts.exploration)
        spread, own = beta / counts.n_choices, 1.0 - beta
        # the weight of each subset S: prod of ``own`` over S, of ``spread`` elsewhere
        self._coefficients = np.multiply.reduce(
            np.where(counts._in_subset, own[:, None], spread[:, None]), axis=0)
        self._prior_term = prior_weight * counts._prior
        self._log_total = math.log(total + prior_weight)

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log mixture density at each row of ``points`` (category indices)."""
        matches = self._table[self._counts.cells(points)]
        density = matches.astype(float) @ self._coefficients + self._prior_term
        return np.log(density) - self._log_total

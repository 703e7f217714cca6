"""Parzen estimators: observations of a group of parameters -> a multivariate mixture.

A :class:`ParzenEstimator` models the parameters active together on one branch of the
space *jointly*: it has one mixture component per observation (a product of one kernel
per parameter, centred on that observation) plus one wide *prior* component. Candidates
are drawn a whole component at a time, so values that were observed together are
proposed together, and their density is a product over parameters inside each
component, so they are scored together.

Numeric columns of the observation matrix hold internal-scale values (see
:mod:`automl.tpe.kernels`), categorical columns hold category indices.

Examples
--------
>>> import numpy as np
>>> dims = [Dim.continuous(0.0, 1.0), Dim.categorical(3)]
>>> pe = ParzenEstimator(np.array([[0.2, 0.0], [0.8, 2.0]]), dims)
>>> pe.weights
array([0.33333333, 0.33333333, 0.33333333])
>>> x = pe.sample(np.random.default_rng(0), 4)
>>> pe.log_pdf(x).shape
(4,)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from automl.tpe.kernels import (categorical_mass, categorical_sample, integer_cells, logsumexp,
                                mass_from_tails, normal_mass, normal_tail, pick,
                                truncnorm_sample)
from automl.tpe.rules import bandwidths, categorical_smoothing

__all__ = ["Dim", "ParzenEstimator", "bandwidths", "categorical_smoothing", "logsumexp", "pick"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Largest number of possible rows of a purely categorical group for which equal rows
#: are merged by counting (one ``bincount``) rather than by sorting (``unique``).
_MAX_COUNTED = 1 << 16
#: Size (multiply-adds) from which a matrix product is computed without BLAS.
_BLAS_THREADED = 200_000
#: Log-terms this far below a block's largest add nothing to its sum in double precision.
_LOG_NEGLIGIBLE = -700.0


@dataclass(frozen=True)
class Dim:
    """One column of an observation matrix.

    Parameters
    ----------
    kind : {"float", "int", "cat"}
    low, high : float
        Bounds on the internal scale (for integers, the outer edges of the end cells).
    log : bool
        Whether the internal scale is the logarithm (integers need it to find cells).
    n_choices : int
        Number of categories (``kind == "cat"`` only).

    Examples
    --------
    >>> Dim.integer(1, 5).low
    0.5
    """

    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    n_choices: int = 0
    exploration: float = 1.0

    @classmethod
    def continuous(cls, low: float, high: float, log: bool = False) -> "Dim":
        """A real parameter in ``[low, high]`` (given on the value scale)."""
        if log:
            return cls("float", math.log(low), math.log(high), True)
        return cls("float", float(low), float(high), False)

    @classmethod
    def integer(cls, low: int, high: int, log: bool = False) -> "Dim":
        """An integer parameter in ``[low, high]`` (both included)."""
        edges = (low - 0.5, high + 0.5)
        if log:
            return cls("int", math.log(edges[0]), math.log(edges[1]), True)
        return cls("int", edges[0], edges[1], False)

    @classmethod
    def categorical(cls, n_choices: int, exploration: float = 1.0) -> "Dim":
        """A categorical parameter with categories ``0 .. n_choices - 1``.

        ``exploration`` scales the kernel smoothing (see :func:`categorical_smoothing`).
        """
        return cls("cat", n_choices=int(n_choices), exploration=float(exploration))

    @property
    def width(self) -> float:
        return self.high - self.low

    def snap(self, z: np.ndarray) -> np.ndarray:
        """Internal-scale values of the nearest valid values (integers are rounded)."""
        if self.kind != "int":
            return np.clip(z, self.low, self.high)
        k = self.integers(z)
        return np.log(k) if self.log else k

    def integers(self, z: np.ndarray) -> np.ndarray:
        """The integers (as floats) that internal-scale values ``z`` stand for."""
        values = np.exp(z) if self.log else np.asarray(z, dtype=float)
        lowest, highest = math.ceil(self._value(self.low)), math.floor(self._value(self.high))
        return np.clip(np.round(values), lowest, highest)

    def cells(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Internal-scale edges of the integer cells containing ``z``."""
        k = self.integers(z)
        if self.log:
            return np.log(k - 0.5), np.log(k + 0.5)
        return k - 0.5, k + 0.5

    def _value(self, z: float) -> float:
        return math.exp(z) if self.log else z


class _Layout(NamedTuple):
    numeric: list[int]
    categorical: list[int]
    low: np.ndarray
    high: np.ndarray
    widths: np.ndarray
    centre: np.ndarray
    cont: np.ndarray
    disc: np.ndarray
    disc_log: np.ndarray
    disc_lowest: np.ndarray
    disc_highest: np.ndarray
    n_choices: np.ndarray
    exploration: np.ndarray
    radix: np.ndarray
    offsets: np.ndarray
    n_categories: int
    n_rows_possible: int


@lru_cache(maxsize=1024)
def _layout(dims: tuple[Dim, ...]) -> _Layout:
    """What a list of columns implies, computed once per distinct list."""
    numeric = [j for j, d in enumerate(dims) if d.kind != "cat"]
    categorical = [j for j, d in enumerate(dims) if d.kind == "cat"]
    low = np.array([dims[j].low for j in numeric])
    high = np.array([dims[j].high for j in numeric])
    ints = [dims[j] for j in numeric if dims[j].kind == "int"]
    ends = np.array([d.integers(np.array([d.low, d.high])) for d in ints]).reshape(-1, 2)
    is_int = np.array([dims[j].kind == "int" for j in numeric], dtype=bool)
    n_choices = np.array([dims[j].n_choices for j in categorical], dtype=np.int64)
    return _Layout(numeric, categorical, low, high, high - low, 0.5 * (low + high),
                   np.flatnonzero(~is_int), np.flatnonzero(is_int),
                   np.array([d.log for d in ints], dtype=bool), ends[:, 0], ends[:, 1],
                   n_choices, np.array([dims[j].exploration for j in categorical], dtype=float),
                   np.cumprod(np.concatenate([[1], n_choices[:-1]])).astype(np.int64),
                   np.concatenate([[0], np.cumsum(n_choices)[:-1]]).astype(np.int64),
                   int(n_choices.sum()), math.prod(n_choices.tolist()))


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``, kept off BLAS's threads: above ~2**18 multiply-adds OpenBLAS splits a
    product over threads, which on a busy machine made one product 30-100x slower
    (milliseconds instead of tens of microseconds, RESULTS.md); ``einsum`` stays in one.

    Examples
    --------
    >>> _product(np.ones((2, 3)), np.ones((3, 4))).tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    if a.shape[0] * a.shape[1] * b.shape[1] < _BLAS_THREADED:
        return a @ b
    return np.einsum("ij,jk->ik", a, b)


class ParzenEstimator:
    """A mixture with one product kernel per observation and a prior component.

    One estimator can also hold several mixtures over the same columns (*blocks*, see
    :meth:`stacked`), typically the good and the bad trials of a split: their kernels are
    prepared and evaluated in one vectorised pass, which is what keeps a decision cheap.

    Parameters
    ----------
    observations : array of shape (n, len(dims))
        Internal-scale values (numeric columns) and category indices (categorical ones).
    dims : sequence of Dim
    prior_weight : float, default=1.0
        Weight of the prior component relative to one observation. The prior is centred
        on the middle of each range with a kernel as wide as the range, and uniform over
        categories.
    weights : array of shape (n,), optional
        Relative weights of the observations (default: all one).

    Attributes
    ----------
    weights : ndarray of shape (n + 1,)
        Mixture weights; the last one is the prior's (each block's weights sum to one,
        its prior last).
    mus, sigmas : ndarray of shape (n + 1, n_numeric)
        Kernel centres and widths of the numeric columns, per component.
    probs : list of ndarray of shape (n + 1, n_choices)
        Category probabilities of each categorical column, per component.

    Examples
    --------
    >>> pe = ParzenEstimator(np.array([[0.5]]), [Dim.continuous(0.0, 1.0)])
    >>> pe.mus.ravel().tolist(), pe.sigmas.ravel().tolist()
    ([0.5, 0.5], [0.5, 1.0])
    """

    def __init__(self, observations: np.ndarray, dims: Sequence[Dim],
                 prior_weight: float = 1.0, weights: np.ndarray | None = None) -> None:
        self._build(dims, [(observations, weights)], prior_weight, merge=False)

    @classmethod
    def stacked(cls, blocks: Sequence[tuple[np.ndarray, np.ndarray | None]],
                dims: Sequence[Dim], prior_weight: float = 1.0) -> "ParzenEstimator":
        """Several mixtures over the same columns, one per ``(observations, weights)`` block.

        Each block is the mixture ``ParzenEstimator(observations, dims, prior_weight,
        weights)`` would build; :meth:`log_pdfs` evaluates all of them at once and
        :meth:`sample` draws from one. Without numeric columns, equal observations of a
        block share one component (their weights add up): the same mixture, fewer terms.

        Examples
        --------
        >>> dims = [Dim.continuous(0.0, 1.0)]
        >>> pe = ParzenEstimator.stacked([(np.array([[0.1]]), None),
        ...                               (np.array([[0.8], [0.9]]), None)], dims)
        >>> pe.log_pdfs(np.array([[0.1]])).shape
        (2, 1)
        """
        estimator = cls.__new__(cls)
        estimator._build(dims, blocks, prior_weight, merge=True)
        return estimator

    def _build(self, dims: Sequence[Dim], blocks: Sequence[tuple[np.ndarray, np.ndarray | None]],
               prior_weight: float, merge: bool) -> None:
        self.dims = list(dims)
        lay = self._lay = _layout(tuple(self.dims))
        self.numeric, self.categorical = lay.numeric, lay.categorical
        merged = [self._merged(np.asarray(o, dtype=float).reshape(-1, len(dims)), w, merge)
                  for o, w in blocks]
        stops = list(accumulate(len(o) + 1 for o, _, _ in merged))
        self._blocks = list(zip([0, *stops[:-1]], stops))  # (start, stop) of each block
        self._starts = [start for start, _ in self._blocks]
        self._sizes = [stop - start for start, stop in self._blocks]
        total = stops[-1]
        self.weights = np.empty(total)
        self.mus = np.empty((total, len(lay.numeric)))
        self.sigmas = np.empty_like(self.mus)
        self._observed = np.empty((total, len(lay.categorical)), dtype=np.int64)
        self._observed.fill(-1)
        self._beta = np.empty((total, len(lay.categorical)))
        for (values, weights, n_obs), (start, _) in zip(merged, self._blocks):
            self._fill(start, values, weights, n_obs, prior_weight)
        self._prepared = False  # the normalisers wait for a density (a sampler may not need one)

    def _merged(self, obs: np.ndarray, weights: np.ndarray | None,
                merge: bool) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Without numeric columns, equal rows are equal kernels: one component each.

        Returns the distinct rows, their summed weights, and the number of observations.
        """
        n, lay = len(obs), self._lay
        if not merge or lay.numeric or n < 2:
            return obs, weights, n
        keys = obs.astype(np.int64) @ lay.radix  # one integer per distinct row
        if lay.n_rows_possible > _MAX_COUNTED:
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            return obs[first], np.bincount(inverse, weights, minlength=len(first)), n
        counts = np.bincount(keys, minlength=lay.n_rows_possible)  # no sort needed
        present = counts.nonzero()[0]
        summed = counts if weights is None else np.bincount(keys, weights, lay.n_rows_possible)
        first = np.empty(lay.n_rows_possible, dtype=np.intp)
        first[keys[::-1]] = np.arange(n - 1, -1, -1)  # the last write wins: the first row
        return obs[first[present]], summed[present].astype(float), n

    def _fill(self, start: int, obs: np.ndarray, weights: np.ndarray | None, n_obs: int,
              prior_weight: float) -> None:
        """One block's components: its (distinct) observations, then its prior."""
        lay, n = self._lay, len(obs)
        stop = start + n
        mixture = self.weights[start:stop + 1]
        mixture[:n] = 1.0 if weights is None else weights
        mixture[n] = prior_weight if n else 1.0
        mixture /= mixture.sum()
        if lay.numeric:
            self.mus[start:stop] = obs[:, lay.numeric]
            self.mus[stop] = lay.centre
            self.sigmas[start:stop] = bandwidths(self.mus[start:stop], lay.low, lay.high)
            self.sigmas[stop] = lay.widths
        if lay.categorical:
            self._observed[start:stop] = obs[:, lay.categorical]
            self._beta[start:stop + 1] = categorical_smoothing(n_obs, lay.n_choices,
                                                               lay.exploration)

    @property
    def probs(self) -> list[np.ndarray]:
        out = []
        for i, k in enumerate(self._lay.n_choices):
            observed, beta = self._observed[:, i], self._beta[:, i:i + 1]
            probs = np.repeat(beta / k, k, axis=1)
            rows = np.flatnonzero(observed >= 0)
            probs[rows, observed[rows]] += 1.0 - beta[rows, 0]
            probs[observed < 0] = 1.0 / k
            out.append(probs)
        return out

    def _prepare_log_pdf(self) -> None:
        """Precompute what does not depend on the points: the kernels' normalisers.

        An Aitchison-Aitken kernel gives one log-probability to its own category and
        another to all the rest, so the categorical part of a log-kernel is a constant per
        component plus a bonus for every column where the point matches the component.
        """
        lay = self._lay
        self._prepared = True
        self._inv_sigma = 1.0 / self.sigmas
        self._log_weights = np.log(self.weights)
        base = np.zeros(len(self.weights))
        if self.numeric:
            base -= np.log(normal_mass((lay.low - self.mus) * self._inv_sigma,
                                       (lay.high - self.mus) * self._inv_sigma)).sum(axis=1)
            base -= np.add.reduce(np.log(self.sigmas[:, lay.cont]) + _LOG_SQRT_2PI, axis=1)
            # -(x - mu)^2 / (2 sigma^2) expanded, so scoring is two matrix products
            precision = self._inv_sigma[:, lay.cont] ** 2
            centred = self.mus[:, lay.cont] * precision
            base -= 0.5 * np.add.reduce(centred * self.mus[:, lay.cont], axis=1)
            self._quadratic, self._linear = -0.5 * precision.T, centred.T
        if self.categorical:
            self._prepare_categorical(base)
        self._base = base

    def _prepare_categorical(self, base: np.ndarray) -> None:
        """The categorical constants, once per block (a block's kernels share their
        smoothing), added to ``base``; and the table of match bonuses."""
        lay = self._lay
        priors = [stop - 1 for _, stop in self._blocks]  # the prior's kernels are uniform
        beta = self._beta[priors]
        spread = beta / lay.n_choices
        miss = np.log(spread)
        bonus = np.log(spread + (1.0 - beta)) - miss
        per_row = np.add.reduce(miss, axis=1).repeat(self._sizes)
        per_row[priors] = (-np.log(lay.n_choices)).sum()
        base += per_row
        # one row per (column, category), one column per component: the bonus where
        # the component sits, so matching candidates is one gather and one sum (not a
        # matrix product: BLAS threads stall on a busy machine)
        seen = np.empty(len(base), dtype=bool)
        seen.fill(True)
        seen[priors] = False
        seen = seen.nonzero()[0]
        self._bonus_table = np.zeros((lay.n_categories, len(base)))
        at = (self._observed[seen] + lay.offsets) * len(base) + seen[:, None]  # flat: faster
        self._bonus_table.ravel()[at] = bonus.repeat([size - 1 for size in self._sizes], axis=0)

    def allowed_mass(self, allowed: Mapping[int, np.ndarray] | None) -> np.ndarray:
        """Probability that each component draws categories permitted by ``allowed``.

        ``allowed`` maps a categorical column to a boolean mask of permitted categories;
        the result has one entry per component (the prior last), all one without masks.
        """
        mass = np.ones(len(self.weights))
        for i, j in enumerate(self.categorical):
            mask = None if allowed is None else allowed.get(j)
            if mask is not None:
                mass = mass * categorical_mass(self._observed[:, i], int(self._lay.n_choices[i]),
                                               self._beta[:, i], mask)
        return mass

    def sample(self, rng: np.random.Generator, size: int,
               allowed: Mapping[int, np.ndarray] | None = None, block: int = 0) -> np.ndarray:
        """Draw ``size`` points from one block, each from one component chosen by weight.

        ``allowed`` maps a categorical column to a boolean mask of permitted
        categories: the mixture is then conditioned on that column being permitted.
        """
        start, stop = self._blocks[block]
        weights = self.weights[start:stop]
        if allowed:
            weights = weights * self.allowed_mass(allowed)[start:stop]
        return self.sample_components(rng, start + pick(rng, weights, size), allowed)

    def sample_components(self, rng: np.random.Generator, components: np.ndarray,
                          allowed: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """One point from each given component (the last of a block is its prior)."""
        lay = self._lay
        out = np.empty((len(components), len(self.dims)))
        if self.numeric:
            z = truncnorm_sample(self.mus[components], self.sigmas[components],
                                 lay.low, lay.high, rng)
            out[:, self.numeric] = self._snap(z)
        if self.categorical:
            observed, beta = self._observed[components], self._beta[components]
            keep = np.where(observed >= 0, 1.0 - beta, 0.0)
            fresh = rng.integers(0, lay.n_choices, size=observed.shape)
            out[:, self.categorical] = np.where(rng.uniform(size=keep.shape) < keep,
                                                observed, fresh)
            for i, j in enumerate(self.categorical):
                mask = None if allowed is None else allowed.get(j)
                if mask is not None:
                    out[:, j] = categorical_sample(observed[:, i], int(lay.n_choices[i]),
                                                   beta[:, i], rng, mask)
        return out

    def _snap(self, z: np.ndarray) -> np.ndarray:
        """Internal-scale values of the nearest valid values (integers rounded), all columns."""
        lay = self._lay
        z = np.minimum(np.maximum(z, lay.low), lay.high)  # a clip, without its wrapper
        if lay.disc.size:
            k = self._integers(z[:, lay.disc])
            k[:, lay.disc_log] = np.log(k[:, lay.disc_log])
            z[:, lay.disc] = k
        return z

    def _integers(self, z: np.ndarray) -> np.ndarray:
        """For integer columns (internal scale): the nearest integers, as floats."""
        lay = self._lay
        values = z.copy()
        values[:, lay.disc_log] = np.exp(values[:, lay.disc_log])
        return np.minimum(np.maximum(values.round(), lay.disc_lowest), lay.disc_highest)

    def log_kernels(self, points: np.ndarray) -> np.ndarray:
        """Log-density of each point under each component, shape ``(m, n_components)``.

        Mixture weights are left out; the last column of each block is its prior's.
        """
        if not self._prepared:
            self._prepare_log_pdf()
        lay = self._lay
        points = np.asarray(points, dtype=float)
        joint = np.empty((len(points), len(self._base)))
        joint[:] = self._base
        numeric = points[:, self.numeric]
        if lay.cont.size:
            x = numeric[:, lay.cont]
            joint += _product(x * x, self._quadratic)
            joint += _product(x, self._linear)
        if lay.disc.size:
            joint += self._discrete_log_mass(numeric[:, lay.disc])
        if self.categorical:
            at = points[:, self.categorical].astype(np.int64) + lay.offsets
            joint += np.add.reduce(self._bonus_table[at], axis=1)
        return joint

    def log_pdfs(self, points: np.ndarray) -> np.ndarray:
        """Log density of each block's mixture at each point, shape ``(n_blocks, m)``."""
        joint = self.log_kernels(points)
        joint += self._log_weights
        starts = self._starts
        top = np.maximum.reduceat(joint, starts, axis=1)  # each block's largest term
        joint -= top.repeat(self._sizes, axis=1)
        np.maximum(joint, _LOG_NEGLIGIBLE, out=joint)  # no subnormal numbers: exp is slow on them
        np.exp(joint, out=joint)
        return (np.log(np.add.reduceat(joint, starts, axis=1)) + top).T

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log mixture density (of the first block) at each row of ``points``."""
        return self.log_pdfs(points)[0]

    def _discrete_log_mass(self, ints: np.ndarray) -> np.ndarray:
        """Un-normalised log-masses of the integer cells, summed over the integer columns.

        Draws repeat, so each column's cell masses are computed once per cell and
        component (:func:`~automl.tpe.kernels.integer_cells`), then gathered for every
        candidate; the normal tails of every column's edges are computed in one pass.
        """
        lay = self._lay
        k = self._integers(ints)
        mu, inv = self.mus[:, lay.disc], self._inv_sigma[:, lay.disc]
        z_parts, lo_parts, hi_parts, cells = [], [], [], []
        n_edges = n_cells_before = 0
        for c, is_log in enumerate(lay.disc_log.tolist()):
            edges, at, lo, hi = integer_cells(k[:, c], float(lay.disc_lowest[c]),
                                              float(lay.disc_highest[c]))
            z_parts.append(((np.log(edges) if is_log else edges)[:, None] - mu[:, c]) * inv[:, c])
            lo_parts.append(lo + n_edges)
            hi_parts.append(hi + n_edges)
            cells.append(at + n_cells_before)  # each candidate's row of ``log_mass``
            n_edges += len(edges)
            n_cells_before += len(lo)
        z = z_parts[0] if len(z_parts) == 1 else np.concatenate(z_parts)
        tail = normal_tail(np.abs(z))
        lo, hi = np.concatenate(lo_parts), np.concatenate(hi_parts)
        log_mass = np.log(mass_from_tails(z[lo], z[hi], tail[lo], tail[hi]))  # (cells, components)
        total = log_mass[cells[0]]
        for at in cells[1:]:  # summed column after column, as before
            total += log_mass[at]
        return total

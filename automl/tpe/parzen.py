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
from typing import NamedTuple

import numpy as np

from automl.tpe.kernels import (categorical_log_hit_miss, categorical_mass, categorical_probs,
                                categorical_sample, normal_mass, truncnorm_sample)

__all__ = ["Dim", "ParzenEstimator", "bandwidths", "categorical_smoothing", "logsumexp", "pick"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


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
    order = np.argsort(mus, axis=0, kind="stable")
    columns = np.arange(mus.shape[1])
    ranked = mus[order, columns]
    gaps = np.diff(np.concatenate([low[None, :], ranked, high[None, :]], axis=0), axis=0)
    widths = np.maximum(gaps[:-1], gaps[1:])
    if n >= 2:
        widths[0], widths[-1] = gaps[1], gaps[-2]
    span = high - low
    widths = np.clip(widths, span / min(100, n + 2), span)
    out = np.empty_like(widths)
    out[order, columns] = widths
    return out


def categorical_smoothing(n: int, n_choices: int, exploration: float = 1.0) -> float:
    """Share of an Aitchison-Aitken kernel spread over all categories.

    ``min(1, exploration / sqrt(n + 1))`` for ``n`` observations: the fewer the
    observations, the flatter the kernels.

    Examples
    --------
    >>> categorical_smoothing(3, 4)
    0.5
    """
    return float(min(1.0, exploration / math.sqrt(n + 1))) if n_choices > 1 else 1.0


class _Layout(NamedTuple):
    numeric: list[int]
    categorical: list[int]
    low: np.ndarray
    high: np.ndarray
    widths: np.ndarray
    centre: np.ndarray
    cont: np.ndarray
    disc: np.ndarray
    n_choices: np.ndarray
    exploration: np.ndarray


@lru_cache(maxsize=1024)
def _layout(dims: tuple[Dim, ...]) -> _Layout:
    """What a list of columns implies, computed once per distinct list."""
    numeric = [j for j, d in enumerate(dims) if d.kind != "cat"]
    categorical = [j for j, d in enumerate(dims) if d.kind == "cat"]
    low = np.array([dims[j].low for j in numeric])
    high = np.array([dims[j].high for j in numeric])
    is_int = np.array([dims[j].kind == "int" for j in numeric], dtype=bool)
    return _Layout(numeric, categorical, low, high, high - low, 0.5 * (low + high),
                   np.flatnonzero(~is_int), np.flatnonzero(is_int),
                   np.array([dims[j].n_choices for j in categorical], dtype=float),
                   np.array([dims[j].exploration for j in categorical], dtype=float))


def pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probabilities proportional to ``weights``.

    Examples
    --------
    >>> pick(np.random.default_rng(0), np.array([0.0, 1.0, 0.0]), 3).tolist()
    [1, 1, 1]
    """
    cumulative = np.cumsum(weights)
    drawn = np.searchsorted(cumulative, rng.uniform(size=size) * cumulative[-1], side="right")
    return np.minimum(drawn, len(weights) - 1)


def logsumexp(joint: np.ndarray) -> np.ndarray:
    """``log(sum(exp(joint), axis=1))``, computed stably.

    Examples
    --------
    >>> np.exp(logsumexp(np.log(np.array([[1.0, 3.0], [0.5, 0.5]]))))
    array([4., 1.])
    """
    top = joint.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True)))[:, 0]


class ParzenEstimator:
    """A mixture with one product kernel per observation and a prior component.

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
        Mixture weights; the last one is the prior's.
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
        obs = np.asarray(observations, dtype=float).reshape(-1, len(dims))
        n = len(obs)
        self.dims = list(dims)
        lay = _layout(tuple(self.dims))
        self.numeric, self.categorical = lay.numeric, lay.categorical
        self._low, self._high, self._n_choices = lay.low, lay.high, lay.n_choices
        self._cont, self._disc = lay.cont, lay.disc
        mixture = np.ones(n + 1)
        if weights is not None:
            mixture[:n] = weights
        mixture[n] = prior_weight if n else 1.0
        self.weights = mixture / mixture.sum()
        self.mus = np.empty((n + 1, len(lay.numeric)))
        self.mus[:n] = obs[:, lay.numeric]
        self.mus[n] = lay.centre
        self.sigmas = np.empty_like(self.mus)
        self.sigmas[:n] = bandwidths(self.mus[:n], lay.low, lay.high)
        self.sigmas[n] = lay.widths
        self._beta = np.array([categorical_smoothing(n, int(k), e)
                               for k, e in zip(lay.n_choices, lay.exploration)])
        self._observed = np.full((n + 1, len(lay.categorical)), -1, dtype=int)
        self._observed[:n] = obs[:, lay.categorical]
        self._prepare_log_pdf()

    @property
    def probs(self) -> list[np.ndarray]:
        return [categorical_probs(self._observed[:, i], int(self._n_choices[i]), self._beta[i])
                for i in range(len(self.categorical))]

    def _prepare_log_pdf(self) -> None:
        """Precompute what does not depend on the points: the kernels' normalisers."""
        self._inv_sigma = 1.0 / self.sigmas
        self._log_weights = np.log(self.weights)
        base = np.zeros(len(self.weights))
        if self.numeric:
            base -= np.log(normal_mass((self._low - self.mus) * self._inv_sigma,
                                       (self._high - self.mus) * self._inv_sigma)).sum(axis=1)
            base -= (np.log(self.sigmas[:, self._cont]) + _LOG_SQRT_2PI).sum(axis=1)
        self._base = base + self._prepare_categorical()

    def _prepare_categorical(self) -> np.ndarray:
        """Per-component sum of the categorical "miss" log-probabilities; keep the "hit" bonus.

        An Aitchison-Aitken kernel gives one log-probability to its own category and
        another to all the rest, so the categorical part of a log-kernel is a constant per
        component plus a bonus for every column where the point matches the component.
        """
        pairs = [categorical_log_hit_miss(int(k), b) for k, b in zip(self._n_choices, self._beta)]
        hit = np.array([p[0] for p in pairs])
        miss = np.tile(np.array([p[1] for p in pairs]), (len(self.weights), 1))
        self._cat_bonus = hit - miss[0] if pairs else hit
        prior = self._observed < 0  # the prior's kernels are uniform
        uniform = np.array([-math.log(k) for k in self._n_choices])
        miss[prior] = np.broadcast_to(uniform, miss.shape)[prior]
        return miss.sum(axis=1)

    def allowed_mass(self, allowed: Mapping[int, np.ndarray] | None) -> np.ndarray:
        """Probability that each component draws categories permitted by ``allowed``.

        ``allowed`` maps a categorical column to a boolean mask of permitted categories;
        the result has one entry per component (the prior last), all one without masks.
        """
        mass = np.ones(len(self.weights))
        for i, j in enumerate(self.categorical):
            mask = None if allowed is None else allowed.get(j)
            if mask is not None:
                mass = mass * categorical_mass(self._observed[:, i], int(self._n_choices[i]),
                                               self._beta[i], mask)
        return mass

    def sample(self, rng: np.random.Generator, size: int,
               allowed: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """Draw ``size`` points, each from one component chosen by weight.

        ``allowed`` maps a categorical column to a boolean mask of permitted
        categories: the mixture is then conditioned on that column being permitted.
        """
        components = pick(rng, self.weights * self.allowed_mass(allowed), size)
        return self.sample_components(rng, components, allowed)

    def sample_components(self, rng: np.random.Generator, components: np.ndarray,
                          allowed: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """One point from each given component (index ``n`` is the prior)."""
        out = np.empty((len(components), len(self.dims)))
        if self.numeric:
            z = truncnorm_sample(self.mus[components], self.sigmas[components],
                                 self._low, self._high, rng)
            for i, j in enumerate(self.numeric):
                out[:, j] = self.dims[j].snap(z[:, i])
        for i, j in enumerate(self.categorical):
            out[:, j] = categorical_sample(self._observed[components, i], int(self._n_choices[i]),
                                           self._beta[i], rng,
                                           None if allowed is None else allowed.get(j))
        return out

    def log_kernels(self, points: np.ndarray) -> np.ndarray:
        """Log-density of each point under each component, shape ``(m, n + 1)``.

        Mixture weights are left out; the last column is the prior's.
        """
        points = np.asarray(points, dtype=float)
        joint = np.tile(self._base, (len(points), 1))
        numeric = points[:, self.numeric]
        if self._cont.size:
            cont = self._cont
            u = (numeric[:, None, cont] - self.mus[:, cont]) * self._inv_sigma[:, cont]
            joint -= 0.5 * np.einsum("cmd,cmd->cm", u, u)
        if self._disc.size:
            joint += self._discrete_log_mass(numeric).sum(axis=2)
        if self.categorical:
            same = points[:, None, self.categorical] == self._observed[None, :, :]
            joint += same @ self._cat_bonus
        return joint

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log mixture density of each row of ``points`` (shape ``(m, len(dims))``)."""
        return logsumexp(self.log_kernels(points) + self._log_weights)

    def _discrete_log_mass(self, numeric: np.ndarray) -> np.ndarray:
        """Un-normalised log-masses of the integer cells, shape (points, components, ints)."""
        cells = [self.dims[self.numeric[i]].cells(numeric[:, i]) for i in self._disc]
        lo = np.stack([c[0] for c in cells], axis=1)[:, None, :]
        hi = np.stack([c[1] for c in cells], axis=1)[:, None, :]
        mu, inv = self.mus[:, self._disc], self._inv_sigma[:, self._disc]
        return np.log(normal_mass((lo - mu) * inv, (hi - mu) * inv))

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

import numpy as np

from automl.tpe.kernels import (categorical_probs, categorical_sample, discrete_logpmf,
                                truncnorm_logpdf, truncnorm_sample)

__all__ = ["Dim", "ParzenEstimator", "bandwidth", "categorical_smoothing"]

#: Scott-rule multiplier on the width of the range (Optuna's multivariate TPE uses 0.2).
BANDWIDTH_FACTOR = 0.2


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
    def categorical(cls, n_choices: int) -> "Dim":
        """A categorical parameter with categories ``0 .. n_choices - 1``."""
        return cls("cat", n_choices=int(n_choices))

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


def bandwidth(n: int, n_dims: int, width: float) -> float:
    """Kernel width for ``n`` observations of a group of ``n_dims`` parameters.

    Scott's rule on the range, ``0.2 * width * n ** (-1 / (n_dims + 4))``, never below
    the magic-clip floor ``width / min(100, n + 1)`` of Bergstra et al. and never above
    ``width``.

    Examples
    --------
    >>> round(bandwidth(1, 1, 10.0), 3)
    5.0
    """
    scott = BANDWIDTH_FACTOR * width * max(n, 1) ** (-1.0 / (n_dims + 4))
    floor = width / min(100, n + 1)
    return float(min(width, max(scott, floor)))


def categorical_smoothing(n: int, n_choices: int) -> float:
    """Share of an Aitchison-Aitken kernel spread over all categories.

    Examples
    --------
    >>> categorical_smoothing(3, 4)
    0.5
    """
    return float(min(1.0, 1.0 / math.sqrt(n + 1))) if n_choices > 1 else 1.0


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
                 prior_weight: float = 1.0) -> None:
        obs = np.asarray(observations, dtype=float).reshape(-1, len(dims))
        n = len(obs)
        self.dims = list(dims)
        self.numeric = [j for j, d in enumerate(self.dims) if d.kind != "cat"]
        self.categorical = [j for j, d in enumerate(self.dims) if d.kind == "cat"]
        weights = np.append(np.ones(n), prior_weight if n else 1.0)
        self.weights = weights / weights.sum()
        self._log_weights = np.log(self.weights)
        self.mus, self.sigmas = self._numeric_kernels(obs)
        self.probs = [self._categorical_kernels(obs[:, j], self.dims[j].n_choices)
                      for j in self.categorical]
        self._log_probs = [np.log(p) for p in self.probs]

    def _numeric_kernels(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, cols = len(obs), [self.dims[j] for j in self.numeric]
        mus = np.empty((n + 1, len(cols)))
        sigmas = np.empty((n + 1, len(cols)))
        for i, (j, dim) in enumerate(zip(self.numeric, cols)):
            mus[:n, i] = obs[:, j]
            mus[n, i] = 0.5 * (dim.low + dim.high)
            sigmas[:n, i] = bandwidth(n, len(self.dims), dim.width)
            sigmas[n, i] = dim.width
        return mus, sigmas

    @staticmethod
    def _categorical_kernels(observed: np.ndarray, n_choices: int) -> np.ndarray:
        kernels = categorical_probs(observed.astype(int), n_choices,
                                    categorical_smoothing(len(observed), n_choices))
        return np.vstack([kernels, np.full((1, n_choices), 1.0 / n_choices)])

    def sample(self, rng: np.random.Generator, size: int,
               allowed: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """Draw ``size`` points, each from one component chosen by weight.

        ``allowed`` maps a categorical column to a boolean mask of permitted
        categories: the mixture is then conditioned on that column being permitted.
        """
        weights, masked = self._conditioned(allowed or {})
        components = categorical_sample(np.broadcast_to(weights, (size, len(weights))), rng)
        out = np.empty((size, len(self.dims)))
        for i, j in enumerate(self.numeric):
            dim = self.dims[j]
            z = truncnorm_sample(self.mus[components, i], self.sigmas[components, i],
                                 dim.low, dim.high, rng)
            out[:, j] = dim.snap(z)
        for i, j in enumerate(self.categorical):
            out[:, j] = categorical_sample(masked[i][components], rng)
        return out

    def _conditioned(self, allowed: Mapping[int, np.ndarray]) -> tuple[np.ndarray, list]:
        weights = self.weights.copy()
        masked = list(self.probs)
        for i, j in enumerate(self.categorical):
            if j in allowed:
                masked[i] = self.probs[i] * np.asarray(allowed[j], dtype=float)
                weights = weights * masked[i].sum(axis=1)
        return weights / weights.sum(), masked

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log mixture density of each row of ``points`` (shape ``(m, len(dims))``)."""
        points = np.asarray(points, dtype=float)
        joint = np.broadcast_to(self._log_weights, (len(points), len(self.weights))).copy()
        for i, j in enumerate(self.numeric):
            joint += self._numeric_log_kernel(points[:, j], i)
        for i, j in enumerate(self.categorical):
            joint += self._log_probs[i][:, points[:, j].astype(int)].T
        top = joint.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True)))[:, 0]

    def _numeric_log_kernel(self, z: np.ndarray, i: int) -> np.ndarray:
        dim = self.dims[self.numeric[i]]
        mu, sigma = self.mus[:, i], self.sigmas[:, i]
        if dim.kind == "int":
            lo, hi = dim.cells(z)
            return discrete_logpmf(lo[:, None], hi[:, None], mu, sigma, dim.low, dim.high)
        return truncnorm_logpdf(z[:, None], mu, sigma, dim.low, dim.high)

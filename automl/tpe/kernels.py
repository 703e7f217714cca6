"""One-dimensional kernels of the Parzen estimators: sample and log-density, vectorised.

Numeric parameters live on an *internal scale* ``z``: the value itself, or its logarithm
for log-scaled parameters. On that scale a kernel is a normal distribution truncated to
the parameter's bounds ``[low, high]``:

* :func:`truncnorm_logpdf` / :func:`truncnorm_sample` for real-valued parameters;
* :func:`discrete_logpmf` for integers: the mass of the truncated normal over the cell
  ``[z(k - 1/2), z(k + 1/2)]`` of integer ``k``, so the masses of all integers sum to one;
* :func:`categorical_logpmf` / :func:`categorical_sample` for categories: the
  Aitchison-Aitken kernel, most of the mass on the observed category and a smoothing
  share spread evenly over all categories;
* :func:`pick` and :func:`logsumexp` for mixtures of them: drawing components by weight,
  summing densities in log space.

Normal masses come from a Chebyshev approximation of ``erfc`` (relative error below
1.2e-7 on each tail), always taking the nearer tails, so masses far from the mean stay
accurate instead of cancelling to zero.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0.0, 1.0, 5)
>>> np.round(np.exp(truncnorm_logpdf(x, 0.5, 0.2, 0.0, 1.0)), 3)
array([0.089, 0.925, 2.02 , 0.925, 0.089])
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "normal_tail",
    "normal_mass",
    "truncnorm_logpdf",
    "truncnorm_sample",
    "discrete_logpmf",
    "categorical_probs",
    "categorical_log_hit_miss",
    "categorical_logpmf",
    "categorical_mass",
    "categorical_sample",
    "mass_from_tails",
    "integer_cells",
    "pick",
    "logsumexp",
]

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_TINY = 1e-300
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: ``x / sqrt(2)`` beyond which the tail (below 1e-294) is taken as the tail there: it
#: keeps exp() away from subnormal numbers, on which it is many times slower.
_Z_FAR = 26.0
#: Redraws of :func:`truncnorm_sample` before falling back to a uniform draw,
#: and the number of entries left below which a round runs in plain Python.
_MAX_ROUNDS = 64
_FEW_REDRAWS = 32
_ERFC_COEFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
               -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223)


def normal_tail(x: np.ndarray) -> np.ndarray:
    """``P(Z > x)`` for a standard normal ``Z`` and ``x >= 0``, with small relative error.

    Examples
    --------
    >>> float(np.round(normal_tail(np.array(1.0)), 5))
    0.15866
    """
    z = np.minimum(np.asarray(x, dtype=float) * _INV_SQRT2, _Z_FAR)  # no subnormal numbers
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.empty_like(t)
    poly.fill(_ERFC_COEFS[0])
    for coef in _ERFC_COEFS[1:]:  # Horner's rule, in place
        poly *= t
        poly += coef
    poly -= z * z
    np.exp(poly, out=poly)
    poly *= 0.5 * t
    return poly


def normal_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``Phi(hi) - Phi(lo)`` for ``lo <= hi``, elementwise, computed from the nearer tails.

    Examples
    --------
    >>> float(np.round(normal_mass(np.array(-1.0), np.array(1.0)), 4))
    0.6827
    >>> bool(normal_mass(np.array(8.0), np.array(9.0)) > 0)
    True
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if lo.shape != hi.shape:
        lo, hi = np.broadcast_arrays(lo, hi)
    t_lo, t_hi = normal_tail(np.abs(np.array((lo, hi))))  # both tails in one pass
    return mass_from_tails(lo, hi, t_lo, t_hi)


def mass_from_tails(lo: np.ndarray, hi: np.ndarray, t_lo: np.ndarray,
                    t_hi: np.ndarray) -> np.ndarray:
    """``Phi(hi) - Phi(lo)`` given the tails ``t = normal_tail(|z|)`` of both ends.

    The nearer tails are subtracted, so the result keeps its precision far from zero;
    it is floored at a tiny positive number. Lets a caller compute each tail once when
    many intervals share their ends.

    Examples
    --------
    >>> z = np.array([-1.0, 1.0])
    >>> t = normal_tail(np.abs(z))
    >>> float(np.round(mass_from_tails(z[0], z[1], t[0], t[1]), 4))
    0.6827
    """
    inner = np.where(hi <= 0.0, t_hi - t_lo, 1.0 - t_lo - t_hi)
    return np.maximum(np.where(lo >= 0.0, t_lo - t_hi, inner), _TINY)


def integer_cells(k: np.ndarray, lowest: float, highest: float) -> tuple[np.ndarray, ...]:
    """The integer cells to evaluate for the integers ``k`` of the range ``[lowest, highest]``.

    Every cell of the range when it is short (fewer cells than twice ``len(k)``: no sort
    needed), else the distinct integers of ``k``. Returns the cells' edges (on the value
    scale), the cell of each entry of ``k``, and the indices into the edges of each
    cell's lower and upper edge.

    Examples
    --------
    >>> edges, at, lo, hi = integer_cells(np.array([2.0, 4.0, 2.0]), 1.0, 100.0)
    >>> edges.tolist(), at.tolist(), lo.tolist(), hi.tolist()
    ([1.5, 3.5, 2.5, 4.5], [0, 1, 0], [0, 1], [2, 3])
    """
    if highest - lowest < 2 * len(k):
        edges = np.arange(lowest - 0.5, highest + 1.0)
        lo = np.arange(len(edges) - 1)
        return edges, (k - lowest).astype(np.intp), lo, lo + 1
    order = k.argsort()  # the distinct values and each entry's rank among them (np.unique's)
    ranked = k[order]
    new = np.empty(len(k), dtype=bool)
    new[:1] = True
    np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
    distinct = ranked[new]
    at = np.empty(len(k), dtype=np.intp)
    at[order] = new.cumsum() - 1
    lo = np.arange(len(distinct))
    return np.concatenate([distinct - 0.5, distinct + 0.5]), at, lo, lo + len(distinct)


def truncnorm_logpdf(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                     low: float, high: float) -> np.ndarray:
    """Log-density of a normal ``(mu, sigma)`` truncated to ``[low, high]``, broadcast.

    Examples
    --------
    >>> grid = np.linspace(0.0, 1.0, 2001)
    >>> mass = np.exp(truncnorm_logpdf(grid, 0.9, 0.3, 0.0, 1.0)).mean()
    >>> bool(abs(mass - 1.0) < 1e-3)
    True
    """
    u = (np.asarray(x) - mu) / sigma
    log_norm = np.log(normal_mass((low - mu) / sigma, (high - mu) / sigma))
    return -0.5 * u * u - np.log(sigma) - _LOG_SQRT_2PI - log_norm


def truncnorm_sample(mu: np.ndarray, sigma: np.ndarray, low: np.ndarray | float,
                     high: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """One draw per element of the broadcast ``(mu, sigma, low, high)``.

    Rejection sampling: with ``mu`` inside its bounds every round accepts at least a
    third of the draws, so a handful of rounds suffice (vectorised while many draws are
    rejected, in plain Python for the last few); after 64 redraws an entry is drawn
    uniformly between its bounds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = truncnorm_sample(np.zeros(1000), np.ones(1000), -0.5, 0.1, rng)
    >>> bool(z.min() >= -0.5 and z.max() <= 0.1)
    True
    """
    mu, sigma = np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    shape = np.broadcast(mu, sigma, low, high).shape  # a C object: no Python-level shape logic
    out = mu + sigma * rng.standard_normal(shape)  # the draws of a flat array, in C order
    outside = (out < low) | (out > high)
    if not outside.any():  # the usual case: one round, no index arrays
        return out
    mu, sigma, low, high = (_full(a, shape).ravel() for a in (mu, sigma, low, high))
    out = out.ravel()
    todo = outside.ravel().nonzero()[0]
    redraws = 0
    while todo.size > _FEW_REDRAWS and redraws < _MAX_ROUNDS:
        out[todo] = mu[todo] + sigma[todo] * rng.standard_normal(todo.size)
        todo = todo[(out[todo] < low[todo]) | (out[todo] > high[todo])]
        redraws += 1
    if todo.size:
        out = _redraw_few(out, todo.tolist(), (mu, sigma, low, high), rng, _MAX_ROUNDS - redraws)
    return out.reshape(shape)


def _full(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` broadcast to ``shape`` as an array of its own (cheaper than ``broadcast_to``)."""
    if a.shape == shape:
        return a
    out = np.empty(shape)
    out[...] = a
    return out


def _redraw_few(out: np.ndarray, todo: list[int], params: tuple[np.ndarray, ...],
                rng: np.random.Generator, rounds: int) -> np.ndarray:
    """The last rejection rounds of :func:`truncnorm_sample`, in plain Python.

    A handful of entries is left after the first rounds, and numpy's fixed cost per
    call then dominates; the draws and the arithmetic (``mu + sigma * e``, each step
    rounded as numpy rounds it) are the vectorised rounds', so the values are identical.
    """
    values = out.tolist()
    mu, sigma, low, high = (a.tolist() for a in params)
    for _ in range(rounds):
        if not todo:
            break
        kept = []
        for i, e in zip(todo, rng.standard_normal(len(todo)).tolist()):
            values[i] = value = mu[i] + sigma[i] * e
            if value < low[i] or value > high[i]:
                kept.append(i)
        todo = kept
    if todo:  # practically unreachable
        drawn = rng.uniform(np.take(params[2], todo), np.take(params[3], todo)).tolist()
        for i, value in zip(todo, drawn):
            values[i] = value
    return np.array(values)


def discrete_logpmf(cell_lo: np.ndarray, cell_hi: np.ndarray, mu: np.ndarray,
                    sigma: np.ndarray, low: float, high: float) -> np.ndarray:
    """Log-mass of the truncated normal over the cells ``[cell_lo, cell_hi]``, broadcast.

    For an integer ``k`` the cell is ``[z(k - 1/2), z(k + 1/2)]`` on the internal scale
    and ``[low, high] = [z(min - 1/2), z(max + 1/2)]``: the masses sum to one.

    Examples
    --------
    >>> ks = np.arange(1, 6)
    >>> p = np.exp(discrete_logpmf(ks - 0.5, ks + 0.5, 2.0, 1.0, 0.5, 5.5))
    >>> float(np.round(p.sum(), 6))
    1.0
    """
    cell = normal_mass((cell_lo - mu) / sigma, (cell_hi - mu) / sigma)
    return np.log(cell / normal_mass((low - mu) / sigma, (high - mu) / sigma))


def categorical_probs(observed: np.ndarray, n_choices: int, smoothing: float) -> np.ndarray:
    """Aitchison-Aitken kernels: one row of category probabilities per observation.

    Row ``i`` puts ``1 - smoothing`` on category ``observed[i]`` and spreads
    ``smoothing`` evenly over all ``n_choices`` categories; an observation of ``-1``
    stands for the prior and gives a uniform row.

    Examples
    --------
    >>> categorical_probs(np.array([0, 2, -1]), 3, 0.3)
    array([[0.8       , 0.1       , 0.1       ],
           [0.1       , 0.1       , 0.8       ],
           [0.33333333, 0.33333333, 0.33333333]])
    """
    observed = np.asarray(observed, dtype=int)
    probs = np.full((len(observed), n_choices), smoothing / n_choices)
    rows = np.flatnonzero(observed >= 0)
    probs[rows, observed[rows]] += 1.0 - smoothing
    probs[observed < 0] = 1.0 / n_choices
    return probs


def categorical_log_hit_miss(n_choices: int, smoothing: float) -> tuple[float, float]:
    """Log-probability an Aitchison-Aitken kernel gives its own category, and any other.

    Examples
    --------
    >>> [round(math.exp(v), 3) for v in categorical_log_hit_miss(4, 0.2)]
    [0.85, 0.05]
    """
    spread = smoothing / n_choices
    return math.log(spread + 1.0 - smoothing), math.log(spread)


def categorical_logpmf(x: np.ndarray, observed: np.ndarray, n_choices: int,
                       smoothing: float) -> np.ndarray:
    """``log k(x[i] | observed[j])`` of the kernels of :func:`categorical_probs`.

    Returns an array of shape ``(len(x), len(observed))``.

    Examples
    --------
    >>> np.round(np.exp(categorical_logpmf(np.array([0, 1]), np.array([0, -1]), 2, 0.5)), 2)
    array([[0.75, 0.5 ],
           [0.25, 0.5 ]])
    """
    hit, miss = categorical_log_hit_miss(n_choices, smoothing)
    observed = np.asarray(observed)
    out = np.where(np.asarray(x)[:, None] == observed, hit, miss)
    out[:, observed < 0] = -math.log(n_choices)
    return out


def categorical_mass(observed: np.ndarray, n_choices: int, smoothing: float,
                     allowed: np.ndarray) -> np.ndarray:
    """Probability that each kernel draws a category permitted by the boolean ``allowed``.

    Examples
    --------
    >>> categorical_mass(np.array([0, 1, -1]), 2, 0.5, np.array([True, False]))
    array([0.75, 0.25, 0.5 ])
    """
    observed = np.asarray(observed, dtype=int)
    allowed = np.asarray(allowed, dtype=bool)
    share = allowed.sum() / n_choices
    inside = np.where(observed >= 0, allowed[np.maximum(observed, 0)], False)
    return np.where(observed >= 0, smoothing * share + (1.0 - smoothing) * inside, share)


def categorical_sample(observed: np.ndarray, n_choices: int, smoothing: float,
                       rng: np.random.Generator, allowed: np.ndarray | None = None) -> np.ndarray:
    """One draw from each kernel, conditioned on the category being ``allowed``.

    Each kernel with a permitted mass of zero falls back to a uniform draw among the
    permitted categories.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = categorical_sample(np.zeros(1000, dtype=int), 4, 0.2, rng)
    >>> bool(0.8 < np.mean(draws == 0) < 0.9)
    True
    """
    observed = np.asarray(observed, dtype=int)
    choices = np.arange(n_choices) if allowed is None else np.flatnonzero(allowed)
    if allowed is None:
        keep = np.where(observed >= 0, 1.0 - smoothing, 0.0)
    else:
        total = categorical_mass(observed, n_choices, smoothing, allowed)
        inside = np.where(observed >= 0, np.asarray(allowed)[np.maximum(observed, 0)], False)
        kept = (1.0 - smoothing) * inside
        keep = np.divide(kept, total, out=np.zeros_like(kept), where=total > 0)
    fresh = choices[rng.integers(len(choices), size=len(observed))]
    return np.where(rng.uniform(size=len(observed)) < keep, observed, fresh)


def pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probabilities proportional to ``weights``.

    Examples
    --------
    >>> pick(np.random.default_rng(0), np.array([0.0, 1.0, 0.0]), 3).tolist()
    [1, 1, 1]
    """
    cumulative = weights.cumsum()
    drawn = cumulative.searchsorted(rng.uniform(size=size) * cumulative[-1], side="right")
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

"""The mixture of a categorical group from counts: the same density as term by term."""

import itertools

import numpy as np
import pytest

from automl.tpe.counts import CategoryCounts
from automl.tpe.parzen import Dim, ParzenEstimator
from automl.tpe.rules import categorical_smoothing


def _plain_density(rows, point, dims, prior_weight):
    """The mixture written out: (sum over rows of the product over columns of the
    Aitchison-Aitken kernel + prior_weight * uniform) / (n + prior_weight)."""
    n_choices = np.array([d.n_choices for d in dims])
    beta = categorical_smoothing(len(rows), n_choices, np.array([d.exploration for d in dims]))
    total = prior_weight * float(np.prod(1.0 / n_choices))
    for row in rows:
        kernel = 1.0
        for j, (x, o) in enumerate(zip(point, row)):
            kernel *= beta[j] / n_choices[j] + (1.0 - beta[j]) * (x == o)
        total += kernel
    return total / (len(rows) + prior_weight) if len(rows) else total / prior_weight


def _random_case(rng):
    dims = [Dim.categorical(int(rng.integers(1, 6)), float(rng.choice([1.0, 2.25, 4.0])))
            for _ in range(int(rng.integers(1, 5)))]
    n = int(rng.integers(0, 30))
    rows = np.array([[rng.integers(0, d.n_choices) for d in dims] for _ in range(n)],
                    dtype=float).reshape(n, len(dims))
    return dims, rows


@pytest.mark.parametrize("seed", range(6))
def test_counted_density_is_the_plain_mixture_formula(seed):
    rng = np.random.default_rng(seed)
    dims, rows = _random_case(rng)
    counts = CategoryCounts(dims)
    for row in rows:
        counts.add(row)
    excluded = rng.permutation(len(rows))[:int(rng.integers(0, len(rows) + 1))]
    kept = np.setdiff1d(np.arange(len(rows)), excluded)
    prior_weight = float(rng.choice([0.5, 1.0, 3.0]))
    points = np.array(list(itertools.product(*[range(d.n_choices) for d in dims])), dtype=float)
    got = np.exp(counts.mixture(rows[excluded], prior_weight).log_pdf(points))
    plain = [_plain_density(rows[kept], p, dims, prior_weight) for p in points]
    np.testing.assert_allclose(got, plain, rtol=1e-12)
    assert got.sum() == pytest.approx(1.0, rel=1e-12)  # every point listed: a distribution


@pytest.mark.parametrize("seed", range(20))
def test_counted_density_equals_the_parzen_estimator(seed):
    rng = np.random.default_rng(100 + seed)
    dims, rows = _random_case(rng)
    counts = CategoryCounts(dims)
    for row in rows:
        counts.add(row)
    excluded = rng.permutation(len(rows))[:min(len(rows), int(rng.integers(0, 8)))]
    kept = np.setdiff1d(np.arange(len(rows)), excluded)
    points = np.array([[rng.integers(0, d.n_choices) for d in dims] for _ in range(24)], float)
    exact = ParzenEstimator.stacked([(rows[kept], None)], dims, 2.0).log_pdf(points)
    np.testing.assert_allclose(counts.mixture(rows[excluded], 2.0).log_pdf(points), exact,
                               rtol=1e-12, atol=1e-13)


def test_counts_follow_rows_added_and_removed():
    rng = np.random.default_rng(0)
    dims = [Dim.categorical(3), Dim.categorical(4), Dim.categorical(2)]
    counts, held = CategoryCounts(dims), []
    for _ in range(200):
        if held and rng.uniform() < 0.3:
            counts.remove(held.pop(int(rng.integers(len(held)))))
        else:
            held.append(np.array([rng.integers(0, d.n_choices) for d in dims], dtype=float))
            counts.add(held[-1])
    held = np.array(held)
    points = np.array(list(itertools.product(range(3), range(4), range(2))), dtype=float)
    got = counts.count(points)
    for s in range(8):  # subset s holds column j when bit j is set
        on = [j for j in range(3) if s >> j & 1]
        recount = [int((held[:, on] == p[on]).all(axis=1).sum()) for p in points]
        assert got[:, s].tolist() == recount
    assert counts.n == len(held)


def test_only_small_categorical_groups_are_counted():
    assert CategoryCounts.fits([Dim.categorical(3), Dim.categorical(11)])
    assert not CategoryCounts.fits([Dim.categorical(3), Dim.continuous(0.0, 1.0)])
    assert not CategoryCounts.fits([Dim.categorical(2)] * 7)
    assert not CategoryCounts.fits([Dim.categorical(300), Dim.categorical(300)])
    with pytest.raises(ValueError, match="categorical columns"):
        CategoryCounts([Dim.continuous(0.0, 1.0)])


@pytest.mark.parametrize("seed", range(20))
def test_weighted_counted_density_equals_the_weighted_parzen_estimator(seed):
    rng = np.random.default_rng(200 + seed)
    dims, rows = _random_case(rng)
    weights = rng.uniform(0.1, 3.0, size=len(rows))
    points = np.array([[rng.integers(0, d.n_choices) for d in dims] for _ in range(24)], float)
    exact = ParzenEstimator.stacked([(rows, weights)], dims, 0.7).log_pdf(points)
    counted = CategoryCounts(dims).weighted(rows, weights, 0.7)  # rows need not be counted
    np.testing.assert_allclose(counted.log_pdf(points), exact, rtol=1e-12, atol=1e-13)

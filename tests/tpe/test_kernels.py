"""Kernels: stay in bounds, integrate to one, match closed forms, stay finite in tails."""

import math

import numpy as np
import pytest

from automl.tpe.kernels import (categorical_logpmf, categorical_mass, categorical_probs,
                                categorical_sample, discrete_logpmf, integer_cells, normal_mass,
                                normal_tail, truncnorm_logpdf, truncnorm_sample)


@pytest.mark.parametrize("x", [0.0, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
def test_normal_tail_matches_erfc(x):
    expected = 0.5 * math.erfc(x / math.sqrt(2.0))
    assert normal_tail(np.array(x)) == pytest.approx(expected, rel=1e-6)


def test_normal_mass_is_accurate_in_both_tails_and_the_middle():
    lo = np.array([-30.0, -1.0, 7.0, -9.0])
    hi = np.array([-29.0, 2.0, 7.5, -8.5])
    phi = lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0))  # noqa: E731
    expected = [0.5 * (math.erfc(29 / math.sqrt(2)) - math.erfc(30 / math.sqrt(2))),
                phi(2.0) - phi(-1.0),
                0.5 * (math.erfc(7 / math.sqrt(2)) - math.erfc(7.5 / math.sqrt(2))),
                0.5 * (math.erfc(8.5 / math.sqrt(2)) - math.erfc(9 / math.sqrt(2)))]
    np.testing.assert_allclose(normal_mass(lo, hi), expected, rtol=1e-5)


@pytest.mark.parametrize("mu,sigma", [(0.0, 0.1), (0.5, 1.0), (1.0, 0.05), (0.9, 3.0)])
def test_truncnorm_integrates_to_one(mu, sigma):
    grid = np.linspace(0.0, 1.0, 20001)
    density = np.exp(truncnorm_logpdf(grid, mu, sigma, 0.0, 1.0))
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)


def test_truncnorm_sample_stays_in_bounds_and_follows_the_density():
    rng = np.random.default_rng(0)
    z = truncnorm_sample(np.full(20000, 0.95), np.full(20000, 0.2), 0.0, 1.0, rng)
    assert z.min() >= 0.0 and z.max() <= 1.0
    hist, edges = np.histogram(z, bins=10, range=(0.0, 1.0), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    expected = np.exp(truncnorm_logpdf(centres, 0.95, 0.2, 0.0, 1.0))
    np.testing.assert_allclose(hist, expected, rtol=0.05, atol=0.05)


def test_truncnorm_sample_broadcasts_per_column_bounds():
    rng = np.random.default_rng(1)
    low, high = np.array([0.0, -5.0]), np.array([1.0, -4.0])
    z = truncnorm_sample(np.array([[0.5, -4.5]] * 500), np.ones((500, 2)), low, high, rng)
    assert z.shape == (500, 2)
    assert np.all((z >= low) & (z <= high))


@pytest.mark.parametrize("mu,sigma", [(3.0, 0.2), (1.0, 5.0), (10.0, 0.5)])
def test_discrete_masses_sum_to_one(mu, sigma):
    ks = np.arange(1, 11, dtype=float)
    mass = np.exp(discrete_logpmf(ks - 0.5, ks + 0.5, mu, sigma, 0.5, 10.5))
    assert mass.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.argmax(mass) == int(np.clip(round(mu), 1, 10)) - 1


def test_discrete_log_mass_is_finite_far_from_the_mean():
    assert np.isfinite(discrete_logpmf(np.array([99.5]), np.array([100.5]), 1.0, 1.0, 0.5, 100.5)).all()


def test_categorical_kernels_are_distributions_with_the_smoothing_share():
    probs = categorical_probs(np.array([2, 0, -1]), 4, 0.2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0, 2] == pytest.approx(0.85) and probs[0, 0] == pytest.approx(0.05)
    np.testing.assert_allclose(probs[2], 0.25)
    log = categorical_logpmf(np.arange(4), np.array([2, 0, -1]), 4, 0.2)
    np.testing.assert_allclose(np.exp(log), probs.T)


def test_categorical_sample_frequencies_and_masks():
    rng = np.random.default_rng(2)
    observed = np.full(40000, 1)
    draws = categorical_sample(observed, 3, 0.3, rng)
    freq = np.bincount(draws, minlength=3) / len(draws)
    np.testing.assert_allclose(freq, categorical_probs(np.array([1]), 3, 0.3)[0], atol=0.01)
    mask = np.array([True, False, True])
    draws = categorical_sample(observed, 3, 0.3, rng, mask)
    assert set(np.unique(draws)) == {0, 2}
    assert categorical_mass(np.array([1, 0]), 3, 0.3, mask) == pytest.approx([0.2, 0.9])


def test_mass_from_tails_is_normal_mass_and_far_tails_stay_normal_numbers():
    from automl.tpe.kernels import mass_from_tails

    lo = np.array([-3.0, -1.0, 0.5, 6.0, -9.0, 30.0])
    hi = np.array([-2.0, 1.0, 2.0, 7.0, -8.5, 60.0])
    t_lo, t_hi = normal_tail(np.abs(lo)), normal_tail(np.abs(hi))
    np.testing.assert_array_equal(mass_from_tails(lo, hi, t_lo, t_hi), normal_mass(lo, hi))
    far = normal_tail(np.array([37.0, 50.0, 1e6]))
    assert np.all(far >= np.finfo(float).tiny) and np.all(far < 1e-290)  # no subnormals


def _rejection_reference(mu, sigma, low, high, rng):
    """Rejection sampling written plainly: redraw every rejected entry, vectorised."""
    mu, sigma, low, high = (a.ravel() for a in np.broadcast_arrays(mu, sigma, low, high))
    out = mu + sigma * rng.standard_normal(mu.size)
    todo = np.flatnonzero((out < low) | (out > high))
    while todo.size:
        out[todo] = mu[todo] + sigma[todo] * rng.standard_normal(todo.size)
        todo = todo[(out[todo] < low[todo]) | (out[todo] > high[todo])]
    return out


@pytest.mark.parametrize("n", [3, 24, 400])  # plain-Python redraws only, then both kinds
def test_truncnorm_sample_draws_exactly_what_plain_rejection_draws(n):
    rng = np.random.default_rng(n)
    mu = rng.uniform(0.0, 1.0, size=(n, 4))
    sigma = rng.uniform(0.05, 2.0, size=(n, 4))  # wide kernels: many rounds of rejection
    low, high = np.zeros(4), np.array([1.0, 1.0, 2.0, 1.0])
    got = truncnorm_sample(mu, sigma, low, high, np.random.default_rng(7))
    expected = _rejection_reference(mu, sigma, low, high, np.random.default_rng(7))
    assert got.shape == (n, 4)
    np.testing.assert_array_equal(got.ravel(), expected)  # bit for bit, same stream


@pytest.mark.parametrize("lowest, highest", [(0.0, 9.0), (1.0, 1000.0)])  # short / long range
def test_integer_cells_bracket_each_integer(lowest, highest):
    k = np.array([3.0, 7.0, 3.0, 8.0, 5.0, 7.0, 1.0])
    edges, at, lo, hi = integer_cells(k, lowest, highest)
    np.testing.assert_array_equal(edges[lo[at]], k - 0.5)
    np.testing.assert_array_equal(edges[hi[at]], k + 0.5)
    assert len(lo) == (10 if highest == 9.0 else 5)  # every cell of the range, or the distinct
    if highest == 1000.0:
        np.testing.assert_array_equal(edges[lo] + 0.5, np.unique(k))

"""Parzen estimators: exact mixture parameters, bandwidth rule, sampling, densities."""

import math

import numpy as np
import pytest

from automl.tpe.parzen import Dim, ParzenEstimator, bandwidth, categorical_smoothing


def test_mixture_parameters_on_a_tiny_input():
    dims = [Dim.continuous(0.0, 10.0), Dim.integer(1, 4), Dim.categorical(3)]
    pe = ParzenEstimator(np.array([[2.0, 3.0, 1.0], [8.0, 1.0, 2.0]]), dims, prior_weight=2.0)
    np.testing.assert_allclose(pe.weights, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(pe.mus, [[2.0, 3.0], [8.0, 1.0], [5.0, 2.5]])
    sigma_x = max(0.2 * 10.0 * 2 ** (-1 / 7), 10.0 / 3)  # the magic-clip floor wins
    sigma_k = max(0.2 * 4.0 * 2 ** (-1 / 7), 4.0 / 3)
    np.testing.assert_allclose(pe.sigmas, [[sigma_x, sigma_k], [sigma_x, sigma_k], [10.0, 4.0]])
    beta = 1 / math.sqrt(3)
    np.testing.assert_allclose(pe.probs[0], [[beta / 3, 1 - beta + beta / 3, beta / 3],
                                             [beta / 3, beta / 3, 1 - beta + beta / 3],
                                             [1 / 3, 1 / 3, 1 / 3]])


def test_log_scale_dims_hold_logs_and_integer_cells_cover_the_range():
    d = Dim.continuous(1e-3, 1e3, log=True)
    assert (d.low, d.high) == pytest.approx((math.log(1e-3), math.log(1e3)))
    k = Dim.integer(1, 100, log=True)
    lo, hi = k.cells(np.log(np.array([1.0, 100.0])))
    assert lo[0] == pytest.approx(k.low) and hi[1] == pytest.approx(k.high)


def test_bandwidth_rule():
    assert bandwidth(1000, 3, 1.0) == pytest.approx(max(0.2 * 1000 ** (-1 / 7), 0.01))
    assert bandwidth(0, 1, 2.0) == 2.0
    widths = [bandwidth(n, 4, 1.0) for n in (1, 10, 100, 1000)]
    assert widths == sorted(widths, reverse=True)
    assert categorical_smoothing(0, 5) == 1.0 and categorical_smoothing(99, 5) == pytest.approx(0.1)


def test_empty_estimator_is_the_prior():
    dims = [Dim.continuous(0.0, 1.0), Dim.categorical(4)]
    pe = ParzenEstimator(np.empty((0, 2)), dims)
    np.testing.assert_allclose(pe.weights, [1.0])
    x = pe.sample(np.random.default_rng(0), 2000)
    assert np.all((x[:, 0] >= 0) & (x[:, 0] <= 1))
    assert set(np.unique(x[:, 1])) == {0.0, 1.0, 2.0, 3.0}


def test_density_integrates_to_one_over_a_mixed_space():
    dims = [Dim.continuous(0.0, 1.0), Dim.integer(0, 3), Dim.categorical(2)]
    pe = ParzenEstimator(np.array([[0.1, 0.0, 0.0], [0.7, 3.0, 1.0], [0.72, 2.0, 1.0]]), dims)
    grid = np.linspace(0.0, 1.0, 4001)
    total = 0.0
    for k in range(4):
        for c in range(2):
            pts = np.column_stack([grid, np.full_like(grid, k), np.full_like(grid, c)])
            total += np.trapezoid(np.exp(pe.log_pdf(pts)), grid)
    assert total == pytest.approx(1.0, abs=1e-3)


def test_samples_are_valid_and_joint():
    dims = [Dim.continuous(0.0, 1.0), Dim.integer(1, 50, log=True), Dim.categorical(3)]
    obs = np.array([[0.05, math.log(2.0), 0.0], [0.95, math.log(40.0), 2.0]] * 10)
    x = ParzenEstimator(obs, dims).sample(np.random.default_rng(3), 3000)
    ints = np.exp(x[:, 1])
    np.testing.assert_allclose(ints, np.round(ints))
    assert ints.min() >= 1 and ints.max() <= 50
    left = x[:, 0] < 0.5  # components are sampled whole: low x goes with category 0
    assert np.mean(x[left, 2] == 0) > 0.7 and np.mean(x[~left, 2] == 2) > 0.7


def test_allowed_conditions_the_mixture():
    dims = [Dim.categorical(3)]
    pe = ParzenEstimator(np.array([[0.0]] * 9), dims)
    x = pe.sample(np.random.default_rng(4), 500, allowed={0: np.array([False, True, True])})
    assert set(np.unique(x[:, 0])) <= {1.0, 2.0}


def test_observation_weights_enter_the_mixture_beside_the_prior():
    pe = ParzenEstimator(np.array([[0.1], [0.9]]), [Dim.continuous(0.0, 1.0)], weights=np.array([3.0, 1.0]))
    np.testing.assert_allclose(pe.weights, [0.6, 0.2, 0.2])
    x = pe.sample(np.random.default_rng(5), 4000)[:, 0]
    assert np.mean(x < 0.5) > 0.57  # equal weights would give about 0.48

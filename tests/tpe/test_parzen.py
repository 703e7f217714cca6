"""Parzen estimators: exact mixture parameters, bandwidth rule, sampling, densities."""

import math

import numpy as np
import pytest

from automl.tpe.parzen import Dim, ParzenEstimator, bandwidths, categorical_smoothing


def test_mixture_parameters_on_a_tiny_input():
    dims = [Dim.continuous(0.0, 10.0), Dim.integer(1, 4), Dim.categorical(3)]
    pe = ParzenEstimator(np.array([[2.0, 3.0, 1.0], [8.0, 1.0, 2.0]]), dims, prior_weight=2.0)
    np.testing.assert_allclose(pe.weights, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(pe.mus, [[2.0, 3.0], [8.0, 1.0], [5.0, 2.5]])
    sigma_x = 8.0 - 2.0  # the gap between the two observations
    sigma_k = 3.0 - 1.0
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


def test_bandwidths_follow_the_neighbours_column_by_column():
    low, high = np.array([0.0, 0.0]), np.array([1.0, 10.0])
    obs = np.array([[0.5, 9.0], [0.1, 1.0], [0.3, 5.0], [0.31, 6.0]])
    sigmas = bandwidths(obs, low, high)
    floor = 1.0 / 6  # magic clip: width / min(100, n + 2)
    np.testing.assert_allclose(sigmas[:, 0], [max(0.19, floor), max(0.2, floor), 0.2, 0.19])
    np.testing.assert_allclose(sigmas[:, 1], [3.0, 4.0, 4.0, 3.0])
    assert bandwidths(np.array([[0.2]]), low[:1], high[:1])[0, 0] == pytest.approx(0.8)
    tied = bandwidths(np.full((200, 1), 0.5), low[:1], high[:1])
    np.testing.assert_allclose(tied, 0.01)  # never below width / 100
    crowded = bandwidths(np.r_[np.linspace(0.4, 0.41, 10), [0.9]][:, None], low[:1], high[:1])
    assert crowded[:9].max() < 0.1 < min(crowded[9, 0], crowded[10, 0])  # 0.41 borders the gap


def test_categorical_smoothing_shrinks_with_observations():
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
    obs, dims = np.array([[0.1], [0.15], [0.85], [0.9]]), [Dim.continuous(0.0, 1.0)]
    pe = ParzenEstimator(obs, dims, weights=np.array([3.0, 3.0, 1.0, 1.0]))
    np.testing.assert_allclose(pe.weights, [1 / 3, 1 / 3, 1 / 9, 1 / 9, 1 / 9])
    left = lambda est: np.mean(est.sample(np.random.default_rng(5), 4000)[:, 0] < 0.5)  # noqa: E731
    assert left(pe) > left(ParzenEstimator(obs, dims)) + 0.1


MIXED = [Dim.continuous(0.0, 1.0), Dim.integer(1, 30, log=True), Dim.categorical(3),
         Dim.categorical(4, exploration=2.0)]


def _observations(rng, n):
    return np.column_stack([rng.uniform(size=n), np.log(rng.integers(1, 31, n)),
                            rng.integers(0, 3, n), rng.integers(0, 4, n)]).astype(float)


def test_stacked_blocks_are_the_separate_mixtures():
    rng = np.random.default_rng(0)
    good, bad, points = _observations(rng, 4), _observations(rng, 30), _observations(rng, 50)
    weights = rng.uniform(0.5, 2.0, 4)
    pair = ParzenEstimator.stacked([(good, weights), (bad, None)], MIXED, prior_weight=1.5)
    alone = [ParzenEstimator(good, MIXED, 1.5, weights), ParzenEstimator(bad, MIXED, 1.5)]
    log_pdfs = pair.log_pdfs(points)
    assert log_pdfs.shape == (2, 50)
    for row, single in zip(log_pdfs, alone):
        np.testing.assert_allclose(row, single.log_pdf(points), rtol=1e-10, atol=1e-10)


def test_stacked_categorical_blocks_merge_equal_rows_into_the_same_mixture():
    dims = [Dim.categorical(2), Dim.categorical(3, exploration=2.0)]
    rng = np.random.default_rng(1)
    obs = rng.integers(0, 2, (200, 2)).astype(float)  # at most 4 distinct rows
    weights = rng.uniform(size=200)
    pair = ParzenEstimator.stacked([(obs, weights), (obs[:7], None)], dims)
    assert len(pair.weights) <= 4 + 1 + 7 + 1  # 200 rows became at most 4 components
    grid = np.array([[a, b] for a in range(2) for b in range(3)], dtype=float)
    expected = [ParzenEstimator(obs, dims, weights=weights), ParzenEstimator(obs[:7], dims)]
    for row, single in zip(pair.log_pdfs(grid), expected):
        np.testing.assert_allclose(row, single.log_pdf(grid), rtol=1e-10)
    np.testing.assert_allclose(np.exp(pair.log_pdfs(grid)).sum(axis=1), [1.0, 1.0])


def test_stacked_sample_draws_from_the_chosen_block_only():
    dims = [Dim.continuous(0.0, 1.0)]
    pair = ParzenEstimator.stacked([(np.full((20, 1), 0.05), None),
                                    (np.full((20, 1), 0.95), None)], dims, prior_weight=0.01)
    rng = np.random.default_rng(2)
    assert np.median(pair.sample(rng, 500)[:, 0]) < 0.2
    assert np.median(pair.sample(rng, 500, block=1)[:, 0]) > 0.8


def _reference_log_pdf(pe: ParzenEstimator, points: np.ndarray, block: int) -> np.ndarray:
    """The mixture density term by term, with the kernels of ``automl.tpe.kernels``."""
    from automl.tpe.kernels import categorical_probs, discrete_logpmf, truncnorm_logpdf

    start, stop = pe._blocks[block]
    total = np.zeros((len(points), stop - start))
    for c, j in enumerate(pe.numeric):
        d, mu, sigma = pe.dims[j], pe.mus[start:stop, c], pe.sigmas[start:stop, c]
        x = points[:, j][:, None]
        if d.kind == "int":
            lo, hi = d.cells(points[:, j])
            total += discrete_logpmf(lo[:, None], hi[:, None], mu, sigma, d.low, d.high)
        else:
            total += truncnorm_logpdf(x, mu, sigma, d.low, d.high)
    for c, j in enumerate(pe.categorical):
        probs = categorical_probs(pe._observed[start:stop, c], pe.dims[j].n_choices,
                                  float(pe._beta[start, c]))
        probs[pe._observed[start:stop, c] < 0] = 1.0 / pe.dims[j].n_choices
        total += np.log(probs[:, points[:, j].astype(int)].T)
    weights = pe.weights[start:stop]
    return np.log((np.exp(total) * weights).sum(axis=1))


@pytest.mark.parametrize("n_points", [40, 5])  # integer ranges short or long for the points
def test_stacked_densities_match_the_mixture_computed_term_by_term(n_points):
    dims = [Dim.continuous(0.0, 1.0), Dim.integer(1, 64, log=True), Dim.integer(0, 9),
            Dim.categorical(3), Dim.categorical(2, exploration=3.0)]
    rng = np.random.default_rng(4)
    def draw(n):
        return np.column_stack([rng.uniform(size=n), np.log(rng.integers(1, 65, n)),
                                rng.integers(0, 10, n), rng.integers(0, 3, n),
                                rng.integers(0, 2, n)]).astype(float)
    pe = ParzenEstimator.stacked([(draw(4), rng.uniform(0.5, 2.0, 4)), (draw(30), None)], dims)
    points = pe.sample(rng, n_points, block=1)
    got = pe.log_pdfs(points)
    for block in (0, 1):
        np.testing.assert_allclose(got[block], _reference_log_pdf(pe, points, block), rtol=1e-9)


def test_density_stays_exact_where_most_components_are_negligible():
    # narrow kernels at both ends: at a point near one end, the other end's components
    # are far below exp(-700) and must neither break nor bias the sum
    dims = [Dim.continuous(0.0, 1000.0)]
    obs = np.concatenate([np.linspace(0.0, 1.0, 50), np.linspace(999.0, 1000.0, 50)])[:, None]
    pe = ParzenEstimator.stacked([(obs[:3], None), (obs, None)], dims)
    points = np.array([[0.5], [999.5], [500.0]])
    got = pe.log_pdfs(points)
    assert np.isfinite(got).all()
    for block in (0, 1):
        np.testing.assert_allclose(got[block], _reference_log_pdf(pe, points, block), rtol=1e-9)


def test_categorical_blocks_merged_by_counting_are_the_unmerged_mixture():
    dims = [Dim.categorical(3), Dim.categorical(2), Dim.categorical(15, exploration=2.0)]
    rng = np.random.default_rng(5)
    obs = np.column_stack([rng.integers(0, k, 200) for k in (3, 2, 15)]).astype(float)
    weights = rng.uniform(0.1, 3.0, 200)
    merged = ParzenEstimator.stacked([(obs, weights)], dims)
    plain = ParzenEstimator(obs, dims, weights=weights)
    assert len(merged.weights) < len(plain.weights)  # equal rows share a component
    points = plain.sample(rng, 50)
    np.testing.assert_allclose(merged.log_pdf(points), plain.log_pdf(points), rtol=1e-12)


def test_large_products_avoid_blas_threads_with_the_same_result():
    from automl.tpe.parzen import _BLAS_THREADED, _product

    rng = np.random.default_rng(6)
    small, large = rng.normal(size=(24, 3)), rng.normal(size=(24, 7))
    for a in (small, large):
        b = rng.normal(size=(a.shape[1], 2000))
        np.testing.assert_allclose(_product(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert 24 * 3 * 2000 < _BLAS_THREADED < 24 * 7 * 2000  # both paths were taken

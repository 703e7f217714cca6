"""The acquisition: the trial-count and best-loss bonuses at Choice columns, in select_split."""

import math

import numpy as np
import pytest

from automl.tpe import acquisition
from automl.tpe.acquisition import (BRANCH_BONUS, CHOICE_COUNT_BONUS, PATHS_BONUS, branch_bonus,
                                    branches, count_bonus, paths_exploration, select_split)
from automl.tpe.parzen import Dim, ParzenEstimator


def test_count_bonus_is_the_ucb_term_of_each_candidates_options():
    counts = {0: np.array([3, 0, 1]), 1: np.array([2, 2])}
    candidates = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    scale_0, scale_1 = math.log(5.0), math.log(5.0)
    expected = [math.sqrt(scale_0 / 4) + math.sqrt(scale_1 / 3),
                math.sqrt(scale_0 / 1) + math.sqrt(scale_1 / 3),
                math.sqrt(scale_0 / 2) + math.sqrt(scale_1 / 3)]
    np.testing.assert_allclose(count_bonus(candidates, counts),
                               CHOICE_COUNT_BONUS * np.array(expected))


def test_when_l_equals_g_the_least_tried_option_wins():
    dims = [Dim.categorical(4, exploration=3.0)]
    observed = np.array([[0.0], [0.0], [1.0], [2.0], [3.0], [3.0]])
    pair = ParzenEstimator.stacked([(observed, None), (observed, None)], dims)  # l == g
    counts = {0: np.bincount(observed[:, 0].astype(int), minlength=4)}
    rng = np.random.default_rng(0)
    picks = [int(select_split(pair, rng, 24, None, counts)[0]) for _ in range(20)]
    assert set(picks) <= {1, 2}  # the options tried once, whenever one is among the candidates
    assert select_split(pair, np.random.default_rng(1), 24)[0] == pytest.approx(
        select_split(pair, np.random.default_rng(1), 24, None, {})[0])  # no counts: no bonus


def _branch_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with a numeric column and two Choice columns (2 and 3 options), losses, usable."""
    values = np.array([[0.5, 0.0, 0.0], [0.1, 0.0, 0.0], [0.9, 1.0, 2.0], [0.3, 1.0, 2.0],
                       [0.7, 0.0, 1.0], [0.2, 1.0, 0.0]])
    losses = np.array([0.4, 0.1, 0.3, np.inf, 0.2, 0.05])
    usable = np.array([True, True, True, False, True, False])  # a failure, a pending trial
    return values, losses, usable


def test_branches_closeness_is_exact_and_ignores_unusable_trials():
    values, losses, usable = _branch_rows()
    known = branches(values, [1, 2], [2, 3], losses, usable)
    # usable losses 0.4, 0.1, 0.3, 0.2: best 0.1; n_good(4) = 1, so the threshold is the
    # second best, 0.2. Combination key = option_1 + 2 * option_2.
    expected = np.zeros(6)
    expected[0] = 1.0  # (0, 0): best 0.1
    expected[5] = math.exp(-(0.3 - 0.1) / 0.1)  # (1, 2): best 0.3 (the inf one failed)
    expected[2] = math.exp(-(0.2 - 0.1) / 0.1)  # (0, 1): best 0.2
    np.testing.assert_allclose(known.closeness, expected)  # (1, 0) only pending: 0
    candidates = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(branch_bonus(candidates, known),
                               BRANCH_BONUS * np.array([1.0, math.exp(-2.0), 0.0]))


def test_branch_bonus_is_the_same_with_a_sparse_table(monkeypatch):
    values, losses, usable = _branch_rows()
    dense = branches(values, [1, 2], [2, 3], losses, usable)
    monkeypatch.setattr(acquisition, "_DENSE", 0)
    sparse = branches(values, [1, 2], [2, 3], losses, usable)
    assert dense.keys is None and sparse.keys is not None
    grid = np.array([[0.0, a, b] for a in range(2) for b in range(3)])
    np.testing.assert_array_equal(branch_bonus(grid, dense), branch_bonus(grid, sparse))


def test_when_l_equals_g_and_counts_are_even_the_option_nearest_the_best_wins():
    dims = [Dim.categorical(3, exploration=2.25)]
    observed = np.array([[0.0], [0.0], [1.0], [1.0], [2.0], [2.0]])
    losses = np.array([0.9, 0.5, 0.8, 0.1, 0.7, 0.6])  # option 1 holds the best trial
    pair = ParzenEstimator.stacked([(observed, None), (observed, None)], dims)  # l == g
    counts = {0: np.bincount(observed[:, 0].astype(int), minlength=3)}
    known = branches(observed, [0], [3], losses, np.ones(6, dtype=bool))
    rng = np.random.default_rng(0)
    picks = {int(select_split(pair, rng, 24, None, counts, known)[0]) for _ in range(10)}
    assert picks == {1}


def test_paths_exploration_is_the_ucb_term_of_a_fraction_of_the_trials():
    n_k, p_k = np.array([4.0, 2.0, 0.0, 5.0]), np.array([6.0, 3.0, 2.0, 1.0])
    bonus = paths_exploration(n_k, p_k, 11)
    scale = PATHS_BONUS * math.sqrt(math.log(12.0))
    expected = [scale * (1 / math.sqrt(4 / 6 + 1) - 1 / math.sqrt(4 + 1)),
                scale * (1 / math.sqrt(2 / 3 + 1) - 1 / math.sqrt(2 + 1)),
                0.0,  # never tried: left to the count bonus
                0.0]  # a single branch gets nothing extra
    np.testing.assert_allclose(bonus, expected)
    assert bonus[0] > bonus[1] > 0


def test_branches_add_the_paths_exploration_in_dense_and_sparse_tables(monkeypatch):
    values, losses, usable = _branch_rows()  # combinations (key = a + 2 b): 0, 0, 5, 5, 2, 1
    paths = [np.array([1.0, 2.0]), np.array([1.0, 1.0, 3.0])]
    plain = branches(values, [1, 2], [2, 3], losses, usable)
    dense = branches(values, [1, 2], [2, 3], losses, usable, paths)
    monkeypatch.setattr(acquisition, "_DENSE", 0)
    sparse = branches(values, [1, 2], [2, 3], losses, usable, paths)
    grid = np.array([[0.0, a, b] for b in range(3) for a in range(2)])  # key = a + 2 b
    trials = np.array([2.0, 1.0, 1.0, 0.0, 0.0, 2.0])  # every trial, failed and pending too
    p_k = np.array([1.0, 2.0, 1.0, 2.0, 3.0, 6.0])
    extra = paths_exploration(trials, p_k, 6)
    np.testing.assert_allclose(branch_bonus(grid, dense) - branch_bonus(grid, plain), extra)
    # the sparse table holds the combinations with a successful trial: 0, 2 and 5
    tried = np.isin(np.arange(6), [0, 2, 5])
    np.testing.assert_allclose(branch_bonus(grid, sparse),
                               np.where(tried, branch_bonus(grid, dense), 0.0))
    assert extra[5] > extra[1] > 0 and extra[0] == extra[2] == 0


def test_kept_keys_counts_and_path_products_give_the_same_bonuses_to_the_bit():
    rng = np.random.default_rng(5)
    n_choices = [3, 4, 5]
    paths = [np.array([1.0, 2.0, 1.5]), np.array([1.0, 3.0, 1.0, 7.0]), np.ones(5) * 1.1]
    values = np.column_stack([rng.uniform(size=200)] +
                             [rng.integers(0, k, size=200) for k in n_choices]).astype(float)
    losses, usable = rng.uniform(size=200), rng.uniform(size=200) < 0.8
    columns = [1, 2, 3]
    computed = branches(values, columns, n_choices, losses, usable, paths)
    every = (values[:, columns] @ np.array([1, 3, 12])).astype(np.int64)
    kept = branches(values, columns, n_choices, losses, usable, paths, every=every,
                    trials=np.bincount(every, minlength=60),
                    products=acquisition.path_products(paths))
    grid = np.column_stack([np.zeros(60)] + [np.arange(60) // s % k for s, k in
                                             zip([1, 3, 12], n_choices)]).astype(float)
    assert np.array_equal(branch_bonus(grid, kept), branch_bonus(grid, computed))
    counts = {c: np.bincount(values[:, c].astype(np.int64), minlength=k)
              for c, k in zip(columns, n_choices)}
    per_column = sum(np.sqrt(math.log(200.0 + 1.0) / (counts[c][grid[:, c].astype(int)] + 1.0))
                     for c in columns)  # the bonus summed column after column, from zero
    assert np.array_equal(count_bonus(grid, counts), CHOICE_COUNT_BONUS * (0.0 + per_column))
    assert np.array_equal(count_bonus(grid, {c: v.tolist() for c, v in counts.items()}),
                          count_bonus(grid, counts))

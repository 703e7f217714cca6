"""The good/bad split: gamma, failed and pending trials, pruned trials, ties."""

import numpy as np
import pytest

from automl.tpe.split import FAILED, OK, PENDING, PRUNED, good_weights, n_good, split


def test_n_good_grows_with_n_and_is_capped():
    sizes = [n_good(n) for n in range(0, 2000, 7)]
    assert sizes == sorted(sizes)
    assert n_good(0) == 0 and n_good(1) == 1 and n_good(10_000) == 25
    assert [n_good(n) for n in (20, 21, 100)] == [3, 4, 15]  # ceil(0.15 n), exact in integers


def test_best_successful_trials_are_good_and_the_rest_bad():
    losses = np.array([0.5, 0.1, 0.9, 0.3] * 5)
    good, bad = split(losses, np.full(20, OK))
    assert len(good) == 3
    assert set(losses[good]) == {0.1}
    assert sorted(np.concatenate([good, bad]).tolist()) == list(range(20))


def test_failed_pending_and_pruned_trials_are_never_good():
    losses = np.array([0.0, -1.0, np.nan, np.inf, 0.4, 0.6] + [1.0] * 14)
    codes = np.array([PRUNED, PENDING, FAILED, OK, OK, OK] + [OK] * 14)
    good, _ = split(losses, codes)
    assert good.tolist() == [4, 5, 6]  # 19 finished -> 3 good; then the first of the ties


def test_all_failed_gives_an_empty_good_set():
    good, bad = split(np.full(5, np.nan), np.full(5, FAILED))
    assert good.size == 0 and bad.tolist() == [0, 1, 2, 3, 4]


def test_only_pruned_trials_inform_through_their_partial_loss():
    good, _ = split(np.array([0.9, 0.2, 0.5]), np.array([PRUNED, PRUNED, FAILED]))
    assert good.tolist() == [1]


def test_single_trial_is_good_when_it_succeeded():
    assert split(np.array([3.0]), np.array([OK]))[0].tolist() == [0]
    assert split(np.array([3.0]), np.array([PENDING]))[0].tolist() == []


def test_ties_are_broken_by_trial_order():
    losses = np.array([0.2, 0.1, 0.1, 0.1, 0.1] + [0.3] * 15)
    good, _ = split(losses, np.full(20, OK))
    assert good.tolist() == [1, 2, 3]


def test_good_weights_favour_trials_far_below_the_threshold():
    losses = np.array([0.0, 0.18, 0.19, 0.2, 0.5, np.nan])
    good, bad = split(losses, np.array([OK] * 5 + [FAILED]))
    assert good.tolist() == [0]
    weights = good_weights(np.array([0.0, 0.18, 0.19, 0.2]), np.array([0, 1, 2]), np.array([3]))
    assert weights.mean() == pytest.approx(1.0)
    assert weights[0] > 5 * weights[1] > 0 and weights[1] > weights[2] > 0
    tied = good_weights(np.array([0.1, 0.1, 0.1]), np.array([0, 1]), np.array([2]))
    np.testing.assert_allclose(tied, [1.0, 1.0])

"""The acquisition: the trial-count bonus at Choice columns and its use in select_split."""

import math

import numpy as np
import pytest

from automl.tpe.acquisition import CHOICE_COUNT_BONUS, count_bonus, select_split
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

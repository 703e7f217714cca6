"""TreeMixture: a proper density over a subtree; whole-branch sampling; history rows."""

import numpy as np
import pytest

from automl.space import Choice, Float, Int, Space
from automl.tpe.history import Rows
from automl.tpe.mixture import Candidates, TreeMixture
from automl.tpe.tree import build_groups, encode


@pytest.fixture
def setup():
    space = Space({"m": Choice({"a": {"x": Float(0.0, 1.0)}, "b": {"k": Int(0, 3)}, "c": None})})
    groups = build_groups(space)
    history = [Rows(len(g.dims)) for g in groups]
    configs = [{"m": {"a": {"x": 0.2}}}, {"m": {"b": {"k": 2}}}, {"m": {"c": {}}},
               {"m": {"a": {"x": 0.8}}}, {"m": {"a": {"x": 0.25}}}]
    for trial, config in enumerate(configs):
        for group, row in encode(groups[0], config):
            if group.dims:
                history[group.index].append(trial, row)
    return groups, history


def _branch(groups, option, points):
    """Candidates that all take one option of the root choice, with these child rows."""
    n = len(points)
    rows = {0: (groups[0], np.arange(n), np.full((n, 1), float(option)))}
    if groups[option + 1].dims:
        rows[option + 1] = (groups[option + 1], np.arange(n), np.asarray(points, float)[:, None])
    return Candidates(groups[0], np.zeros(n, dtype=int), rows)


def test_density_sums_to_one_over_every_branch(setup):
    groups, history = setup
    mixture = TreeMixture(groups[0], history, np.array([0, 1, 3, 4]), prior_weight=1.0,
                          weights=np.array([2.0, 1.0, 1.0, 0.5]))
    grid = np.linspace(0.0, 1.0, 4001)
    total = np.trapezoid(np.exp(mixture.log_pdf(_branch(groups, 0, grid))), grid)
    total += np.exp(mixture.log_pdf(_branch(groups, 1, np.arange(4.0)))).sum()
    total += np.exp(mixture.log_pdf(_branch(groups, 2, np.zeros(1))))[0]
    assert total == pytest.approx(1.0, abs=1e-3)


def test_components_are_sampled_whole_and_branches_stay_apart(setup):
    groups, history = setup
    mixture = TreeMixture(groups[0], history, np.array([0, 4]), prior_weight=0.01)
    candidates = mixture.sample(np.random.default_rng(0), 500)
    _, members, points = candidates.rows[1]
    assert set(candidates.rows) <= {0, 1, 2}  # group 3 ("c") has nothing to model
    options = candidates.rows[0][2][:, 0]
    assert np.array_equal(np.sort(members), np.flatnonzero(options == 0))
    assert np.median(points[:, 0]) < 0.4  # drawn around x = 0.2 and 0.25, not uniformly
    np.testing.assert_array_equal(candidates[3], candidates.rows[0][2][3])


def test_a_good_trial_on_a_branch_raises_the_density_of_its_neighbourhood(setup):
    groups, history = setup
    with_kernel = TreeMixture(groups[0], history, np.array([0, 1]))
    without = TreeMixture(groups[0], history, np.array([1, 2]))
    near, far = _branch(groups, 0, [0.2]), _branch(groups, 0, [0.9])
    assert with_kernel.log_pdf(near)[0] > with_kernel.log_pdf(far)[0]
    assert without.log_pdf(near)[0] == pytest.approx(without.log_pdf(far)[0], abs=0.5)


def test_empty_mixture_is_the_prior(setup):
    groups, history = setup
    candidates = TreeMixture(groups[0], history, np.array([], dtype=int)).sample(
        np.random.default_rng(1), 3000)
    options = candidates.rows[0][2][:, 0]
    assert np.all(np.abs(np.bincount(options.astype(int), minlength=3) / 3000 - 1 / 3) < 0.05)


def test_rows_remove_keeps_the_others_in_order():
    rows = Rows(1)
    for trial in range(40):
        rows.append(trial * 2, np.array([float(trial)]))
    assert rows.remove(10) and not rows.remove(10) and not rows.remove(11)
    assert rows.n == 39 and 10 not in rows.ids and np.all(np.diff(rows.ids) > 0)
    np.testing.assert_array_equal(rows.values[:, 0], rows.ids / 2)

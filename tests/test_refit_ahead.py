"""Tests of the refit ahead of the end (automl.refit.refit_ahead) and what it frees.

Near the end of a budget the best trial of the moment is fitted on all rows in the spare
worker; from then on the trials need not leave that refit's time free
(``Budget.held_back``), and ``refit_best`` takes the fitted pipeline instead of refitting
or falling back to the cheapest trial.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from automl.budget import Budget
from automl.refit import refit_ahead, refit_best, take_background
from automl.workers import TaskResult


class _Pool:
    """Records submissions; ``wait`` returns a fitted "pipeline" (a string) for each."""

    def __init__(self, n_free: int = 1) -> None:
        self.n_free = n_free
        self.submitted: list[tuple[int, dict, float | None]] = []
        self._queue: list[TaskResult] = []

    def submit(self, fn, path, config, *, time_limit=None, **kwargs) -> int:
        task_id = 100 + len(self.submitted)
        self.submitted.append((task_id, config, time_limit))
        self._queue.append(TaskResult(task_id, "ok", f"fitted {config['model']}", None, 0.01))
        return task_id

    def wait(self, timeout=None) -> list[TaskResult]:
        done, self._queue = self._queue, []
        return done


SHARED = SimpleNamespace(path="unused: the pool fakes the fit")


def _trial(trial_id: int, loss: float, duration: float = 2.0) -> dict:
    return {"trial_id": trial_id, "status": "ok", "loss": loss, "score": -loss,
            "fold_scores": [-loss] * 5, "duration": duration, "algorithm": "gbm",
            "config": {"model": trial_id}, "seed": trial_id}


def _state(budget: Budget, trials: list[dict], cap: float | None = 2.5) -> SimpleNamespace:
    best = min(trials, key=lambda t: t["loss"]) if trials else None
    for trial in sorted(trials, key=lambda t: -t["loss"]):   # the incumbents in turn
        budget.note_best(trial)
    return SimpleNamespace(budget=budget, trials=trials, best=best, ahead={}, ahead_task=None, n_folds=5,
                           safety_task=None, safety=None, loss=lambda s: -s, bags={},
                           settings=SimpleNamespace(per_trial_time_limit=cap, ensemble_size=0))


def test_the_refit_of_the_best_is_no_longer_held_back_once_it_is_done():
    budget = Budget(20.0, 5, 1.25, refit_factor=2.0)
    budget.note_best({"trial_id": 3, "duration": 8.0})
    estimate = budget.refit_estimate({"duration": 8.0})
    assert budget.held_back() == pytest.approx(2.0 * estimate)
    before = budget.trial_limit(cap=None)
    budget.note_refit(2)                       # not the best: nothing changes
    assert budget.held_back() == pytest.approx(2.0 * estimate)
    budget.note_refit(3)
    assert budget.held_back() == pytest.approx(estimate)
    assert budget.trial_limit(cap=None) > before + 0.9 * estimate
    budget.note_best({"trial_id": 4, "duration": 1.0})   # a new best: held back again
    assert budget.held_back() == pytest.approx(2.0 * estimate)


def test_the_held_back_time_never_drops_below_the_floor():
    budget = Budget(60.0, 5, 1.25, refit_factor=2.0)
    budget.note_best({"trial_id": 0, "duration": 0.4})
    budget.note_refit(0)
    assert budget.held_back() == budget.floor == pytest.approx(3.0)


def test_a_measured_refit_scales_later_estimates_and_the_reserve():
    budget = Budget(60.0, 5, 1.25, refit_factor=1.5, refit_costs={"gbm": 2.0})
    slow = {"trial_id": 0, "algorithm": "gbm", "duration": 20.0}
    budget.note_best(slow)
    before, reserve = budget.refit_estimate(slow), budget.reserve
    assert before == pytest.approx(1.5 * 2.0 * 20.0 * 0.25 + 0.5)      # 15.5 s
    assert reserve == pytest.approx(1.5 * before)
    budget.note_refit_time(slow, 5.0)          # took half the plain estimate (10 s)
    assert budget.refit_speed == {"gbm": 0.5}
    assert budget.refit_estimate(slow) == pytest.approx(0.5 * (before - 0.5) + 0.5)
    assert budget.reserve == pytest.approx(1.5 * budget.refit_estimate(slow))
    assert budget.reserve < reserve
    other = {"trial_id": 1, "algorithm": "svc", "duration": 20.0}
    assert budget.refit_estimate(other) == pytest.approx(1.5 * 20.0 * 0.25 + 0.5)   # unchanged
    budget.note_refit_time(slow, 8.0)          # the slowest measured refit counts
    assert budget.refit_speed == {"gbm": 0.8}
    budget.note_refit_time(slow, 0.01)
    assert budget.refit_speed == {"gbm": 0.8}
    budget.note_refit_time(other, 1e6)         # a slow refit never raises an estimate
    assert budget.refit_speed["svc"] == 1.0
    budget.note_refit_time(other, 1e-6)        # the largest ratio seen stays
    assert budget.refit_speed["svc"] == 1.0 and budget.refit_speed["gbm"] == 0.8
    fresh = Budget(60.0, 5, 1.25)
    fresh.note_refit_time(other, 1e-6)         # at least a quarter of the plain estimate
    assert fresh.refit_speed["svc"] == 0.25


def test_a_refit_ahead_reports_its_time_to_the_budget():
    state = _state(Budget(4.0, 5, 1.25), [_trial(0, 0.5), _trial(1, 0.3)])
    pool = _Pool()
    refit_ahead(state, pool, SHARED)
    task_id = state.ahead_task[0]
    assert take_background(state, TaskResult(task_id, "ok", "fitted 1", None, 0.125))
    plain = 1.0 * 2.0 * 0.25          # refit cost 1 (no tag here), 2 s of CV, 1.25 / 5
    assert state.budget.refit_speed == {"gbm": pytest.approx(0.125 / plain)}   # 0.25


def test_the_best_trial_is_refit_ahead_only_near_the_end_and_once():
    trials = [_trial(0, 0.5), _trial(1, 0.3)]
    early = _state(Budget(60.0, 5, 1.25, refit_factor=2.0), trials, cap=15.0)
    pool = _Pool()
    refit_ahead(early, pool, SHARED)           # 60 s left: far from the end
    assert pool.submitted == []
    late = _state(Budget(4.0, 5, 1.25, refit_factor=2.0), trials, cap=1.5)
    refit_ahead(late, pool, SHARED)
    assert [config for _, config, _ in pool.submitted] == [{"model": 1}]
    refit_ahead(late, pool, SHARED)            # one at a time
    assert len(pool.submitted) == 1
    for result in pool.wait():
        assert take_background(late, result)
    assert late.ahead == {1: "fitted 1"} and late.budget.refit_done
    refit_ahead(late, pool, SHARED)            # the best is fitted already
    assert len(pool.submitted) == 1


def test_a_cut_short_challenger_is_refit_ahead_and_then_taken():
    # trial 2 finished 2 of 5 folds in 6 s, each far better than the best complete trial:
    # its refit (estimated from 15 s, the time all five folds would take) goes first
    # (30 s budget, 25 s cap: the window opens at 25 + max(reserve, estimate) = 31 s left)
    challenger = dict(_trial(2, 0.1, duration=6.0), status="timeout", fold_scores=[-0.1, -0.1])
    trials = [_trial(0, 0.5), _trial(1, 0.3), challenger]
    state = _state(Budget(30.0, 5, 1.25), [t for t in trials if t["status"] == "ok"], cap=25.0)
    state.trials = trials
    pool = _Pool()
    refit_ahead(state, pool, SHARED)
    (task_id, config, limit), = pool.submitted
    assert config == {"model": 2}
    assert limit == pytest.approx(2 * state.budget.refit_estimate({"duration": 15.0}))
    for result in pool.wait():
        assert take_background(state, result)
    assert not state.budget.refit_done          # trial 1 is still the best complete trial
    pipeline, record = refit_best(state, pool, SHARED)
    assert (pipeline, record["trial_id"]) == ("fitted 2", 2) and len(pool.submitted) == 1


def test_a_refit_ahead_that_failed_is_not_tried_again_nor_taken():
    state = _state(Budget(4.0, 5, 1.25, refit_factor=2.0), [_trial(0, 0.5), _trial(1, 0.3)])
    pool = _Pool()
    refit_ahead(state, pool, SHARED)
    (task_id, _, _), = pool.submitted
    pool.wait()
    assert take_background(state, TaskResult(task_id, "timeout", None, "stopped", 1.0))
    assert state.ahead == {1: None} and not state.budget.refit_done
    refit_ahead(state, pool, SHARED)
    assert len(pool.submitted) == 1
    pipeline, record = refit_best(state, pool, SHARED)     # refit at the end instead
    assert (pipeline, record["trial_id"]) == ("fitted 1", 1)


def test_no_refit_ahead_without_a_free_worker_or_a_deadline():
    trials = [_trial(0, 0.5)]
    pool = _Pool(n_free=0)
    refit_ahead(_state(Budget(4.0, 5, 1.25), trials), pool, SHARED)
    assert pool.submitted == []
    refit_ahead(_state(Budget(None, 5, 1.25), trials), _Pool(), SHARED)
    assert pool.submitted == []


@pytest.mark.parametrize("seconds, trials, expected, refits", [
    # the best trial was refit ahead: taken as it is
    (6.0, [_trial(0, 0.5), _trial(1, 0.3)], ("fitted ahead", 1), 0),
    # trial 2 beats it but needs ~10 s to refit; trial 0 is the cheapest, and without a
    # refit ahead would be refit instead
    (6.0, [_trial(0, 0.5, duration=0.1), _trial(1, 0.3), _trial(2, 0.2, duration=60.0)],
     ("fitted ahead", 1), 0),
    # a better trial whose refit fits is still refit
    (30.0, [_trial(0, 0.5), _trial(1, 0.3), _trial(2, 0.2, duration=0.5)], ("fitted 2", 2), 1),
])
def test_refit_best_prefers_a_refit_ahead_to_refits_that_do_not_fit(seconds, trials, expected, refits):
    state = _state(Budget(seconds, 5, 1.25), trials)
    state.ahead = {1: "fitted ahead"}
    pool = _Pool()
    pipeline, record = refit_best(state, pool, SHARED)
    assert (pipeline, record["trial_id"]) == expected
    assert len(pool.submitted) == refits


def test_refit_best_waits_for_a_refit_ahead_still_running():
    state = _state(Budget(4.0, 5, 1.25), [_trial(0, 0.5), _trial(1, 0.3)])
    pool = _Pool()
    refit_ahead(state, pool, SHARED)
    assert state.ahead_task is not None
    pipeline, record = refit_best(state, pool, SHARED)
    assert (pipeline, record["trial_id"]) == ("fitted 1", 1)
    assert len(pool.submitted) == 1 and state.ahead_task is None


def test_a_real_search_refits_ahead_and_uses_that_pipeline(warm_pool, monkeypatch):
    import automl.refit
    import automl.search
    from automl.tpe import RandomSampler
    from tests.test_search import _data, _settings, _space

    space = _space()
    fitted_ahead: set[int] = set()

    def spy(state, task_result):
        kept = set(state.ahead)
        out = take_background(state, task_result)
        fitted_ahead.update(set(state.ahead) - kept)
        return out

    for module in (automl.refit, automl.search):
        monkeypatch.setattr(module, "take_background", spy)
    tic = time.monotonic()
    result = automl.search.run_search(
        _data(space), RandomSampler(space, seed=0),
        _settings(time_budget=4.0, n_trials=None, n_jobs=1, per_trial_time_limit=1.0),
        pool_factory=warm_pool)
    assert time.monotonic() - tic <= 4.0 + 2.0
    assert fitted_ahead, "no trial was refit ahead of the end"
    # the pipeline returned is one refit ahead, or that of a better trial refit at the end
    best_ahead = min((t for t in result.trials if t["trial_id"] in fitted_ahead),
                     key=lambda t: t["loss"])
    assert result.best["loss"] <= best_ahead["loss"]
    assert result.pipeline.predict_proba(_data(space).X).shape == (300, 2)


def test_the_ensemble_selections_time_is_held_back_to_the_end():
    from automl.refit import selection_seconds
    from automl.scoring import get_metric

    budget = Budget(10.0, 5, 1.25, refit_factor=2.0, selection=1.5)
    assert budget.reserve == budget.floor == pytest.approx(2.5)
    budget.note_best({"trial_id": 0, "duration": 0.1})
    budget.note_refit(0)
    assert budget.held_back() == pytest.approx(2.5)
    auc = get_metric("roc_auc", "binary")
    assert selection_seconds(auc, 20, 7500, 2) == pytest.approx(7.5 * selection_seconds(auc, 20, 1000, 2))
    assert selection_seconds(auc, 20, 7500, 2) > 5 * selection_seconds(get_metric("log_loss", "binary"),
                                                                      20, 7500, 2)


# ---------------------------------------------------------------------------------------
# the ensemble's members are trials that can be refit in time


class _RunningPool(_Pool):
    """Runs the ensemble selection for real; a refit returns a fitted model of the data."""

    def __init__(self, X, y) -> None:
        super().__init__()
        self.X, self.y = X, y

    def submit(self, fn, *args, time_limit=None, **kwargs) -> int:
        from sklearn.linear_model import LogisticRegression

        task_id = 100 + len(self.submitted)
        if fn.__name__ == "choose_ensemble":
            value = fn(*args, **kwargs)
            self.submitted.append((task_id, None, time_limit))
        else:
            value = LogisticRegression().fit(self.X, self.y)
            self.submitted.append((task_id, args[1], time_limit))
        self._queue.append(TaskResult(task_id, "ok", value, None, 0.01))
        return task_id


def _complementary_oof(y, n_members: int, seed: int = 0) -> list:
    """Members each right on its own third of the rows, vague elsewhere: any two beat one."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_members):
        p = np.full(len(y), 0.5) + rng.normal(scale=0.02, size=len(y))
        rows = np.arange(len(y)) % n_members == i
        p[rows] = np.where(y[rows] == 1, 0.9, 0.1)
        out.append(np.column_stack([1 - p, p]))
    return out


@pytest.mark.parametrize("slow_refit", [9.0, 0.4])
def test_a_member_that_cannot_be_refit_in_time_leaves_the_ensemble_not_the_ensemble(slow_refit):
    import numpy as np

    from automl.refit import refit_ensemble
    from automl.scoring import get_metric

    y = np.arange(300) % 2
    X = np.column_stack([y + np.random.default_rng(1).normal(size=300)])
    trials = [_trial(0, 0.40, duration=1.0), _trial(1, 0.41, duration=1.0),
              _trial(2, 0.42, duration=slow_refit * 5 / 1.25 / 1.5)]    # its refit: ~slow_refit s
    budget = Budget(6.0, 5, 1.25)
    state = _state(budget, trials)
    state.settings = SimpleNamespace(ensemble_size=10, n_jobs=2, run_seed=0)
    state.oof = dict(enumerate(_complementary_oof(y, 3)))
    data = SimpleNamespace(y=y, metric=get_metric("log_loss", "binary"), sample_weight=None,
                           n_classes=2)
    from sklearn.linear_model import LogisticRegression

    pool = _RunningPool(X, y)
    ensemble, members = refit_ensemble(state, data, pool, SHARED, trials[0],
                                       LogisticRegression().fit(X, y))
    assert ensemble is not None, "the ensemble was dropped"
    ids = [i for i, _ in members]
    assert 0 in ids and 1 in ids
    assert (2 in ids) == (slow_refit < 1.0)       # in it only if its refit fits the 6 s
    assert sum(w for _, w in members) == pytest.approx(1.0)
    assert ensemble.predict_proba(X[:3]).shape == (3, 2)


def test_members_whose_refit_no_longer_fits_the_time_left_are_dropped():
    from automl.refit import _refits_in_time

    budget = Budget(5.0, 5, 1.25)
    state = SimpleNamespace(budget=budget, settings=SimpleNamespace(n_jobs=2))
    trials = [_trial(i, 0.4, duration=d) for i, d in enumerate([20.0, 20.0, 7.0, 6.0, 1.0])]
    cost = [budget.refit_estimate(t, single=True) for t in trials]
    assert cost[0] > budget.left() > max(cost[2:])
    members = _refits_in_time(state, [(t, 0.2) for t in trials], fitted={0})
    kept = [r["trial_id"] for r, _ in members]
    assert kept == [0, 2, 3, 4]     # trial 0 is fitted already; 1 cannot be refit in time
    assert [w for _, w in members] == pytest.approx([0.25] * 4)
    twin = dict(trials[2], trial_id=5)
    each_fits = [(trials[2], 0.25), (twin, 0.25), (trials[3], 0.25), (trials[4], 0.25)]
    assert sum(cost[2:]) + cost[2] > 2 * budget.left()
    assert _refits_in_time(state, each_fits, fitted=set()) == each_fits    # no sum check

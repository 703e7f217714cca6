"""Tests of automl.search: fault isolation, limits, callbacks, portfolio, the refit."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline

from automl.builder import describe_columns
from automl.evaluate import TrialData, make_folds
from automl.exceptions import NoSuccessfulTrialError
from automl.scoring import get_metric
from automl.budget import Budget, allowed_algorithms, full_duration
from automl.search import SearchCallback, SearchSettings, portfolio, run_search
from automl.space import Categorical, Choice, Component, Float, Space
from automl.tpe import RandomSampler


class _Prior(ClassifierMixin, BaseEstimator):
    """Predicts the class frequencies of the training labels."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.prior_ = np.bincount(y) / len(y)
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class SleepsForever(_Prior):
    def fit(self, X, y):
        time.sleep(3600)
        return super().fit(X, y)


class FailsSometimes(_Prior):
    def __init__(self, alpha: float = 0.5):
        self.alpha = alpha

    def fit(self, X, y):
        if self.alpha < 1 / 3:
            raise ValueError(f"alpha too small: {self.alpha}")
        return super().fit(X, y)


class KillsItsWorker(_Prior):
    def fit(self, X, y):
        os._exit(7)


def _nb() -> Component:
    return Component("sklearn.naive_bayes.GaussianNB",
                     {"var_smoothing": Float(1e-10, 1e-6, log=True)}, cost=1)


def _space(**extra: Component) -> Space:
    return Space({"model": Choice({"nb": _nb(), **extra})})


def _data(space: Space, n: int = 300) -> TrialData:
    X, y = make_classification(n_samples=n, n_features=5, random_state=0)
    import pandas as pd
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    return TrialData(frame, y, make_folds(y, "binary", 3, 0), space, describe_columns(frame),
                     "binary", get_metric("roc_auc", "binary"), 2)


def _startup(space: Space, names: list[str]) -> list[dict]:
    return [space.restrict(include=[n]).default() for n in names]


class _Recorder(SearchCallback):
    def __init__(self):
        self.started, self.ended = [], []

    def on_trial_start(self, trial_id, config, seed):
        self.started.append(trial_id)

    def on_trial_end(self, record, result):
        self.ended.append((record["trial_id"], record["status"], result))


def _settings(**kw) -> SearchSettings:
    base = dict(time_budget=None, n_trials=4, n_jobs=2, per_trial_time_limit=30.0, run_seed=0)
    base.update(kw)
    return SearchSettings(**base)


def test_a_trial_that_sleeps_forever_is_stopped_near_its_limit_and_the_search_goes_on(warm_pool):
    space = _space(sleeper=Component(SleepsForever, {}))
    sampler = RandomSampler(space, seed=0, startup_configs=_startup(space, ["sleeper", "nb", "nb"]))
    result = run_search(_data(space), sampler, _settings(n_trials=3, per_trial_time_limit=3.0),
                        pool_factory=warm_pool)
    by_algo = {t["algorithm"]: t for t in result.trials}
    assert by_algo["sleeper"]["status"] == "timeout"
    assert 3.0 <= by_algo["sleeper"]["duration"] <= 4.5
    assert [t["status"] for t in result.trials if t["algorithm"] == "nb"] == ["ok", "ok"]
    assert result.best["algorithm"] == "nb"


def test_a_component_raising_on_a_third_of_configs_leaves_a_valid_best_model(warm_pool):
    space = Space({"model": Choice({"flaky": Component(FailsSometimes, {"alpha": Float(0.0, 1.0)})})})
    data = _data(space)
    result = run_search(data, RandomSampler(space, seed=3), _settings(n_trials=12, n_jobs=1),
                        pool_factory=warm_pool)
    alphas = [t["config"]["model"]["flaky"]["alpha"] for t in result.trials]
    statuses = [t["status"] for t in result.trials]
    assert statuses == ["error" if a < 1 / 3 else "ok" for a in alphas]
    assert "error" in statuses and "ok" in statuses
    assert all("alpha too small" in t["error"] for t in result.trials if t["status"] == "error")
    assert result.best["config"]["model"]["flaky"]["alpha"] >= 1 / 3
    assert isinstance(result.pipeline, Pipeline)
    assert result.pipeline.predict_proba(data.X).shape == (len(data.y), 2)


def test_a_component_that_kills_its_worker_loses_only_itself(warm_pool):
    space = _space(killer=Component(KillsItsWorker, {}))
    sampler = RandomSampler(space, seed=0,
                            startup_configs=_startup(space, ["killer", "nb", "killer", "nb"]))
    result = run_search(_data(space), sampler, _settings(n_trials=4), pool_factory=warm_pool)
    statuses = sorted((t["algorithm"], t["status"]) for t in result.trials)
    assert statuses == [("killer", "crashed")] * 2 + [("nb", "ok")] * 2


def test_no_successful_trial_raises_with_the_most_common_failure(warm_pool):
    space = Space({"model": Choice({"flaky": Component(FailsSometimes,
                                                       {"alpha": Categorical([0.1, 0.2])})})})
    with pytest.raises(NoSuccessfulTrialError, match=r"(?s)No trial succeeded out of 3.*alpha too small"):
        run_search(_data(space), RandomSampler(space, seed=0), _settings(n_trials=3, n_jobs=1),
                   pool_factory=warm_pool)


def test_callbacks_see_every_trial_and_oof_predictions_are_kept(warm_pool):
    space = _space(prior=Component(_Prior, {}))
    recorder = _Recorder()
    data = _data(space)
    result = run_search(data, RandomSampler(space, seed=1), _settings(n_trials=5),
                        callbacks=[recorder], pool_factory=warm_pool)
    assert sorted(recorder.started) == list(range(5))
    assert sorted(i for i, _, _ in recorder.ended) == list(range(5))
    for trial_id, status, cv in recorder.ended:
        assert status == "ok" and cv.oof.shape == (len(data.y), 2)
        np.testing.assert_array_equal(result.oof[trial_id], cv.oof)
    keys = {"trial_id", "config", "algorithm", "status", "loss", "score", "fold_scores",
            "duration", "error", "seed", "started_at"}
    assert all(set(t) == keys for t in result.trials)


def test_only_the_best_oof_predictions_are_kept(warm_pool):
    space = _space()
    result = run_search(_data(space), RandomSampler(space, seed=2),
                        _settings(n_trials=6, n_jobs=1, keep_oof=2),
                        pool_factory=warm_pool)
    best_two = sorted(result.trials, key=lambda t: (t["loss"], t["trial_id"]))[:2]
    assert set(result.oof) == {t["trial_id"] for t in best_two}


def test_a_time_budget_is_kept_and_the_refit_is_inside_it():
    space = _space(sleeper=Component(SleepsForever, {}))
    sampler = RandomSampler(space, seed=0, startup_configs=_startup(space, ["nb", "sleeper"]))
    tic = time.monotonic()
    result = run_search(_data(space), sampler, _settings(time_budget=10.0, n_trials=None,
                                                         per_trial_time_limit=None))
    elapsed = time.monotonic() - tic
    assert elapsed <= 10.0 + 2.0
    assert any(t["status"] == "timeout" for t in result.trials)
    assert result.best["algorithm"] == "nb"


def test_portfolio_puts_the_cheapest_defaults_first():
    space = Space({"model": Choice({
        "slow": Component("sklearn.svm.SVC", {"C": Float(0.1, 10.0)}, cost=5),
        "mid": Component("sklearn.tree.DecisionTreeClassifier", {}, cost=2),
        "fast": _nb()})})
    configs = portfolio(space)
    assert [space.choice(c) for c in configs] == ["fast", "mid"]
    assert configs[0] == space.restrict(include=["fast"]).default()
    assert [space.choice(c) for c in portfolio(space, max_cost=0)] == ["fast"]


def test_allowed_algorithms_keeps_to_those_whose_time_fits():
    names = ["nb", "prior", "killer"]
    assert allowed_algorithms({}, names, 10.0) is None
    durations = {"nb": [1.0], "prior": [20.0]}
    assert allowed_algorithms(durations, names, 10.0) == ["nb"]
    assert allowed_algorithms(durations, names, 40.0) is None
    assert allowed_algorithms(durations, names, 0.5) == []
    assert allowed_algorithms(durations, names, None) is None


def test_pruned_trials_count_with_the_time_a_full_trial_would_take():
    raced = {"status": "pruned", "duration": 3.0, "fold_scores": [0.7]}
    halved = {"status": "pruned", "duration": 3.0, "fold_scores": [0.7] * 5, "stage": "subsample"}
    raced_on_subsample = dict(halved, fold_scores=[0.7])
    assert full_duration(raced, 5) == pytest.approx(15.0)
    assert full_duration(halved, 5, subsample_fraction=0.25) == pytest.approx(15.0)
    assert full_duration(raced_on_subsample, 5, subsample_fraction=0.25) == pytest.approx(75.0)
    assert full_duration({"status": "ok", "duration": 2.0, "fold_scores": [0.7]}, 5) == 2.0
    assert full_duration({"status": "error", "duration": 2.0, "fold_scores": []}, 5) is None


def test_the_budget_limits_a_trial_to_the_time_left_minus_its_refit():
    assert Budget(None, 5, 1.25).trial_limit(cap=7.0) == 7.0
    budget = Budget(20.0, 5, 1.25)
    limit = budget.trial_limit(cap=None)
    assert 0 < limit <= budget.left() - budget.reserve + 0.05
    assert limit + budget.refit_estimate({"duration": limit}) <= budget.left() + 0.05
    assert budget.trial_limit(cap=1.0) == 1.0


def test_the_refit_estimate_leaves_out_the_subsample_stage():
    plain = Budget(None, 4, 1.25)
    halved = Budget(None, 4, 1.25, subsample_fraction=0.25)
    record = {"duration": 10.0, "subsample_fold_scores": [0.8] * 4}
    assert plain.refit_estimate({"duration": 10.0}) == halved.refit_estimate({"duration": 10.0})
    assert halved.refit_estimate(record) == pytest.approx(plain.refit_estimate({"duration": 8.0}))


def test_the_refit_estimate_counts_an_algorithms_refit_cost():
    budget = Budget(None, 4, 1.25, refit_costs={"booster": 2.0})
    plain = budget.refit_estimate({"duration": 10.0, "algorithm": "forest"})
    boosted = budget.refit_estimate({"duration": 10.0, "algorithm": "booster"})
    assert plain == pytest.approx(1.5 * 10.0 * 1.25 / 4 + 0.5)
    assert boosted - 0.5 == pytest.approx(2.0 * (plain - 0.5))


def test_the_default_spaces_boosters_cost_two_fits_to_refit():
    from automl.search import _refit_costs
    from search_spaces import default_space

    for task in ("binary", "regression"):
        costs = _refit_costs(default_space(task))
        assert costs["lightgbm"] == costs["xgboost"] == 2.0
        assert costs["random_forest"] == 1.0


def test_workers_preload_the_library_of_the_portfolios_first_entry_only_when_searched():
    from automl.search import _preload
    from search_spaces import default_space

    space = default_space("binary")
    assert "lightgbm" in _preload(space) and "xgboost" not in _preload(space)
    assert "lightgbm" not in _preload(space.restrict(exclude=["lightgbm"]))
    assert _preload(space)[0] == "automl.evaluate"


class SlowFit(_Prior):
    """Each fit takes 0.6 s: a 3-fold CV cannot finish in 1 s, a single refit can."""

    def fit(self, X, y):
        time.sleep(0.6)
        return super().fit(X, y)


def test_a_usable_model_comes_back_even_when_no_cross_validation_finishes(warm_pool):
    space = Space({"model": Choice({"slow": Component(SlowFit, {}, cost=1)})})
    sampler = RandomSampler(space, seed=0)
    settings = _settings(time_budget=6.0, n_trials=None, n_jobs=1, per_trial_time_limit=1.0)
    with pytest.warns(UserWarning, match="No trial finished its cross-validation"):
        result = run_search(_data(space), sampler, settings, pool_factory=warm_pool)
    assert all(t["status"] == "timeout" for t in result.trials)
    assert result.refit_trial_id == 0
    assert result.pipeline.predict_proba(_data(space).X).shape == (300, 2)


class RowTimedFit(_Prior):
    """A fold (200 rows) takes 0.4 s, a fit on all 300 rows 1.5 s."""

    def fit(self, X, y):
        time.sleep(0.4 if len(X) < 250 else 1.5)
        return super().fit(X, y)


def test_a_trial_cut_short_is_refit_when_nothing_else_finished(warm_pool):
    # the cap (1 s) stops the only trial after one or two folds and kills the early
    # safety refit (1.5 s): the trial scored on those folds is still refit and returned
    space = Space({"model": Choice({"slow": Component(RowTimedFit, {}, cost=1)})})
    settings = _settings(time_budget=30.0, n_trials=1, n_jobs=1, per_trial_time_limit=1.0)
    with pytest.warns(UserWarning, match=r"scored on the [12] fold\(s\) it finished"):
        result = run_search(_data(space), RandomSampler(space, seed=0), settings,
                            pool_factory=warm_pool)
    (trial,) = result.trials
    assert trial["status"] == "timeout" and 1 <= len(trial["fold_scores"]) <= 2
    assert result.refit_trial_id == 0
    assert result.pipeline.predict_proba(_data(space).X).shape == (300, 2)


def test_a_trial_reaching_its_time_cap_stops_between_folds_and_keeps_them(warm_pool):
    space = Space({"model": Choice({"slow": Component(SlowFit, {}, cost=1)})})
    settings = _settings(time_budget=30.0, n_trials=1, n_jobs=1, per_trial_time_limit=1.6)
    with pytest.warns(UserWarning, match="No trial finished its cross-validation"):
        result = run_search(_data(space), RandomSampler(space, seed=0), settings,
                            pool_factory=warm_pool)
    (trial,) = result.trials
    # 0.6 s a fold: the third of 3 folds would end after the 1.6 s cap, so the trial stops
    # before it with the folds it finished instead of being killed with none
    assert trial["status"] == "timeout" and 1 <= len(trial["fold_scores"]) < 3
    assert "stopped at the search deadline after" in trial["error"]

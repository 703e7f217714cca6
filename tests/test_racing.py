"""Tests of automl.racing and of racing inside the search loop."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl.builder import describe_columns
from automl.evaluate import TrialData, cross_validate, make_folds
from automl.racing import RacingRule, racing_rule
from automl.scoring import get_metric
from automl.search import SearchSettings, run_search
from automl.space import Choice, Component, Constant, Float, Space
from automl.tpe import RandomSampler

AUC_LOSS = get_metric("roc_auc", "binary").loss


def _space() -> Space:
    return Space({"model": Choice({
        "nb": Component("sklearn.naive_bayes.GaussianNB",
                        {"var_smoothing": Float(1e-10, 1e-6, log=True)}),
        "dummy": Component("sklearn.dummy.DummyClassifier", {"strategy": Constant("prior")}),
    })})


def _data(space: Space, n: int = 300, folds: int = 5) -> TrialData:
    X, y = make_classification(n_samples=n, n_features=5, n_informative=3, class_sep=1.5,
                               random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    return TrialData(frame, y, make_folds(y, "binary", folds, 0), space, describe_columns(frame),
                     "binary", get_metric("roc_auc", "binary"), 2)


def test_no_incumbent_means_no_rule():
    assert racing_rule(None, AUC_LOSS) is None
    failed = {"status": "timeout", "fold_scores": [0.9, 0.9]}
    assert racing_rule(failed, AUC_LOSS) is None


def test_a_clearly_worse_candidate_is_stopped_after_one_fold():
    rule = racing_rule({"status": "ok", "fold_scores": [0.91, 0.93, 0.92, 0.90, 0.92]}, AUC_LOSS)
    assert rule(0, AUC_LOSS(0.60))
    assert not rule(0, AUC_LOSS(0.905))       # within the incumbent's fold-to-fold noise
    assert not rule(0, AUC_LOSS(0.99))        # better


def test_the_margin_shrinks_with_folds_and_grows_with_the_incumbent_spread():
    steady = RacingRule((0.10, 0.11, 0.09, 0.10), rel_tol=0.0)
    noisy = RacingRule((0.02, 0.20, 0.05, 0.15), rel_tol=0.0)
    assert steady.margin(1) < noisy.margin(1)
    assert noisy.margin(3) < noisy.margin(1)
    candidate = 0.10 + 1.5 * steady.margin(1)
    assert steady(0, candidate) and not noisy(0, candidate)


def test_the_last_fold_is_never_pruned():
    rule = RacingRule((0.1, 0.1, 0.1))
    assert rule(1, 5.0)
    assert not rule(2, 5.0) and not rule(7, 5.0)


def test_the_reference_is_the_incumbent_mean_over_the_same_folds():
    rule = RacingRule((0.0, 1.0, 1.0, 1.0), z=0.0, rel_tol=0.0)
    assert rule(0, 0.5)                    # worse than the incumbent's first fold (0.0)
    assert not rule(1, 0.5)                # equal to its mean over folds 0..1


def test_the_rule_pickles_and_keeps_its_decisions():
    rule = RacingRule((-0.9, -0.92, -0.91))
    again = pickle.loads(pickle.dumps(rule))
    assert again == rule
    assert [again(0, x) for x in (-0.5, -0.95)] == [rule(0, x) for x in (-0.5, -0.95)]


def test_bad_settings_are_refused_with_the_value_received():
    with pytest.raises(ValueError, match="finite.*nan"):
        RacingRule((0.1, float("nan")))
    with pytest.raises(ValueError, match="z must be a non-negative number; got -1"):
        RacingRule((0.1, 0.2), z=-1)


def test_cross_validate_stops_a_bad_trial_against_a_good_incumbent():
    space = _space()
    data = _data(space)
    good = cross_validate(data, space.restrict(include=["nb"]).default(), seed=0)
    rule = racing_rule({"status": "ok", "fold_scores": good.fold_scores}, data.metric.loss)
    bad = cross_validate(data, space.restrict(include=["dummy"]).default(), seed=0,
                         should_stop=rule)
    again = cross_validate(data, space.restrict(include=["nb"]).default(), seed=0,
                           should_stop=rule)
    assert bad.status == "pruned" and len(bad.fold_scores) == 1
    assert again.status == "ok" and len(again.fold_scores) == 5


def test_a_search_with_racing_records_pruned_trials_and_keeps_a_good_model(warm_pool):
    space = _space()
    data = _data(space)
    sampler = RandomSampler(space, seed=3,
                            startup_configs=[space.restrict(include=["nb"]).default()])
    settings = SearchSettings(time_budget=None, n_trials=8, n_jobs=1, run_seed=0, racing=True,
                              racing_after=1)
    result = run_search(data, sampler, settings, pool_factory=warm_pool)
    statuses = {t["algorithm"]: [] for t in result.trials}
    for trial in result.trials:
        statuses[trial["algorithm"]].append(trial["status"])
    assert statuses["dummy"] and set(statuses["dummy"]) == {"pruned"}
    assert all(len(t["fold_scores"]) == 1 for t in result.trials if t["status"] == "pruned")
    assert result.trials[0]["status"] == "ok"          # nothing to race against yet
    assert result.best["algorithm"] == "nb" and result.best["score"] > 0.85


def test_racing_waits_for_its_first_complete_trials(warm_pool):
    space = _space()
    dummy = space.restrict(include=["dummy"]).default()
    startup = [space.restrict(include=["nb"]).default()] + [dummy] * 5
    sampler = RandomSampler(space, seed=3, startup_configs=startup)
    settings = SearchSettings(time_budget=None, n_trials=6, n_jobs=1, run_seed=0, racing=True,
                              racing_after=3)
    result = run_search(_data(space), sampler, settings, pool_factory=warm_pool)
    statuses = [t["status"] for t in result.trials]
    # nb, then two (bad) dummies complete; racing starts with three complete trials
    assert statuses == ["ok", "ok", "ok", "pruned", "pruned", "pruned"]


def test_without_racing_no_trial_is_pruned(warm_pool):
    space = _space()
    sampler = RandomSampler(space, seed=3,
                            startup_configs=[space.restrict(include=["nb"]).default()])
    settings = SearchSettings(time_budget=None, n_trials=5, n_jobs=1, run_seed=0)
    result = run_search(_data(space), sampler, settings, pool_factory=warm_pool)
    assert all(t["status"] == "ok" for t in result.trials)
    assert np.isfinite(result.best["score"])


def test_a_trial_cut_short_is_refit_only_when_clearly_better_on_its_folds():
    from types import SimpleNamespace

    from automl.refit import cut_short_challenger

    best = {"trial_id": 0, "status": "ok", "loss": -0.82, "fold_scores": [0.82, 0.83, 0.81, 0.82]}

    def cut(trial_id: int, scores: list, status: str = "timeout") -> dict:
        return {"trial_id": trial_id, "status": status, "fold_scores": scores,
                "loss": -float(np.mean(scores)) if scores else float("nan")}

    close, strong, stronger = cut(1, [0.83]), cut(2, [0.91, 0.92]), cut(3, [0.95])
    trials = [best, close, strong, stronger, cut(4, []), cut(5, [0.99], status="pruned")]
    state = SimpleNamespace(trials=trials, loss=AUC_LOSS, bags={})
    assert cut_short_challenger(state, best) is stronger           # the best of the clear ones
    state.bags = {3: "fold models kept"}                            # blended at the end instead
    assert cut_short_challenger(state, best) is strong
    state.trials = [best, close]
    assert cut_short_challenger(state, best) is None               # within the margin
    assert cut_short_challenger(state, None) is None               # nothing complete to beat
    assert not RacingRule((-0.8, -0.8)).clearly_better([-0.99, -0.99, -0.99])  # more folds than the incumbent


# --- the extension: time past the cap for a trial that can finish -----------------------

def _capped_at_second_fold(monkeypatch, cap: float) -> None:
    """Make the deadline ``cap`` (and only it) run out after the first fold."""
    from automl import evaluate

    real = evaluate._out_of_time
    monkeypatch.setattr(evaluate, "_out_of_time",
                        lambda deadline, fit_times, first: (bool(fit_times) and deadline == cap)
                        or real(deadline, fit_times, first))


@pytest.mark.parametrize("include, incumbent, expected", [
    (["nb"], None, ("ok", 5)),           # no incumbent: a trial that can finish goes on
    (["nb"], "nb", ("ok", 5)),           # as good as the incumbent: goes on
    (["dummy"], "nb", ("timeout", 1)),   # clearly worse: stops at the cap as before
])
def test_an_extension_lets_a_competitive_trial_finish_past_its_cap(monkeypatch, include,
                                                                   incumbent, expected):
    import time

    from automl.racing import Extension

    space = _space()
    data = _data(space)
    rule = None
    if incumbent is not None:
        best = cross_validate(data, space.restrict(include=[incumbent]).default(), seed=0)
        rule = racing_rule({"status": "ok", "fold_scores": best.fold_scores}, data.metric.loss)
    cap = time.time() + 1000.0
    _capped_at_second_fold(monkeypatch, cap)
    config = space.restrict(include=include).default()
    plain = cross_validate(data, config, seed=0, deadline=cap)
    assert (plain.status, len(plain.fold_scores)) == ("timeout", 1)
    extended = cross_validate(data, config, seed=0, deadline=cap,
                              extension=Extension(time.time() + 2000.0, rule))
    assert (extended.status, len(extended.fold_scores)) == expected
    if expected[0] == "ok":
        assert not np.isnan(extended.oof).any()


def test_no_extension_when_the_remaining_folds_cannot_end_in_it(monkeypatch):
    import time

    from automl.racing import Extension

    space = _space()
    data = _data(space)
    cap = time.time() + 1000.0
    _capped_at_second_fold(monkeypatch, cap)
    # the extension ends before the four folds left could (each takes > 0 s)
    short = Extension(time.time(), None)
    result = cross_validate(data, space.restrict(include=["nb"]).default(), seed=0,
                            deadline=cap, extension=short)
    assert (result.status, len(result.fold_scores)) == ("timeout", 1)
    assert not short.grants([], [1.0], 4)                  # nothing to judge before a fold
    assert not short.grants([float("nan")], [0.0], 1)      # nor on a failed fold


def test_trial_extension_only_when_the_default_cap_binds():
    from types import SimpleNamespace

    from automl.budget import Budget
    from automl.racing import Extension, trial_extension

    def state(cap, factor, best=None):
        return SimpleNamespace(settings=SimpleNamespace(per_trial_time_limit=cap, cap_extension=factor),
                               budget=Budget(60.0, n_folds=5, refit_scale=1.25), best=best,
                               loss=AUC_LOSS)

    extension, limit = trial_extension(state(15.0, 2.0), 15.0)
    assert isinstance(extension, Extension) and extension.rule is None
    assert 29.0 < limit <= 30.0        # twice the cap, within the time the trials may use
    best = {"status": "ok", "fold_scores": [0.8, 0.82, 0.81]}
    assert trial_extension(state(15.0, 2.0, best), 15.0)[0].rule is not None
    assert trial_extension(state(15.0, 1.0), 15.0) == (None, 15.0)    # a cap the user set
    assert trial_extension(state(15.0, 2.0), 4.0) == (None, 4.0)      # the time left binds
    assert trial_extension(state(None, 2.0), None) == (None, None)    # no cap at all


def test_the_estimators_extend_only_their_default_cap():
    from automl import AutoClassifier
    from automl.scoring import get_metric

    metric = get_metric("roc_auc", "binary")
    default = AutoClassifier(time_budget=60)._settings(metric, 0)
    assert default.per_trial_time_limit == 15.0 and default.cap_extension == 2.0
    pinned = AutoClassifier(time_budget=60, per_trial_time_limit=15)._settings(metric, 0)
    assert pinned.cap_extension == 1.0

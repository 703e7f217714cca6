"""Tests of the fold models of cut-short trials: kept by the worker, blended at the end."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline

from automl.bagging import BLEND_WEIGHTS, MAX_BAGS, blend_cut_short, blend_weight, keep_bag
from automl.builder import describe_columns
from automl.ensemble import WeightedEnsembleClassifier
from automl.evaluate import CVResult, TrialData, cross_validate, make_folds, unpack_models
from automl.racing import KeepFoldModels, RacingRule, keep_fold_models
from automl.scoring import get_metric
from automl.search import SearchSettings, run_search
from automl.space import Choice, Component, Float, Space
from automl.tpe import RandomSampler


class SlowNB(GaussianNB):
    """Gaussian naive Bayes whose fit takes ``nap`` seconds more."""

    def __init__(self, nap: float = 0.4, var_smoothing: float = 1e-9):
        super().__init__(var_smoothing=var_smoothing)
        self.nap = nap

    def fit(self, X, y, sample_weight=None):
        time.sleep(self.nap)
        return super().fit(X, y, sample_weight)


class Prior(GaussianNB):
    """Predicts the training class frequencies whatever the features."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.prior_ = np.bincount(y) / len(y)
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))


SPACE = Space({"model": Choice({
    "slow": Component(SlowNB, {"nap": Float(0.0, 0.5)}),
    "prior": Component(Prior, {"var_smoothing": Float(1e-10, 1e-8, log=True)}),
})})


def _data(n: int = 300, k: int = 2) -> TrialData:
    X, y = make_classification(n_samples=n, n_features=5, n_informative=3, n_classes=k,
                               random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    task = "binary" if k == 2 else "multiclass"
    return TrialData(frame, y, make_folds(y, task, 3, 0), SPACE, describe_columns(frame), task,
                     get_metric("log_loss", task), k)


SLOW = {"model": {"slow": {"nap": 0.4}}}


def _prior_slow_prior() -> list[dict]:
    prior = {"model": {"prior": {"var_smoothing": 1e-9}}}
    return [prior, SLOW, prior]


# ---------------------------------------------------------------------------------------
# the policy and the worker's side


def test_the_policy_keeps_the_models_of_a_trial_not_clearly_worse_than_the_incumbent():
    keep = KeepFoldModels(RacingRule((0.30, 0.32, 0.31)))
    assert keep.wants([0.22]) and keep.wants([0.31, 0.32])
    assert not keep.wants([0.60]) and not keep.wants([]) and not keep.wants([float("nan")])
    assert KeepFoldModels(None).wants([5.0])          # no incumbent yet: any finite loss
    state = SimpleNamespace(settings=SimpleNamespace(keep_cut_short=False), best=None, loss=float)
    assert keep_fold_models(state) is None
    state.settings.keep_cut_short = True
    assert keep_fold_models(state) == KeepFoldModels(None)
    state.best = {"status": "ok", "fold_scores": [0.3, 0.4, 0.5]}
    assert keep_fold_models(state).rule.incumbent_losses == (0.3, 0.4, 0.5)


def _cut_after_one_fold(data: TrialData, keep: KeepFoldModels | None) -> CVResult:
    # fold 1 takes ~0.4 s; a second would end after the 0.65 s deadline
    return cross_validate(data, SLOW, seed=0, deadline=time.time() + 0.65, keep=keep)


def test_a_trial_cut_short_sends_back_its_fold_models_which_made_its_oof():
    data = _data()
    result = _cut_after_one_fold(data, KeepFoldModels())
    assert result.status == "timeout" and len(result.fold_scores) == 1
    models = unpack_models(result.models)
    assert len(models) == 1 and isinstance(models[0], Pipeline)
    test = data.folds[0][1]
    assert np.allclose(models[0].predict_proba(data.X.iloc[test]), result.oof[test])


def test_no_models_without_the_policy_when_complete_too_large_or_clearly_worse():
    data = _data()
    assert _cut_after_one_fold(data, None).models is None
    assert _cut_after_one_fold(data, KeepFoldModels(max_bytes=100)).models is None
    worse = KeepFoldModels(RacingRule((0.01, 0.011, 0.012)))     # log loss 0.01: far better
    assert _cut_after_one_fold(data, worse).models is None
    complete = cross_validate(data, {"model": {"slow": {"nap": 0.0}}}, seed=0, keep=KeepFoldModels())
    assert complete.status == "ok" and complete.models is None


def test_fold_models_are_not_pickled_when_that_would_outlast_the_trial():
    from automl.evaluate import _pack_models

    models = [Pipeline([("model", GaussianNB().fit([[0.0], [1.0]], [0, 1]))])] * 3
    assert len(unpack_models(_pack_models(models, 10**6, None))) == 3
    assert len(unpack_models(_pack_models(models, 10**6, time.time() + 60))) == 3
    assert _pack_models(models, 10**6, time.time() - 1) is None
    assert _pack_models(models, 10, None) is None


# ---------------------------------------------------------------------------------------
# the blend


def test_blend_weight_takes_the_best_weight_on_the_rows_the_bag_predicted():
    metric = get_metric("log_loss", "binary")
    y = np.array([0, 1, 0, 1, 0, 1])
    base = np.tile([0.5, 0.5], (6, 1))
    good = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [np.nan, np.nan], [np.nan, np.nan],
                     [np.nan, np.nan]])
    assert blend_weight(metric, y, base, good, None) == 1.0
    bad = good[:, ::-1]
    assert blend_weight(metric, y, base, bad, None) == 0.0
    # a confident but sometimes wrong bag: a mix beats both
    mixed = np.array([[0.95, 0.05], [0.05, 0.95], [0.1, 0.9], [np.nan, np.nan], [np.nan, np.nan],
                      [np.nan, np.nan]])
    w = blend_weight(metric, y, base, mixed, None)
    assert 0.0 < w < 1.0 and w in BLEND_WEIGHTS
    losses = {v: metric.loss(metric.score(y[:3], (1 - v) * base[:3] + v * mixed[:3])) for v in BLEND_WEIGHTS}
    assert losses[w] == min(losses.values())
    # weights move it: the bag's only wrong row weighs nothing, so the bag alone is best
    assert blend_weight(metric, y, base, mixed, np.array([1.0, 1.0, 0.0, 1, 1, 1])) == 1.0
    assert blend_weight(metric, y, base, np.full((6, 2), np.nan), None) == 0.0


def test_keep_bag_keeps_the_best_cut_short_trials_only():
    state = SimpleNamespace(bags={})
    result = CVResult(0.5, -0.5, [-0.5], np.zeros(3), 1.0, "timeout", models=b"models")
    for trial_id, loss in enumerate([0.5, 0.2, 0.4, 0.3, 0.9]):
        keep_bag(state, {"trial_id": trial_id, "status": "timeout", "loss": loss}, result)
    assert sorted(state.bags) == [1, 2, 3] and len(state.bags) == MAX_BAGS
    keep_bag(state, {"trial_id": 9, "status": "ok", "loss": 0.0}, result)
    keep_bag(state, {"trial_id": 8, "status": "timeout", "loss": 0.0, "stage": "subsample"}, result)
    keep_bag(state, {"trial_id": 7, "status": "timeout", "loss": 0.0},
             CVResult(0.0, 0.0, [0.0], np.zeros(3), 1.0, "timeout"))
    assert sorted(state.bags) == [1, 2, 3]


def _packed(models) -> tuple[bytes, ...]:
    import pickle
    return tuple(pickle.dumps(m) for m in models)


def _fitted(model, X, y, rows):
    return Pipeline([("model", model)]).fit(X.iloc[rows], y[rows])


def test_blend_cut_short_turns_a_single_pipeline_into_a_blend_with_the_fold_models():
    data = _data()
    X, y = data.X, data.y
    prior = _fitted(Prior(), X, y, np.arange(len(y)))
    base_oof = np.tile(np.bincount(y) / len(y), (len(y), 1))
    folds = [_fitted(LogisticRegression(), X, y, train) for train, _ in data.folds[:2]]
    bag_oof = np.full((len(y), 2), np.nan)
    for model, (_, test) in zip(folds, data.folds[:2]):
        bag_oof[test] = model.predict_proba(X.iloc[test])
    state = SimpleNamespace(bags={}, oof={0: base_oof})
    keep_bag(state, {"trial_id": 4, "status": "timeout", "loss": 0.3},
             CVResult(0.3, -0.3, [-0.3, -0.3], bag_oof, 1.0, "timeout", models=_packed(folds)))
    chosen = {"trial_id": 0, "status": "ok"}
    ensemble, members, note = blend_cut_short(state, data, chosen, prior, None, [])
    w = blend_weight(data.metric, y, base_oof, bag_oof, None)
    assert w > 0 and isinstance(ensemble, WeightedEnsembleClassifier)
    assert members == ([(0, pytest.approx(1 - w)), (4, w)] if w < 1 else [(4, w)])
    assert "trial 4's 2 fold model(s)" in note
    expected = (1 - w) * prior.predict_proba(X) + w * np.mean([m.predict_proba(X) for m in folds], axis=0)
    assert np.allclose(ensemble.predict_proba(X), expected)
    # an ensemble already chosen: its members keep their proportions
    two = WeightedEnsembleClassifier.from_fitted([prior, prior], [0.25, 0.75])
    state.oof[1] = base_oof
    blended, members, _ = blend_cut_short(state, data, chosen, prior, two, [(0, 0.25), (1, 0.75)])
    assert np.allclose(blended.predict_proba(X), expected)
    if w < 1:
        assert members == [(0, pytest.approx(0.25 * (1 - w))), (1, pytest.approx(0.75 * (1 - w))), (4, w)]


def test_bags_are_blended_best_first_each_against_the_blend_so_far():
    data = _data()
    X, y = data.X, data.y
    prior = _fitted(Prior(), X, y, np.arange(len(y)))
    base_oof = np.tile(np.bincount(y) / len(y), (len(y), 1))
    (train0, test0), (train1, test1) = data.folds[:2]
    lr0, lr1 = _fitted(LogisticRegression(), X, y, train0), _fitted(LogisticRegression(), X, y, train1)
    nb0 = _fitted(GaussianNB(), X, y, train0)
    lr_oof, nb_oof = np.full((len(y), 2), np.nan), np.full((len(y), 2), np.nan)
    lr_oof[test0], lr_oof[test1] = lr0.predict_proba(X.iloc[test0]), lr1.predict_proba(X.iloc[test1])
    nb_oof[test0] = nb0.predict_proba(X.iloc[test0])
    state = SimpleNamespace(bags={}, oof={0: base_oof})
    for trial_id, models, oof in [(5, [lr0, lr1], lr_oof), (6, [nb0], nb_oof)]:
        loss = data.metric.loss(data.metric.score(y[test0], oof[test0]))
        keep_bag(state, {"trial_id": trial_id, "status": "timeout", "loss": loss},
                 CVResult(loss, -loss, [-loss], oof, 1.0, "timeout", models=_packed(models)))
    first, second = sorted(state.bags, key=lambda i: state.bags[i][0])
    ensemble, members, note = blend_cut_short(state, data, {"trial_id": 0, "status": "ok"}, prior, None, [])
    # the weights a by-hand replay gives: each bag against the blend so far
    bags = {5: (lr_oof, [lr0, lr1]), 6: (nb_oof, [nb0])}
    current, expected, weights = base_oof, prior.predict_proba(X), {0: 1.0}
    for trial_id in (first, second):
        oof, models = bags[trial_id]
        w = blend_weight(data.metric, y, current, oof, None)
        current = (1 - w) * current + w * oof
        weights = {i: (1 - w) * x for i, x in weights.items()}
        weights[trial_id] = w
        expected = (1 - w) * expected + w * np.mean([m.predict_proba(X) for m in models], axis=0)
    assert all(weights[i] > 0 for i in (first, second))        # both bags help on these data
    assert dict(members) == pytest.approx({i: x for i, x in weights.items() if x > 0})
    assert sum(x for _, x in members) == pytest.approx(1.0)
    assert np.allclose(ensemble.predict_proba(X), expected)
    assert note.index(f"trial {first}'s") < note.index(f"trial {second}'s")


def test_blend_cut_short_leaves_the_model_alone_without_a_useful_bag():
    data = _data()
    prior = _fitted(Prior(), data.X, data.y, np.arange(len(data.y)))
    state = SimpleNamespace(bags={}, oof={0: np.tile([0.5, 0.5], (len(data.y), 1))})
    chosen = {"trial_id": 0, "status": "ok"}
    assert blend_cut_short(state, data, chosen, prior, None, []) == (None, [], "")
    wrong = np.eye(2)[1 - data.y] * 0.98 + 0.01
    state.bags[3] = (0.9, b"never unpickled", wrong)
    assert blend_cut_short(state, data, chosen, prior, None, []) == (None, [], "")
    state.bags[3] = (0.1, b"never unpickled", np.eye(2)[data.y] * 0.98 + 0.01)
    cut_short = {"trial_id": 2, "status": "timeout"}     # no complete OOF to compare with
    assert blend_cut_short(state, data, cut_short, prior, None, []) == (None, [], "")


# ---------------------------------------------------------------------------------------
# in a search


class SlowLR(LogisticRegression):
    """Logistic regression whose fit takes 0.4 s more."""

    def fit(self, X, y, sample_weight=None):
        time.sleep(0.4)
        return super().fit(X, y, sample_weight)


def test_a_search_blends_the_fold_models_of_a_slow_trial_its_cap_cut_short(warm_pool):
    # on these data naive Bayes' 3 fold log losses are 0.55, 0.66, 0.52; the slow logistic
    # regression's first fold, 0.57, is neither clearly worse (its models are kept) nor
    # clearly better (it is not refit instead), and half of each beats naive Bayes alone
    space = Space({"model": Choice({"nb": Component(GaussianNB, {"var_smoothing": Float(1e-10, 1e-8, log=True)}),
                                    "slow": Component(SlowLR, {"C": Float(0.5, 2.0)})})})
    X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_redundant=0, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    data = TrialData(X, y, make_folds(y, "binary", 3, 0), space, describe_columns(X), "binary",
                     get_metric("log_loss", "binary"), 2)
    nb, slow = {"model": {"nb": {"var_smoothing": 1e-9}}}, {"model": {"slow": {"C": 1.0}}}

    def search(keep: bool):
        settings = SearchSettings(time_budget=None, n_trials=3, n_jobs=1, per_trial_time_limit=0.7,
                                  run_seed=0, keep_cut_short=keep)
        return run_search(data, RandomSampler(space, seed=0, startup_configs=[nb, slow, nb]), settings,
                          pool_factory=warm_pool)

    result = search(keep=True)
    cut = next(t for t in result.trials if t["algorithm"] == "slow")
    assert cut["status"] == "timeout" and len(cut["fold_scores"]) == 1
    assert result.best["algorithm"] == "nb"
    weights = dict(result.ensemble_members)
    assert result.ensemble is not None and 0 < weights[cut["trial_id"]] < 1
    assert weights[result.best["trial_id"]] == pytest.approx(1 - weights[cut["trial_id"]])
    assert len(result.ensemble.estimators_) == 2         # naive Bayes refit, the slow fold model
    proba = result.ensemble.predict_proba(X)
    assert proba.shape == (len(y), 2) and np.allclose(proba.sum(axis=1), 1.0)
    plain = search(keep=False)                           # the same search without the setting
    assert plain.ensemble is None and plain.best["algorithm"] == "nb"

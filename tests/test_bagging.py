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
NO_DEADLINE = SimpleNamespace(deadline=float("inf"))


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
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    base = np.tile([0.5, 0.5], (400, 1))
    right = rng.random(400) < 0.85                   # the bag says 0.9 for the true class on
    p_true = np.where(right, 0.9, 0.1)               # 85 % of the rows, 0.1 on the others
    bag = np.where(y[:, None] == 1, np.c_[1 - p_true, p_true], np.c_[p_true, 1 - p_true])
    bag[300:] = np.nan                               # three folds of four predicted
    w = blend_weight(metric, y, base, bag, None)
    assert 0.0 < w < 1.0 and w in BLEND_WEIGHTS      # confident mistakes: a mix beats the bag
    losses = {v: metric.loss(metric.score(y[:300], (1 - v) * base[:300] + v * bag[:300]))
              for v in BLEND_WEIGHTS}
    assert losses[w] == min(losses.values())
    assert blend_weight(metric, y, base, bag[:, ::-1], None) == 0.0     # a bag worse than base
    # weights move it: with the bag's mistakes weighing nothing, the bag alone is best
    assert blend_weight(metric, y, base, bag, np.where(right, 1.0, 0.0)) == 1.0
    assert blend_weight(metric, y, base, np.full((400, 2), np.nan), None) == 0.0


def test_a_blend_that_wins_on_a_few_rows_by_luck_is_not_taken():
    metric = get_metric("log_loss", "binary")
    y = np.array([0, 1, 0, 1, 0, 1])
    base = np.tile([0.5, 0.5], (6, 1))
    # better on two rows, worse on one: the best weight beats base on these 3 rows, but
    # not in 90 % of their resamples
    lucky = np.array([[0.95, 0.05], [0.05, 0.95], [0.1, 0.9], [np.nan, np.nan], [np.nan, np.nan],
                      [np.nan, np.nan]])
    blended = {v: metric.loss(metric.score(y[:3], (1 - v) * base[:3] + v * lucky[:3])) for v in BLEND_WEIGHTS}
    assert min(blended.values()) < metric.loss(metric.score(y[:3], base[:3]))
    assert blend_weight(metric, y, base, lucky, None) == 0.0


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
    state = SimpleNamespace(bags={}, budget=NO_DEADLINE, oof={0: base_oof})
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


def _informed(y: np.ndarray, rows: slice, p: float, wrong_every: int = 0) -> np.ndarray:
    """OOF predictions giving the true class probability ``p`` on ``rows`` (``1 - p`` on
    every ``wrong_every``-th of them), NaN elsewhere."""
    oof = np.full((len(y), 2), np.nan)
    index = np.arange(len(y))[rows]
    p_true = np.full(len(index), p)
    if wrong_every:
        p_true[::wrong_every] = 1 - p
    oof[index] = np.where(y[index, None] == 1, np.c_[1 - p_true, p_true], np.c_[p_true, 1 - p_true])
    return oof


def test_bags_are_blended_best_first_each_against_the_blend_so_far():
    data = _data()
    X, y = data.X, data.y
    prior = _fitted(Prior(), X, y, np.arange(len(y)))
    base_oof = np.tile(np.bincount(y) / len(y), (len(y), 1))
    lr0, lr1 = (_fitted(LogisticRegression(), X, y, train) for train, _ in data.folds[:2])
    nb0 = _fitted(GaussianNB(), X, y, data.folds[0][0])
    # bag 5 (two folds, the better partial loss) is right at 0.8 on its 200 rows; bag 6
    # (one fold) at 0.95 on 19 of 20 of its 100 rows, all among bag 5's, and confidently
    # wrong on the twentieth: bag 5 replaces the prior, then bag 6 blends in with it
    bags = {5: (_informed(y, slice(0, 200), 0.8), [lr0, lr1], 0.2),
            6: (_informed(y, slice(0, 100), 0.95, wrong_every=20), [nb0], 0.3)}
    state = SimpleNamespace(bags={}, budget=NO_DEADLINE, oof={0: base_oof})
    for trial_id, (oof, models, loss) in bags.items():
        keep_bag(state, {"trial_id": trial_id, "status": "timeout", "loss": loss},
                 CVResult(loss, -loss, [-loss], oof, 1.0, "timeout", models=_packed(models)))
    ensemble, members, note = blend_cut_short(state, data, {"trial_id": 0, "status": "ok"}, prior, None, [])
    # the weights a by-hand replay gives: each bag against the blend so far
    current, expected, weights = base_oof, prior.predict_proba(X), {0: 1.0}
    for trial_id in (5, 6):
        oof, models, _ = bags[trial_id]
        w = blend_weight(data.metric, y, current, oof, None)
        current = (1 - w) * current + w * oof
        weights = {i: (1 - w) * x for i, x in weights.items()}
        weights[trial_id] = w
        expected = (1 - w) * expected + w * np.mean([m.predict_proba(X) for m in models], axis=0)
    assert weights[6] > 0 and weights[5] > 0            # both blended in
    assert dict(members) == pytest.approx({i: x for i, x in weights.items() if x > 0})
    assert sum(x for _, x in members) == pytest.approx(1.0)
    assert np.allclose(ensemble.predict_proba(X), expected)
    assert note.index("trial 5's 2 fold") < note.index("trial 6's 1 fold")


def test_blend_cut_short_leaves_the_model_alone_without_a_useful_bag():
    data = _data()
    prior = _fitted(Prior(), data.X, data.y, np.arange(len(data.y)))
    state = SimpleNamespace(bags={}, budget=NO_DEADLINE, oof={0: np.tile([0.5, 0.5], (len(data.y), 1))})
    chosen = {"trial_id": 0, "status": "ok"}
    assert blend_cut_short(state, data, chosen, prior, None, []) == (None, [], "")
    wrong = np.eye(2)[1 - data.y] * 0.98 + 0.01
    state.bags[3] = (0.9, b"never unpickled", wrong)
    assert blend_cut_short(state, data, chosen, prior, None, []) == (None, [], "")
    state.bags[3] = (0.1, _packed([prior]), np.eye(2)[data.y] * 0.98 + 0.01)
    cut_short = {"trial_id": 2, "status": "timeout"}     # no complete OOF to compare with
    assert blend_cut_short(state, data, cut_short, prior, None, []) == (None, [], "")
    assert blend_cut_short(state, data, chosen, prior, None, [])[0] is not None   # a useful bag
    state.budget = SimpleNamespace(deadline=time.monotonic())                     # no time left
    assert blend_cut_short(state, data, chosen, prior, None, []) == (None, [], "")


# ---------------------------------------------------------------------------------------
# in a search


def test_a_search_blends_the_fold_models_of_a_slow_trial_its_cap_cut_short(warm_pool):
    # the slow naive Bayes stops after one fold (0.4 s of a 0.7 s cap); far better than
    # the prior on that fold, it is no refit challenger (its fold model was kept) but is
    # blended into the prior's final model
    data = _data()
    prior = {"model": {"prior": {"var_smoothing": 1e-9}}}

    def search(keep: bool):
        settings = SearchSettings(time_budget=None, n_trials=3, n_jobs=1, per_trial_time_limit=0.7,
                                  run_seed=0, keep_cut_short=keep)
        return run_search(data, RandomSampler(SPACE, seed=0, startup_configs=[prior, SLOW, prior]),
                          settings, pool_factory=warm_pool)

    result = search(keep=True)
    cut = next(t for t in result.trials if t["algorithm"] == "slow")
    assert cut["status"] == "timeout" and len(cut["fold_scores"]) == 1
    assert result.best["algorithm"] == "prior" and result.ensemble is not None
    weights = dict(result.ensemble_members)
    assert weights[cut["trial_id"]] > 0.5 and sum(weights.values()) == pytest.approx(1.0)
    proba = result.ensemble.predict_proba(data.X)
    assert proba.shape == (len(data.y), 2) and np.allclose(proba.sum(axis=1), 1.0)
    loss = data.metric.loss
    single = result.pipeline.predict_proba(data.X)
    assert loss(data.metric.score(data.y, proba)) < loss(data.metric.score(data.y, single))
    plain = search(keep=False)     # without the setting: the slow trial is the refit challenger
    assert plain.ensemble is None and plain.best["algorithm"] == "slow"


def test_a_regression_bag_is_blended_into_a_regressor():
    from sklearn.datasets import make_regression
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    from automl.ensemble import WeightedEnsembleRegressor

    X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    data = TrialData(X, y, make_folds(y, "regression", 4, 0), SPACE, describe_columns(X), "regression",
                     get_metric("rmse", "regression"), 0)
    mean = Pipeline([("model", DummyRegressor())]).fit(X, y)
    train, test = data.folds[0]
    ridge = Pipeline([("model", Ridge())]).fit(X.iloc[train], y[train])
    bag_oof = np.full(len(y), np.nan)
    bag_oof[test] = ridge.predict(X.iloc[test])
    state = SimpleNamespace(bags={}, budget=NO_DEADLINE, oof={0: np.full(len(y), y.mean())})
    keep_bag(state, {"trial_id": 1, "status": "timeout", "loss": 5.0},
             CVResult(5.0, -5.0, [-5.0], bag_oof, 1.0, "timeout", models=_packed([ridge])))
    ensemble, members, _ = blend_cut_short(state, data, {"trial_id": 0, "status": "ok"}, mean, None, [])
    w = dict(members)[1]
    assert isinstance(ensemble, WeightedEnsembleRegressor) and w > 0.5   # ridge is far better
    assert np.allclose(ensemble.predict(X), (1 - w) * mean.predict(X) + w * ridge.predict(X))


def test_a_blended_model_exports_as_source_with_one_refit_per_configuration():
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier

    from automl.export import _module_body, pipeline_source

    data = _data()
    X, y = data.X, data.y
    prior = _fitted(DummyClassifier(strategy="prior"), X, y, np.arange(len(y)))
    folds = [_fitted(LogisticRegression(C=0.5), X, y, train) for train, _ in data.folds[:2]]
    oof = np.full((len(y), 2), np.nan)
    for model, (_, test) in zip(folds, data.folds[:2]):
        oof[test] = model.predict_proba(X.iloc[test])
    state = SimpleNamespace(bags={}, budget=NO_DEADLINE, oof={0: np.tile(np.bincount(y) / len(y), (len(y), 1))})
    keep_bag(state, {"trial_id": 1, "status": "timeout", "loss": 0.3},
             CVResult(0.3, 0.3, [0.3, 0.3], oof, 1.0, "timeout", models=_packed(folds)))
    ensemble, _, _ = blend_cut_short(state, data, {"trial_id": 0, "status": "ok"}, prior, None, [])
    assert ensemble is not None
    imports, expression, inline = pipeline_source(clone(ensemble))
    namespace: dict = {}
    exec("\n".join(["from __future__ import annotations", *imports]) + "\n"
         + "\n".join(_module_body(name) for name in inline) + f"\nobj = {expression}", namespace)
    rebuilt = namespace["obj"].fit(X, y)      # the fold models become one refit of their config
    assert len(rebuilt.estimators_) == len(ensemble.estimators_) - 1
    w = ensemble.weights_[-2:].sum()          # the bag's weight (the prior's, 1 - w, may be 0)
    assert np.allclose(rebuilt.weights_[-1], w)
    by_hand = (1 - w) * clone(prior).fit(X, y).predict_proba(X) \
        + w * LogisticRegression(C=0.5).fit(X, y).predict_proba(X)
    assert np.allclose(rebuilt.predict_proba(X), by_hand)

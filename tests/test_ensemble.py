"""Tests for automl.ensemble: selection, decision rule, candidates, ensemble estimators."""

from __future__ import annotations

import ast
import inspect
import pickle
import time

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from automl import ensemble
from automl.ensemble import (
    FAST_LOSSES,
    WeightedEnsembleClassifier,
    WeightedEnsembleRegressor,
    choose_ensemble,
    ensemble_selection,
    select_candidates,
)

# ---------------------------------------------------------------------------------------
# synthetic OOF predictions


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _noisy_proba(y: np.ndarray, k: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities from true-class logits plus independent noise."""
    logits = 2.0 * np.eye(k)[y] + rng.normal(scale=noise, size=(len(y), k))
    return _softmax(logits)


def _classification_case(k: int, m: int = 6, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return [_noisy_proba(y, k, 1.0 + 0.3 * i, rng) for i in range(m)], y


def _regression_case(m: int = 6, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return [y + rng.normal(scale=0.5 + 0.2 * i, size=n) for i in range(m)], y


def _sk_log_loss(y, p, sample_weight=None):
    return skm.log_loss(y, p, sample_weight=sample_weight, labels=np.arange(p.shape[1]))


CASES = {
    "binary-log_loss": (lambda s: _classification_case(2, seed=s), "log_loss"),
    "binary-roc_auc": (lambda s: _classification_case(2, seed=s), "roc_auc"),
    "multiclass-log_loss": (lambda s: _classification_case(4, seed=s), "log_loss"),
    "multiclass-accuracy": (lambda s: _classification_case(4, seed=s), "accuracy"),
    "multiclass-callable": (lambda s: _classification_case(3, seed=s), _sk_log_loss),
    "regression-rmse": (lambda s: _regression_case(seed=s), "rmse"),
    "regression-mae": (lambda s: _regression_case(seed=s), "mae"),
}


def _loss_of(preds, y, loss, weights=None):
    blend = np.tensordot(weights, np.asarray(preds), axes=1) if weights is not None else preds
    fn = {"log_loss": _sk_log_loss, "rmse": skm.root_mean_squared_error,
          "mae": skm.mean_absolute_error,
          "accuracy": lambda t, p: -skm.accuracy_score(t, p.argmax(1)),
          "roc_auc": lambda t, p: -skm.roc_auc_score(t, p[:, 1])}.get(loss, loss)
    return fn(y, blend)


# ---------------------------------------------------------------------------------------
# ensemble_selection


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_are_a_distribution_and_never_worse_than_best_single(case, seed):
    make, loss = CASES[case]
    preds, y = make(seed)
    weights = ensemble_selection(preds, y, loss, max_iter=30)
    assert weights.shape == (len(preds),)
    assert np.all(weights >= 0)
    assert weights.sum() == pytest.approx(1.0)
    best_single = min(_loss_of(p, y, loss) for p in preds)
    assert _loss_of(preds, y, loss, weights) <= best_single + 1e-12


def _complementary_pair(task: str, n: int = 600, seed: int = 3):
    """Model A is sharp on the first half of the rows and noisy on the second; B the reverse."""
    rng = np.random.default_rng(seed)
    half = np.arange(n) < n // 2
    if task == "regression":
        y = rng.normal(size=n)
        return [y + rng.normal(size=n) * np.where(h, 0.2, 2.0) for h in (half, ~half)], y
    k = 2 if task == "binary" else 4
    y = rng.integers(0, k, n)
    return [_softmax(np.eye(k)[y] * np.where(h, 3.0, 0.2)[:, None]
            + rng.normal(scale=1.0, size=(n, k))) for h in (half, ~half)], y


@pytest.mark.parametrize("task, loss", [("binary", "log_loss"), ("binary", "roc_auc"),
                                        ("multiclass", "log_loss"), ("multiclass", "accuracy"),
                                        ("regression", "rmse")])
def test_two_complementary_noisy_models_are_strictly_better_together(task, loss):
    pair, y = _complementary_pair(task)
    weights = ensemble_selection(pair, y, loss)
    assert np.all(weights > 0)
    assert _loss_of(pair, y, loss, weights) < min(_loss_of(p, y, loss) for p in pair) - 1e-3


@pytest.mark.parametrize("name", ["log_loss", "roc_auc", "accuracy"])
@pytest.mark.parametrize("k", [2, 4])
def test_fast_classification_losses_match_sklearn_with_ties_and_weights(name, k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 300)
    proba = np.round(_noisy_proba(y, k, 2.0, rng), 1)  # rounding makes many ties
    proba /= proba.sum(axis=1, keepdims=True)
    w = rng.uniform(0.1, 2.0, 300)
    score = {"log_loss": _sk_log_loss,
             "accuracy": lambda t, p, sample_weight: -skm.accuracy_score(t, p.argmax(1), sample_weight=sample_weight),
             "roc_auc": lambda t, p, sample_weight: -np.mean(
                 [skm.roc_auc_score(t == c, p[:, c], sample_weight=sample_weight) for c in range(k)])
             if k > 2 else -skm.roc_auc_score(t, p[:, 1], sample_weight=sample_weight)}[name]
    for weight in (None, w):
        fast = ensemble._Losses(name, proba[None], y, weight)
        assert fast.of(fast.stack)[0] == pytest.approx(score(y, proba, sample_weight=weight), rel=1e-9)


def test_selection_is_deterministic_and_ties_go_to_the_better_then_earlier_member():
    preds, y = _classification_case(3, m=4, seed=5)
    order = np.argsort([_sk_log_loss(y, p) for p in preds])
    duplicated = [preds[order[0]], preds[order[0]], *preds]
    first = ensemble_selection(duplicated, y, "log_loss")
    assert np.array_equal(first, ensemble_selection(duplicated, y, "log_loss"))
    assert first[1] == 0.0  # an exact copy never wins a tie against the earlier one
    single = ensemble_selection(preds, y, "log_loss", max_iter=1)
    assert np.array_equal(single, np.eye(len(preds))[order[0]])


def test_sorted_initialization_starts_from_the_n_init_best():
    preds, y = _regression_case(m=6, seed=1)
    order = np.argsort([skm.mean_squared_error(y, p) for p in preds])
    weights = ensemble_selection(preds, y, "mse", n_init=3, max_iter=3)
    assert np.allclose(weights[order[:3]], 1 / 3)


def test_callable_loss_gets_sample_weight_and_agrees_with_fast_path():
    preds, y = _classification_case(3, m=4, seed=2)
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    slow = ensemble_selection(preds, y, _sk_log_loss, sample_weight=w, max_iter=10)
    fast = ensemble_selection(preds, y, "log_loss", sample_weight=w, max_iter=10)
    assert np.allclose(slow, fast)


@pytest.mark.parametrize("args, match", [
    (([np.zeros(3), np.zeros(4)], np.zeros(3), "mse"), "one shape"),
    (([np.zeros(3)], np.zeros(4), "mse"), "n_samples"),
    (([np.full(3, np.nan)], np.zeros(3), "mse"), "NaN"),
    (([np.zeros(3)], np.zeros(3), "nope"), "nope"),
    (([np.full((3, 2), 0.5)], np.array(["a", "b", "a"]), "log_loss"), "encoded"),
    (([np.zeros(3)], np.zeros(3), "log_loss"), "classification"),
    (([], np.zeros(3), "mse"), "empty"),
])
def test_bad_inputs_raise_clear_errors(args, match):
    with pytest.raises(ValueError, match=match):
        ensemble_selection(*args)


def test_speed_50_candidates_10000_rows_10_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 10_000)
    preds = list(rng.dirichlet(np.full(10, 0.5), size=(50, 10_000)))
    start = time.process_time()
    weights = ensemble_selection(preds, y, "log_loss", max_iter=50)
    elapsed = time.process_time() - start
    assert np.count_nonzero(weights) > 10  # the run went through many steps
    assert elapsed < 1.0, f"selection took {elapsed:.2f} s of CPU"


# ---------------------------------------------------------------------------------------
# choose_ensemble


@pytest.mark.parametrize("method", ["cv", "holdout", "naive"])
def test_decision_uses_an_ensemble_of_complementary_models(method):
    preds, y = _complementary_pair("multiclass", seed=4)
    choice = choose_ensemble(preds, y, "log_loss", method=method)
    assert choice.use_ensemble
    assert choice.ensemble_loss < choice.single_loss
    assert np.count_nonzero(choice.weights) > 1
    assert np.allclose(choice.weights, ensemble_selection(preds, y, "log_loss"))


def test_decision_keeps_the_single_best_when_others_are_noise():
    rng = np.random.default_rng(6)
    y = rng.normal(size=500)
    good = y + rng.normal(scale=0.3, size=500)
    noise = [rng.normal(size=500) * 3 for _ in range(5)]
    choice = choose_ensemble([*noise, good], y, "rmse", margin=0.01)
    assert not choice.use_ensemble
    assert np.array_equal(choice.weights, np.eye(6)[5])
    assert choice.best_index == 5


def test_cross_validated_estimate_is_less_optimistic_than_naive():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    preds = [_noisy_proba(y, 2, 3.0, rng) for _ in range(20)]
    naive = choose_ensemble(preds, y, "log_loss", method="naive")
    cv = choose_ensemble(preds, y, "log_loss", method="cv")
    assert naive.ensemble_loss < cv.ensemble_loss


def test_choose_ensemble_rejects_an_unknown_method():
    preds, y = _regression_case(m=2)
    with pytest.raises(ValueError, match="method"):
        choose_ensemble(preds, y, "rmse", method="bootstrap")


# ---------------------------------------------------------------------------------------
# select_candidates


def _trial(i, algorithm, loss, status="ok"):
    return {"trial_id": i, "algorithm": algorithm, "loss": loss, "status": status}


def test_select_candidates_ranks_filters_and_deduplicates():
    trials = [_trial(0, "lgbm", 0.30), _trial(1, "lgbm", 0.29), _trial(2, "svc", 0.1, "error"),
              _trial(3, "rf", float("nan")), _trial(4, "lgbm", 0.31), _trial(5, "knn", 0.40),
              _trial(6, "rf", 0.2)]
    preds = {i: np.full(5, float(i)) for i in range(6)}  # 6 has no stored predictions
    preds[4] = preds[1] + 1e-13  # same predictions as trial 1, up to float noise
    assert select_candidates(trials, 3, preds, diversity=0.0) == [1, 0, 5]
    assert select_candidates(trials, 10, preds) == [1, 0, 5]


def test_select_candidates_brings_in_a_close_other_algorithm():
    trials = [_trial(i, "lgbm", 0.300 + 0.001 * i) for i in range(4)] + [_trial(9, "svc", 0.31)]
    preds = {t["trial_id"]: np.full(3, float(t["trial_id"])) for t in trials}
    assert select_candidates(trials, 3, preds) == [0, 1, 9]
    assert select_candidates(trials, 3, preds, diversity=0.0) == [0, 1, 2]
    assert select_candidates(trials, 3, preds, diversity=0.01) == [0, 1, 2]  # svc too far


def test_select_candidates_validates_k():
    with pytest.raises(ValueError, match="k must be"):
        select_candidates([], 0, {})


# ---------------------------------------------------------------------------------------
# the ensemble estimators


@pytest.fixture(scope="module")
def iris_frame():
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    return X, names[y.to_numpy()]


def _classifier_members():
    return [make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
            DecisionTreeClassifier(max_depth=2, random_state=0),
            DecisionTreeClassifier(max_depth=1, random_state=0)]


def test_classifier_averages_aligned_probabilities(iris_frame):
    X, y = iris_frame
    ens = WeightedEnsembleClassifier(_classifier_members(), [3, 1, 0]).fit(X, y)
    assert len(ens.estimators_) == 2 and np.allclose(ens.weights_, [0.75, 0.25])
    expected = 0.75 * ens.estimators_[0].predict_proba(X) + 0.25 * ens.estimators_[1].predict_proba(X)
    assert np.allclose(ens.predict_proba(X), expected)
    assert set(ens.predict(X)) <= set(ens.classes_) and list(ens.classes_) == sorted(set(y))
    assert ens.n_features_in_ == 4 and list(ens.feature_names_in_) == list(X.columns)
    assert ens.score(X, y) > 0.9


def test_from_fitted_aligns_members_with_different_classes(iris_frame):
    X, y = iris_frame
    two = y != "virginica"
    a = LogisticRegression(max_iter=500).fit(X[two], y[two])
    b = LogisticRegression(max_iter=500).fit(X, y)
    ens = WeightedEnsembleClassifier.from_fitted([a, b], [0.5, 0.5])
    proba = ens.predict_proba(X)
    assert list(ens.classes_) == ["setosa", "versicolor", "virginica"]
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.allclose(proba[:, 2], 0.5 * b.predict_proba(X)[:, 2])
    assert ens.estimators_[0] is a and ens.n_features_in_ == 4


def test_classifier_clones_pickles_and_cross_validates(iris_frame):
    X, y = iris_frame
    ens = WeightedEnsembleClassifier(_classifier_members(), [0.5, 0.3, 0.2]).fit(X, y)
    params = ens.get_params(deep=False)
    assert params["weights"] == [0.5, 0.3, 0.2] and len(params["estimators"]) == 3
    fresh = clone(ens)
    assert not hasattr(fresh, "estimators_") and fresh.weights == ens.weights
    again = pickle.loads(pickle.dumps(ens))
    assert np.array_equal(again.predict_proba(X), ens.predict_proba(X))
    scores = cross_val_score(WeightedEnsembleClassifier(_classifier_members()), X, y, cv=3)
    assert scores.mean() > 0.85


def test_fit_passes_sample_weight_to_pipelines_and_plain_estimators():
    X, y = make_classification(n_samples=200, random_state=0)
    w = np.where(y == 1, 10.0, 1.0)
    members = [make_pipeline(StandardScaler(), LogisticRegression()), LogisticRegression()]
    plain = WeightedEnsembleClassifier(members).fit(X, y)
    weighted = WeightedEnsembleClassifier(members).fit(X, y, sample_weight=w)
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


def test_regressor_predicts_the_weighted_mean_and_round_trips():
    X, y = load_diabetes(return_X_y=True)
    members = [Ridge(alpha=1.0), DecisionTreeRegressor(max_depth=3, random_state=0)]
    ens = WeightedEnsembleRegressor(members, [0.25, 0.75]).fit(X, y)
    expected = 0.25 * ens.estimators_[0].predict(X) + 0.75 * ens.estimators_[1].predict(X)
    assert np.allclose(ens.predict(X), expected)
    assert np.array_equal(pickle.loads(pickle.dumps(ens)).predict(X), ens.predict(X))
    assert not hasattr(clone(ens), "estimators_")
    assert not hasattr(ens, "feature_names_in_") and ens.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("weights", [[1.0], [-1.0, 2.0], [0.0, 0.0], [np.nan, 1.0]])
def test_invalid_weights_raise(weights):
    X, y = make_classification(n_samples=50, random_state=0)
    ens = WeightedEnsembleClassifier([LogisticRegression(), LogisticRegression()], weights)
    with pytest.raises(ValueError, match="weights"):
        ens.fit(X, y)


def test_from_fitted_refuses_unfitted_members():
    with pytest.raises(Exception, match="not fitted"):
        WeightedEnsembleRegressor.from_fitted([Ridge()])


def test_predict_before_fit_raises():
    with pytest.raises(Exception, match="not fitted"):
        WeightedEnsembleRegressor([Ridge()]).predict(np.zeros((2, 3)))


def test_module_imports_only_numpy_sklearn_and_stdlib():
    tree = ast.parse(inspect.getsource(ensemble))
    roots = {(node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
             for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in node.names}
    assert roots <= {"__future__", "collections", "dataclasses", "hashlib", "math", "typing",
                     "numpy", "sklearn"}


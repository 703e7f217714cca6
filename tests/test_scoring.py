"""Tests of automl.scoring: names, directions, stored-prediction scoring, scorers, weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer, make_scorer, fbeta_score, roc_auc_score

from automl.scoring import available_metrics, default_metric, get_metric, make_metric


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    model = LogisticRegression().fit(X, y)
    return X, y, model


def _noisy_proba(y: np.ndarray, k: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=noise, size=(len(y), k))
    logits[np.arange(len(y)), y] += 1.0
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("task,name", [("binary", "roc_auc"), ("multiclass", "log_loss"),
                                       ("regression", "rmse")])
def test_defaults(task, name):
    assert default_metric(task) == name
    assert get_metric(None, task).name == name


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_better_predictions_have_lower_loss_for_every_classification_metric(task):
    k = 2 if task == "binary" else 4
    y = np.random.default_rng(1).integers(0, k, 400)
    good, bad = _noisy_proba(y, k, 0.3, 2), _noisy_proba(y, k, 3.0, 3)
    for name in available_metrics(task):
        m = get_metric(name, task)
        assert m.loss(m.score(y, good)) < m.loss(m.score(y, bad)), name


def test_better_predictions_have_lower_loss_for_every_regression_metric():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300) + 5.0
    good, bad = y + rng.normal(scale=0.1, size=300), y + rng.normal(scale=2.0, size=300)
    for name in available_metrics("regression"):
        m = get_metric(name, "regression")
        assert m.loss(m.score(y, good)) < m.loss(m.score(y, bad)), name


def test_directions_and_needs_proba():
    assert get_metric("roc_auc", "binary").needs_proba
    assert not get_metric("log_loss", "binary").greater_is_better
    assert not get_metric("accuracy", "binary").needs_proba
    assert get_metric("r2", "regression").greater_is_better
    assert get_metric("rmse", "regression").loss(2.0) == 2.0
    assert get_metric("r2", "regression").loss(0.5) == -0.5


def test_multiclass_roc_auc_is_one_vs_rest_macro():
    y = np.random.default_rng(4).integers(0, 3, 200)
    proba = _noisy_proba(y, 3, 1.0, 5)
    expected = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert get_metric("roc_auc", "multiclass").score(y, proba) == pytest.approx(expected)


def test_multiclass_roc_auc_tolerates_a_class_missing_from_a_fold():
    y = np.array([0, 0, 1, 1, 0, 1])
    proba = _noisy_proba(y, 3, 0.5, 6)
    assert 0.0 <= get_metric("roc_auc", "multiclass").score(y, proba) <= 1.0


def test_log_loss_accepts_a_fold_without_some_class():
    y = np.array([0, 0, 1, 1])
    proba = _noisy_proba(y, 3, 0.5, 7)
    assert np.isfinite(get_metric("log_loss", "multiclass").score(y, proba))


@pytest.mark.parametrize("spec", ["neg_log_loss", "roc_auc_ovr", "balanced_accuracy"])
def test_sklearn_scorer_names_match_sklearn(binary, spec):
    X, y, model = binary
    expected = get_scorer(spec)(model, X, y)
    assert get_metric(spec, "binary").score(y, model.predict_proba(X)) == pytest.approx(expected)


def test_scorer_object_matches_sklearn_and_is_greater_is_better(binary):
    X, y, model = binary
    scorer = make_scorer(fbeta_score, beta=2.0)
    metric = get_metric(scorer, "binary")
    assert metric.greater_is_better
    assert metric.score(y, model.predict_proba(X)) == pytest.approx(scorer(model, X, y))


def test_plain_callable_reads_labels_and_is_greater_is_better():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    metric = get_metric(lambda t, p: float(np.mean(t == p)), "binary")
    assert metric.score(y, proba) == 0.75
    assert metric.loss(0.75) == -0.75


def test_make_metric_passes_sample_weight_when_accepted():
    def weighted_error(y, p, sample_weight=None):
        return float(np.average(y != p, weights=sample_weight))

    metric = make_metric(weighted_error, greater_is_better=False)
    y, pred = np.array([0, 1, 1]), np.array([0, 1, 0])
    assert metric.score(y, pred) == pytest.approx(1 / 3)
    assert metric.score(y, pred, sample_weight=np.array([1.0, 1.0, 0.0])) == 0.0


@pytest.mark.parametrize("name", ["accuracy", "roc_auc", "log_loss"])
def test_sample_weight_changes_classification_scores(name):
    y = np.array([0, 0, 1, 1, 0, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.55, 0.45], [0.8, 0.2], [0.1, 0.9]])
    metric = get_metric(name, "binary")
    weights = np.array([1.0, 5.0, 1.0, 5.0, 1.0, 1.0])
    assert metric.score(y, proba, weights) != pytest.approx(metric.score(y, proba))


def test_unknown_name_says_what_to_use():
    with pytest.raises(ValueError, match="Unknown metric 'nope'.*roc_auc"):
        get_metric("nope", "binary")


def test_metric_of_the_wrong_task_is_refused():
    with pytest.raises(ValueError, match="does not apply to a regression task"):
        get_metric("roc_auc", "regression")
    with pytest.raises(ValueError, match="task must be one of"):
        get_metric(None, "clustering")


def test_wrong_type_is_refused():
    with pytest.raises(TypeError, match="metric must be"):
        get_metric(3, "binary")

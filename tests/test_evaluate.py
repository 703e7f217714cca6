"""Tests of automl.evaluate: folds, one cross-validated trial, data shared with workers."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from automl.builder import describe_columns
from automl.evaluate import (SharedTrialData, TrialData, cross_validate, evaluate_config, fit_final,
                             load_trial_data, make_folds)
from automl.scoring import get_metric
from automl.space import Choice, Component, Float, Space

SPACE = Space({"model": Choice({
    "logreg": Component("sklearn.linear_model.LogisticRegression", {"C": Float(1e-3, 10.0, log=True)}),
    "forest": Component("sklearn.ensemble.RandomForestClassifier", {"max_features": Float(0.2, 1.0)}),
})})
REG_SPACE = Space({"model": Choice({"ridge": Component("sklearn.linear_model.Ridge",
                                                       {"alpha": Float(1e-3, 10.0, log=True)})})})


def _frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


def _classification(n: int = 240, k: int = 3, weight: np.ndarray | None = None,
                    metric: str = "log_loss") -> TrialData:
    X, y = make_classification(n_samples=n, n_features=6, n_informative=4, n_classes=k,
                               random_state=0)
    X = _frame(X)
    task = "binary" if k == 2 else "multiclass"
    return TrialData(X, y, make_folds(y, task, 4, 0), SPACE, describe_columns(X), task,
                     get_metric(metric, task), k, weight)


def _forest(seed_param: float = 0.5) -> dict:
    return {"model": {"forest": {"max_features": seed_param}}}


def test_folds_are_stratified_disjoint_and_cover_every_row():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    folds = make_folds(y, "multiclass", 5, random_state=3)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests) == list(range(100))
    for train, test in folds:
        assert not set(train) & set(test)
        assert np.bincount(y[test], minlength=3).tolist() == [12, 6, 2]


def test_folds_depend_only_on_the_seed():
    y = np.arange(50) % 2
    a, b, c = (make_folds(y, "binary", 5, s) for s in (1, 1, 2))
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a, c))
    assert not np.array_equal(a[0][1], np.arange(10))  # shuffled


def test_folds_from_a_splitter_or_a_list():
    y = np.arange(12.0)
    groups = np.repeat(np.arange(4), 3)
    folds = make_folds(y, "regression", GroupKFold(n_splits=4).split(y, y, groups))
    assert len(folds) == 4
    assert all(not set(groups[tr]) & set(groups[te]) for tr, te in folds)
    pairs = [(np.arange(6), np.arange(6, 12)), (np.arange(6, 12), np.arange(6))]
    assert [len(te) for _, te in make_folds(y, "regression", pairs)] == [6, 6]


def test_cross_validate_returns_oof_probabilities_and_the_mean_fold_score():
    data = _classification()
    result = cross_validate(data, _forest(), seed=0)
    assert result.status == "ok" and len(result.fold_scores) == 4
    assert result.oof.shape == (240, 3)
    np.testing.assert_allclose(result.oof.sum(axis=1), 1.0)
    assert result.score == pytest.approx(np.mean(result.fold_scores))
    assert result.loss == pytest.approx(result.score)  # log loss: lower is better already
    per_fold = [data.metric.score(data.y[te], result.oof[te]) for _, te in data.folds]
    np.testing.assert_allclose(per_fold, result.fold_scores)


def test_cross_validate_is_reproducible_from_the_seed():
    data = _classification()
    a, b = (cross_validate(data, _forest(), seed=5) for _ in range(2))
    c = cross_validate(data, _forest(), seed=6)
    np.testing.assert_array_equal(a.oof, b.oof)
    assert not np.array_equal(a.oof, c.oof)


def test_the_stop_rule_prunes_after_a_fold():
    data = _classification()
    seen = []

    def stop_after_second(fold: int, loss: float) -> bool:
        seen.append((fold, loss))
        return fold == 1

    result = cross_validate(data, _forest(), seed=0, should_stop=stop_after_second)
    assert result.status == "pruned" and len(result.fold_scores) == 2
    assert [f for f, _ in seen] == [0, 1]
    assert np.isnan(result.oof[data.folds[3][1]]).all()


def test_sample_weights_reach_the_model_and_the_scores():
    w = np.where(np.arange(240) % 2 == 0, 1.0, 0.01)
    plain = cross_validate(_classification(k=2, metric="roc_auc"),
                           {"model": {"logreg": {"C": 1.0}}}, seed=0)
    weighted = cross_validate(_classification(k=2, weight=w, metric="roc_auc"),
                              {"model": {"logreg": {"C": 1.0}}}, seed=0)
    assert not np.allclose(plain.oof, weighted.oof)
    assert plain.score != pytest.approx(weighted.score)


def test_regression_oof_is_one_dimensional():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    X = _frame(X)
    data = TrialData(X, y, make_folds(y, "regression", 3, 0), REG_SPACE, describe_columns(X),
                     "regression", get_metric("rmse", "regression"))
    result = cross_validate(data, {"model": {"ridge": {"alpha": 1.0}}}, seed=0)
    assert result.oof.shape == (120,) and result.score > 0
    assert result.loss == pytest.approx(result.score)


def test_shared_data_is_loaded_once_per_process_and_removed_on_close():
    data = _classification()
    with SharedTrialData(data) as shared:
        assert load_trial_data(shared.path) is load_trial_data(shared.path)
        result = evaluate_config(shared.path, _forest(), seed=0)
        np.testing.assert_allclose(result.oof, cross_validate(data, _forest(), seed=0).oof)
        pipeline = fit_final(shared.path, _forest(), seed=0)
    assert not os.path.exists(shared.path)
    assert isinstance(pipeline, Pipeline)
    assert pipeline.predict_proba(data.X).shape == (240, 3)


def test_the_final_fit_refits_our_boosters_on_every_row_and_cv_does_not():
    space = Space({"model": Choice({"lgbm": Component("automl.components.EarlyStoppedLGBMClassifier",
                                                      {"learning_rate": Float(0.05, 0.3, log=True)})})})
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X = _frame(X)
    data = TrialData(X, y, make_folds(y, "binary", 3, 0), space, describe_columns(X), "binary",
                     get_metric("log_loss", "binary"), 2)
    config = {"model": {"lgbm": {"learning_rate": 0.2}}}
    with SharedTrialData(data) as shared:
        final = fit_final(shared.path, config, seed=0)
    assert final[-1].refit is True and final[-1].model_.n_estimators == final[-1].n_estimators_
    assert cross_validate(data, config, seed=0).status == "ok"
    from automl.builder import build_pipeline
    assert build_pipeline(config, space, describe_columns(X), "binary", 0)[-1].refit is False

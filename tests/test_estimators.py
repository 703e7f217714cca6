"""Tests of AutoClassifier / AutoRegressor: the sklearn contract, labels, budget, reproducibility."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from automl import AutoClassifier, AutoRegressor
from automl.exceptions import NoSuccessfulTrialError
from automl.space import Choice, Component, Space

FAST = dict(time_budget=None, n_trials=3, cv=3, include=["naive_bayes", "lda", "logreg"],
            random_state=0)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]), y


@pytest.fixture(scope="module")
def fitted(binary):
    X, y = binary
    return AutoClassifier(**FAST).fit(X, y)


def test_init_only_stores_and_clone_keeps_params():
    clf = AutoClassifier(time_budget=5, metric="accuracy", include=["lda"], random_state=3)
    assert vars(clf) == clf.get_params()
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    twin.set_params(time_budget=7, n_jobs=2)
    assert (twin.time_budget, twin.n_jobs, clf.time_budget) == (7, 2, 5)


def test_fitted_attributes_and_leaderboard(fitted, binary):
    X, y = binary
    assert isinstance(fitted.best_pipeline_, Pipeline)
    assert fitted.n_features_in_ == 5
    assert list(fitted.feature_names_in_) == list(X.columns)
    assert fitted.classes_.tolist() == [0, 1]
    assert len(fitted.trials_) == 3
    board = fitted.leaderboard()
    assert {"algorithm", "config", "score", "score_std", "duration", "status", "error"} <= set(board)
    assert len(board) == 3 and board["score"].iloc[0] == fitted.best_score_
    assert board["score"].is_monotonic_decreasing  # roc_auc: greater is better, best first
    assert 0.5 < fitted.best_score_ <= 1.0
    proba = fitted.predict_proba(X)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert fitted.score(X, y) > 0.7


def test_params_are_never_overwritten_by_fit(fitted):
    assert fitted.get_params()["include"] == ["naive_bayes", "lda", "logreg"]
    assert fitted.random_state == 0 and fitted.time_budget is None


@pytest.mark.parametrize("labels", [np.array(["no", "yes"]), np.array([3, 7]),
                                    np.array([False, True]), np.array(["a", "b", "c"])])
def test_labels_come_back_unchanged(labels):
    X, y = make_classification(n_samples=150, n_features=5, n_informative=3,
                               n_classes=len(labels), random_state=1)
    target = labels[y]
    clf = AutoClassifier(**FAST).fit(X, target)
    pred = clf.predict(X)
    assert {type(v) for v in pred.tolist()} == {type(v) for v in target.tolist()}
    assert set(pred) <= set(labels)
    assert clf.classes_.tolist() == sorted(labels.tolist())
    assert np.mean(pred == target) > 0.6


def test_usable_in_cross_val_score_and_a_pipeline(binary):
    X, y = binary
    scores = cross_val_score(AutoClassifier(**{**FAST, "n_trials": 2}), X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.6)
    pipe = make_pipeline(FunctionTransformer(lambda frame: frame * 2.0),
                         AutoClassifier(**{**FAST, "n_trials": 2}))
    assert pipe.fit(X, y).predict(X).shape == (200,)


def test_regressor_predicts_floats():
    X, y = make_regression(n_samples=150, n_features=4, noise=5.0, random_state=0)
    reg = AutoRegressor(time_budget=None, n_trials=3, cv=3, include=["ridge", "lasso"],
                        random_state=0).fit(X, y)
    assert reg.metric_name_ == "rmse" and reg.best_score_ > 0
    assert reg.predict(X).dtype == float and reg.score(X, y) > 0.8


def test_n_trials_runs_with_one_job_are_identical(binary):
    X, y = binary
    settings = dict(time_budget=None, n_trials=5, cv=3, n_jobs=1, random_state=11,
                    include=["naive_bayes", "lda", "logreg", "extra_trees"])
    a = AutoClassifier(**settings).fit(X, y)
    b = AutoClassifier(**settings).fit(X, y)
    assert [t["config"] for t in a.trials_] == [t["config"] for t in b.trials_]
    assert [t["fold_scores"] for t in a.trials_] == [t["fold_scores"] for t in b.trials_]
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = AutoClassifier(**{**settings, "random_state": 12}).fit(X, y)
    assert [t["fold_scores"] for t in a.trials_] != [t["fold_scores"] for t in c.trials_]


def test_time_budget_of_ten_seconds_is_kept_on_a_few_thousand_rows():
    X, y = make_classification(n_samples=3000, n_features=20, n_informative=8, random_state=0)
    clf = AutoClassifier(time_budget=10, n_jobs=2, random_state=0)
    tic = time.monotonic()
    clf.fit(X, y)
    elapsed = time.monotonic() - tic
    assert elapsed <= 10 + max(0.05 * 10, 2.0), elapsed
    assert len(clf.trials_) >= 2 and clf.predict(X[:5]).shape == (5,)


@pytest.mark.parametrize("params,message", [
    ({"time_budget": -1}, r"time_budget must be a positive number of seconds or None; got -1\."),
    ({"time_budget": None, "n_trials": None}, "both None"),
    ({"n_trials": 2.5}, "n_trials must be a positive whole number"),
    ({"n_jobs": 0}, "n_jobs must be a positive integer, or -1"),
    ({"cv": 1}, "cv must be at least 2 folds; got 1"),
    ({"metric": "rmse"}, "does not apply to a binary task"),
    ({"include": ["nope"]}, "unknown algorithms"),
    ({"random_state": -3}, "random_state must be"),
    ({"verbose": -1}, "verbose must be"),
])
def test_bad_settings_are_refused_at_the_top_of_fit(binary, params, message):
    X, y = binary
    with pytest.raises(ValueError, match=message):
        AutoClassifier(**{**FAST, **params}).fit(X, y)


class AlwaysFails(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("this model never fits")


def test_a_search_where_every_trial_fails_says_why(binary):
    X, y = binary
    space = Space({"model": Choice({"fails": Component(AlwaysFails, {})})})
    clf = AutoClassifier(**{**FAST, "include": None, "search_space": space})
    with pytest.raises(NoSuccessfulTrialError, match="error: RuntimeError.*never fits"):
        clf.fit(X, y)


def test_verbose_reports_progress_and_a_summary(binary, capsys):
    X, y = binary
    AutoClassifier(**{**FAST, "verbose": 1}).fit(X, y)
    err = capsys.readouterr().err
    assert "trials" in err and "best roc_auc" in err and "refit trial" in err
    AutoClassifier(**FAST).fit(X, y)
    assert capsys.readouterr().err == ""

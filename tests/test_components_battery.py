"""The battery: every component of both default spaces builds a pipeline that works.

Also: random configurations of each default space fit and predict on mixed-type data, and
our own estimators (automl/components.py) keep the scikit-learn estimator contract.
"""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from automl import components
from automl.builder import build_pipeline, describe_columns
from automl.space import Choice, Component, Space
from search_spaces import classification_space, regression_space

# check_estimator deviations we accept, by design (see automl/components.py)
KNOWN_DEVIATIONS = {
    "check_all_zero_sample_weights_error",  # the libraries' own messages
    "check_sample_weight_equivalence_on_dense_data",  # inner split draws on rows, not weights
    "check_estimator_sparse_tag",  # sparse input is densified by the wrapped estimator
    "check_non_transformer_estimators_n_iter",
    "check_class_weight_classifiers",  # two calibration folds on tiny data
}


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def mixed_data(n: int, task: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric with NaN, categorical with None, nullable boolean, datetime, constant."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n),
                      "x2": rng.exponential(size=n) * 1000})
    X.loc[rng.random(n) < 0.15, "x0"] = np.nan
    X["color"] = rng.choice(["red", "green", "blue", "grey", None], size=n)
    X["city"] = [f"c{v}" for v in rng.integers(0, 40, n)]
    X["flag"] = pd.array(rng.choice([True, False, None], size=n), dtype="boolean")
    X["when"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    X["const"] = 1.0
    signal = X["x1"] + X["color"].isin(["red", "green"]) + 0.5 * X["x0"].fillna(0)
    if task == "regression":
        return X, (signal + 0.1 * rng.normal(size=n)).to_numpy() * 10
    if task == "binary":
        return X, np.where(signal > 0.5, "yes", "no")
    return X, np.digitize(signal, [0.0, 1.0])


def all_options() -> list[tuple[str, str, str]]:
    """(task, top-level key, option) for every option of both default spaces."""
    cases = []
    for space, tasks in ((classification_space(), ("binary", "multiclass")),
                         (regression_space(), ("regression",))):
        for key, node in space.params.items():
            cases += [(task, key, option) for task in tasks for option in node.names]
    return cases


def config_with(space: Space, key: str, option: str) -> dict:
    config = space.default()
    config[key] = Space({key: Choice({option: space.branch(key, option)})}).default()[key]
    return config


@pytest.mark.parametrize("task, key, option", all_options())
def test_every_component_default_fits_predicts_clones_and_pickles(task, key, option):
    space = regression_space() if task == "regression" else classification_space()
    X, y = mixed_data(160, task)
    X_new, _ = mixed_data(40, task, seed=1)
    X_new.loc[:4, "city"] = "never-seen"
    config = config_with(space, key, option)
    pipe = build_pipeline(config, space, describe_columns(X), task, 0)
    fitted = clone(pipe).fit(X, y)
    predictions = fitted.predict(X_new)
    assert predictions.shape == (40,)
    if task == "regression":
        assert np.isfinite(predictions).all()
    else:
        assert set(predictions) <= set(y)
        proba = fitted.predict_proba(X_new)
        assert proba.shape == (40, len(np.unique(y)))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert list(fitted.classes_) == sorted(set(y))
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X_new), predictions)


def test_default_fits_do_not_spam_warnings():
    X, y = mixed_data(300, "binary")
    space = classification_space()
    for algo in space.algorithms:
        config = config_with(space, "model", algo)
        pipe = build_pipeline(config, space, describe_columns(X), "binary", 0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipe.fit(X, y).predict_proba(X)
        assert not caught, (algo, [str(w.message)[:120] for w in caught])


def run_sampled_configurations(space: Space, task: str, n_configs: int, seed: int) -> float:
    X, y = mixed_data(500, task, seed=seed)
    X_new, _ = mixed_data(50, task, seed=seed + 1)
    info = describe_columns(X)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    failures = []
    for i in range(n_configs):
        config = space.sample(rng)
        try:
            pipe = build_pipeline(config, space, info, task, i).fit(X, y)
            predictions = pipe.predict(X_new)
            assert predictions.shape == (50,)
            if task != "regression":
                assert np.isfinite(pipe.predict_proba(X_new)).all()
        except Exception as exc:  # collected so one run reports every failure
            failures.append((space.flatten(config), f"{type(exc).__name__}: {exc}"[:300]))
    assert not failures, failures[:3]
    return time.perf_counter() - start


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_sixty_sampled_configurations_fit_and_predict(task):
    space = regression_space() if task == "regression" else classification_space()
    run_sampled_configurations(space, task, 60, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_three_hundred_sampled_configurations_fit_and_predict(task):
    space = regression_space() if task == "regression" else classification_space()
    run_sampled_configurations(space, task, 300, seed=3)


@pytest.mark.parametrize("estimator", [
    components.SelectFraction(),
    components.PenalizedLogisticRegression(),
    components.ProbabilisticSVC(),
    components.EarlyStoppedLGBMClassifier(max_trees=50),
    components.EarlyStoppedLGBMRegressor(max_trees=50),
    pytest.param(components.EarlyStoppedXGBClassifier(max_trees=50), marks=pytest.mark.slow),
    pytest.param(components.EarlyStoppedXGBRegressor(max_trees=50), marks=pytest.mark.slow),
], ids=lambda est: type(est).__name__)
def test_own_estimators_keep_the_sklearn_contract(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= KNOWN_DEVIATIONS, failed - KNOWN_DEVIATIONS


def test_boosters_stop_early_and_respect_the_cap():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + 0.3 * rng.normal(size=600) > 0).astype(int)
    for cls in (components.EarlyStoppedLGBMClassifier, components.EarlyStoppedXGBClassifier):
        slow = cls(learning_rate=0.3, max_trees=400, random_state=0).fit(X, y)
        assert slow.n_estimators_ < 400  # stopped by the validation split, not the cap
        capped = cls(learning_rate=0.01, max_trees=30, random_state=0).fit(X, y)
        assert capped.n_estimators_ <= 30
        again = cls(learning_rate=0.3, max_trees=400, random_state=0).fit(X, y)
        np.testing.assert_array_equal(again.predict_proba(X), slow.predict_proba(X))


def test_refit_boosters_find_their_trees_on_a_split_then_fit_every_row():
    from lightgbm import LGBMClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=500) > 0).astype(int)
    refit = components.EarlyStoppedLGBMClassifier(learning_rate=0.2, random_state=0, refit=True).fit(X, y)
    plain = components.EarlyStoppedLGBMClassifier(learning_rate=0.2, random_state=0).fit(X, y)
    # the same trees as a single LightGBM fit of every row with the number found
    full = LGBMClassifier(n_estimators=refit.n_estimators_, learning_rate=0.2, num_leaves=31,
                          min_child_samples=20, reg_alpha=0.0, reg_lambda=0.0, random_state=0,
                          n_jobs=1, verbose=-1).fit(X, y)
    np.testing.assert_allclose(refit.predict_proba(X), full.predict_proba(X))
    assert refit.model_.n_estimators == refit.n_estimators_ < 1000
    assert not np.allclose(refit.predict_proba(X), plain.predict_proba(X))
    for cls in (components.EarlyStoppedXGBClassifier, components.EarlyStoppedLGBMRegressor):
        target = y if cls is components.EarlyStoppedXGBClassifier else X[:, 0] - X[:, 1]
        model = cls(learning_rate=0.3, max_trees=300, random_state=0, refit=True).fit(X, target)
        assert 0 < model.n_estimators_ < 300 and model.model_.n_estimators == model.n_estimators_


def test_inner_split_keeps_rare_classes_in_training():
    y = np.array([0] * 50 + [1] * 50 + [2])
    train, valid = components._inner_split(y, 0.2, stratify=True, seed=0)
    assert set(y[train]) == {0, 1, 2} and len(valid) == 20
    assert not set(train) & set(valid) and len(train) + len(valid) == len(y)


def test_to_float_and_as_categories_on_frames():
    X = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
                      "b": pd.array([True, None], dtype="boolean"),
                      "t": pd.to_datetime(["2024-01-01 10:00", None]).tz_localize("UTC")})
    out = components.ToFloat().fit_transform(X)
    assert out.shape == (2, 3)  # n, b, t_days (no calendar part varies)
    assert out[0, 0] == 1 and out[0, 1] == 1 and np.isnan(out[1]).all()
    C = pd.DataFrame({"c": pd.Categorical(["a", None]), "s": pd.array(["x", None], dtype="string")})
    cats = components.AsCategories().fit(C).transform(C)
    assert cats.tolist() == [["a", "x"], ["__missing__", "__missing__"]]
    with pytest.raises(ValueError, match="fitted on columns"):
        components.AsCategories().fit(C).transform(C[["s", "c"]])


@pytest.mark.parametrize("cls, full", [(components.EarlyStoppedLGBMClassifier, 255),
                                       (components.EarlyStoppedXGBClassifier, 256)])
def test_auto_bins_shrink_only_for_many_classes(cls, full):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(320, 4))
    expected = {2: full, 4: full, 8: 128, 16: 64, 32: 63}
    for n_classes, bins in expected.items():
        y = np.arange(320) % n_classes
        model = cls(max_trees=3, random_state=0).fit(X, y)
        assert model.max_bin_ == bins, n_classes
        assert model.model_.get_params()["max_bin"] == bins   # what the library was given
    pinned = cls(max_trees=3, random_state=0, max_bin=15).fit(X, np.arange(320) % 32)
    assert pinned.max_bin_ == 15 and pinned.model_.get_params()["max_bin"] == 15


def test_auto_bins_leave_regressors_at_the_library_count():
    X, y = np.random.default_rng(1).normal(size=(200, 3)), np.arange(200, dtype=float)
    assert components.EarlyStoppedLGBMRegressor(max_trees=3).fit(X, y).max_bin_ == 255
    assert components.EarlyStoppedXGBRegressor(max_trees=3).fit(X, y).max_bin_ == 256

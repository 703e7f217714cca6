"""Tests of automl/builder.py: column kinds and config -> pipeline."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from automl.builder import STEP_KEYS, ColumnInfo, build_pipeline, describe_columns
from automl.exceptions import InvalidConfigurationError
from automl.space import Choice, Component, Float, Space
from search_spaces import default_space
from search_spaces.preprocessing import STEP_KEYS as SPACE_STEP_KEYS


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def mixed_frame(n: int, seed: int = 0, n_levels: int = 6) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.2, "a"] = np.nan
    X["cat"] = rng.choice([f"l{i}" for i in range(n_levels)] + [None], size=n)
    X["flag"] = pd.array(rng.choice([True, False, None], size=n), dtype="boolean")
    y = ((X["b"] > 0) ^ X["cat"].isin(["l0", "l1", "l2"])).astype(int).to_numpy()
    return X, y


def config_with(space: Space, **choices: str) -> dict:
    """The default configuration with some top-level options switched (defaults below)."""
    config = space.default()
    for key, option in choices.items():
        sub = Space({key: Choice({option: space.branch(key, option)})})
        config[key] = sub.default()[key]
    return config


# -- describe_columns -------------------------------------------------------------------

def test_describe_columns_kinds():
    X = pd.DataFrame({
        "f": [1.5, np.nan], "i": [1, 2], "I": pd.array([1, None], dtype="Int64"),
        "td": pd.to_timedelta([1, 2], unit="h"),
        "b": [True, False], "B": pd.array([True, None], dtype="boolean"),
        "d": pd.to_datetime(["2020-01-01", None]),
        "dz": pd.to_datetime(["2020-01-01", "2021-01-01"]).tz_localize("Europe/Paris"),
        "o": pd.Series(["x", None], dtype=object), "s": ["x", "y"],
        "S": pd.array(["x", None], dtype="string"), "c": pd.Categorical(["u", "v"]),
    })
    info = describe_columns(X)
    assert info.numeric == ("f", "i", "I", "td")
    assert info.boolean == ("b", "B")
    assert info.datetime == ("d", "dz")
    assert info.categorical == ("o", "s", "S", "c")
    assert (info.n_rows, info.n_features) == (2, 12)
    with pytest.raises(Exception):
        info.n_rows = 3  # frozen


def test_describe_columns_refuses_bad_input():
    with pytest.raises(TypeError, match="expects a pandas DataFrame; got ndarray"):
        describe_columns(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="Column 'z' has dtype complex128"):
        describe_columns(pd.DataFrame({"z": [1 + 2j]}))


# -- the pipeline -----------------------------------------------------------------------

def test_pipeline_shape_seed_and_threads():
    X, y = mixed_frame(200)
    space = default_space("binary")
    config = config_with(space, model="random_forest", scale="quantile", encode="target",
                         select="pca")
    pipe = build_pipeline(config, space, describe_columns(X), "binary", 123, n_threads=2)
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["preprocess", "select", "model"]
    with pytest.raises(NotFittedError):
        check_is_fitted(pipe[-1])
    params = pipe.get_params(deep=True)
    seeds = {k: v for k, v in params.items() if k.endswith("random_state") and v != "deprecated"}
    assert len(seeds) >= 3 and set(seeds.values()) == {123}, seeds
    encoder = params["preprocess__cat__encode"]
    assert encoder.get_params()["random_state"] == "deprecated" or encoder.random_state == 123
    if encoder.get_params()["random_state"] == "deprecated":  # scikit-learn >= 1.9
        assert encoder.cv.random_state == 123 and encoder.cv.shuffle
    assert pipe[-1].n_jobs == 2
    assert pipe.fit(X, y).predict_proba(X).shape == (200, 2)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "hist_gb"])
def test_native_categoricals_reach_the_model(model):
    X, y = mixed_frame(400, n_levels=12)
    space = default_space("binary")
    config = config_with(space, model=model, encode="native", select="univariate")
    pipe = build_pipeline(config, space, describe_columns(X), "binary", 0)
    assert pipe[-1].categorical_features == [0]
    assert "select" not in pipe.named_steps  # selection moved into the numeric branch
    pipe.fit(X, y)
    fitted = pipe[-1]
    if model == "hist_gb":
        assert fitted.is_categorical_.tolist()[0] is True and not fitted.is_categorical_[1:].any()
    elif model == "xgboost":
        assert fitted.model_.get_booster().feature_types[0] == "c"
    else:
        trees = fitted.model_.booster_.dump_model()["tree_info"]
        splits = [str(t["tree_structure"]) for t in trees]
        assert any("'decision_type': '=='" in s for s in splits)
    # an XOR of a category subset and a numeric column: native splits must learn it
    assert pipe.score(X, y) > 0.9


def test_native_falls_back_to_ordinal_codes_for_other_models():
    X, y = mixed_frame(100)
    space = default_space("binary")
    pipe = build_pipeline(config_with(space, model="knn", encode="native"), space,
                          describe_columns(X), "binary", 0)
    encoder = pipe.named_steps["preprocess"].transformers[0][1][-1]
    assert type(encoder).__name__ == "OrdinalEncoder" and encoder.unknown_value == -1
    assert "categorical_features" not in pipe[-1].get_params()
    pipe.fit(X, y)


def _numeric_branch_of(pipe: Pipeline) -> Pipeline:
    return {name: t for name, t, _ in pipe.named_steps["preprocess"].transformers}["num"]


def _numeric_steps(pipe: Pipeline) -> list[str]:
    return [name for name, _ in _numeric_branch_of(pipe).steps]


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "hist_gb", "random_forest", "extra_trees"])
def test_native_missing_values_reach_the_model(model):
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    missing = rng.random(n) < 0.4
    X.loc[missing, "a"] = np.nan
    y = missing.astype(int)  # the class is whether "a" is missing: imputation hides it
    space = default_space("binary")
    config = config_with(space, model=model, impute="native", scale="standard")
    pipe = build_pipeline(config, space, describe_columns(X), "binary", 0)
    assert _numeric_steps(pipe) == ["to_float", "scale"]
    assert np.isnan(pipe[:-1].fit_transform(X, y)).any()
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.95


@pytest.mark.parametrize("model, select", [("knn", "none"), ("lightgbm", "univariate"),
                                           ("random_forest", "pca")])
def test_native_missing_falls_back_to_median_imputation(model, select):
    X, y = mixed_frame(120)
    space = default_space("binary")
    config = config_with(space, model=model, impute="native", select=select)
    pipe = build_pipeline(config, space, describe_columns(X), "binary", 0)
    steps = dict(_numeric_branch_of(pipe).steps)
    assert steps["impute"].strategy == "median" and not steps["impute"].add_indicator
    pipe.fit(X, y)
    assert np.isfinite(pipe.predict_proba(X)).all()


@pytest.mark.parametrize("encode", ["onehot", "ordinal", "target", "native"])
@pytest.mark.parametrize("model", ["lightgbm", "logreg"])
def test_unseen_and_missing_categories_at_predict(encode, model):
    X, y = mixed_frame(150)
    X_new = X.head(20).copy()
    X_new["cat"] = ["never-seen"] * 10 + [None] * 10
    space = default_space("binary")
    pipe = build_pipeline(config_with(space, model=model, encode=encode), space,
                          describe_columns(X), "binary", 0).fit(X, y)
    proba = pipe.predict_proba(X_new)
    assert proba.shape == (20, 2) and np.isfinite(proba).all()


def test_awkward_columns():
    """All-NaN, constant, datetime (with time zone) and nullable integer columns."""
    rng = np.random.default_rng(1)
    n = 120
    X = pd.DataFrame({"x": rng.normal(size=n), "empty": np.nan, "const": 3.0,
                      "when": pd.date_range("2021-01-01", periods=n, freq="37h", tz="UTC"),
                      "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
                      "c": pd.Categorical(rng.choice(["x", "y"], n))})
    X.loc[:5, "count"] = pd.NA
    X.loc[3, "when"] = pd.NaT
    y = X["x"].to_numpy() * 2 + rng.normal(size=n)
    space = default_space("regression")
    for option in ("none", "univariate", "pca"):
        config = config_with(space, model="ridge", select=option, scale="power")
        pipe = build_pipeline(config, space, describe_columns(X), "regression", 0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            predictions = pipe.fit(X, y).predict(X)
        assert np.isfinite(predictions).all()
        assert np.corrcoef(predictions, y)[0, 1] > 0.5


def test_integer_column_names():
    X, y = mixed_frame(80)
    X.columns = [10, 20, 30, 40]
    space = default_space("binary")
    info = describe_columns(X)
    assert info.numeric == (10, 20) and info.categorical == (30,)
    pipe = build_pipeline(space.default(), space, info, "binary", 0).fit(X, y)
    assert pipe.predict_proba(X).shape == (80, 2)
    with pytest.raises(ValueError, match="fitted on columns"):  # never silently misaligned
        pipe.predict(X[[40, 30, 20, 10]])


def test_many_columns_few_rows():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(30, 300)), columns=[f"x{i}" for i in range(300)])
    y = (X["x0"] > 0).astype(int).to_numpy()
    space = default_space("binary")
    for select in ("univariate", "pca"):
        for model in ("knn", "lightgbm", "svc"):
            pipe = build_pipeline(config_with(space, model=model, select=select), space,
                                  describe_columns(X), "binary", 0)
            assert pipe.fit(X, y).predict(X).shape == (30,)
    pipe = build_pipeline(config_with(space, model="knn"), space, describe_columns(X), "binary", 0)
    assert pipe[-1].n_neighbors <= 15  # capped by the number of rows


def test_scale_sensitive_regressors_learn_a_standardised_target():
    X, _ = mixed_frame(150)
    y = X["b"].to_numpy() * 1e5 + 3e6
    space = default_space("regression")
    pipe = build_pipeline(config_with(space, model="svr"), space, describe_columns(X),
                          "regression", 0)
    assert isinstance(pipe[-1], TransformedTargetRegressor)
    predictions = pipe.fit(X, y).predict(X)
    assert np.corrcoef(predictions, y)[0, 1] > 0.9


def test_same_seed_same_predictions_and_clone_pickle():
    X, y = mixed_frame(300)
    space = default_space("binary")
    config = space.sample(np.random.default_rng(5))
    config["model"] = config_with(space, model="lightgbm")["model"]
    first = build_pipeline(config, space, describe_columns(X), "binary", 9).fit(X, y)
    second = clone(build_pipeline(config, space, describe_columns(X), "binary", 9)).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict_proba(X), first.predict_proba(X))


def test_space_without_preprocessing_uses_defaults():
    X, y = mixed_frame(100)
    space = Space({"model": Choice({"lr": Component("sklearn.linear_model.LogisticRegression",
                                                    {"C": Float(0.1, 10.0, log=True)})})})
    pipe = build_pipeline(space.default(), space, describe_columns(X), "binary", 0)
    assert pipe.fit(X, y).predict(X).shape == (100,)


def test_step_keys_agree_with_the_spaces():
    assert STEP_KEYS == SPACE_STEP_KEYS


def test_errors_name_what_was_wrong():
    X, _ = mixed_frame(50)
    info = describe_columns(X)
    space = default_space("binary")
    config = space.default()
    with pytest.raises(ValueError, match="task must be one of.*got 'clustering'"):
        build_pipeline(config, space, info, "clustering", 0)
    with pytest.raises(ValueError, match="n_threads must be a positive integer; got 0"):
        build_pipeline(config, space, info, "binary", 0, n_threads=0)
    with pytest.raises(TypeError, match="ColumnInfo.*got DataFrame"):
        build_pipeline(config, space, X, "binary", 0)
    with pytest.raises(ValueError, match="no columns"):
        build_pipeline(config, space, ColumnInfo(), "binary", 0)
    config["model"]["lightgbm"]["num_leaves"] = 10_000
    with pytest.raises(InvalidConfigurationError, match="'model.lightgbm.num_leaves'"):
        build_pipeline(config, space, info, "binary", 0)
    odd = Space({**space.params, "augment": Choice({"none": None})})
    with pytest.raises(ValueError, match=r"does not know: \['augment'\]"):
        build_pipeline(odd.default(), odd, info, "binary", 0)

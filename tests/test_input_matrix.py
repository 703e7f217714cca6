"""The dirty-input matrix at the estimator level (issue 7).

Every case ends in a fitted model with finite predictions of the right shape, or in the
documented ``ValueError``/``TypeError`` raised within a second, before any trial runs.
A fit costs several seconds (worker start-up), so the per-case model fits are marked
``slow``; one unmarked test fits a single frame that holds every dirty column at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone

from automl import AutoClassifier, AutoRegressor, Choice, Component, Constant, Space

N = 90
SEED = 0
ERROR_SECONDS = 1.0


def _estimator(task: str) -> Any:
    if task == "regression":
        return AutoRegressor(n_trials=2, time_budget=None, include=["ridge"], cv=3,
                             random_state=0)
    return AutoClassifier(n_trials=2, time_budget=None, include=["logreg"], cv=3,
                          random_state=0)


def _numbers(n: int = N, p: int = 3, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p))


def _frame(n: int = N, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "c": rng.choice(["u", "v", "w"], size=n)})


def _y(n: int = N) -> np.ndarray:
    return np.array(["no", "yes", "maybe"] * (n // 3))


def _with(column: str, values: Any) -> Callable[[], pd.DataFrame]:
    return lambda: _frame().assign(**{column: values})


def _with_nan() -> pd.DataFrame:
    X = _frame()
    X.loc[::7, "a"] = np.nan
    X.loc[::5, "c"] = None
    return X


def _with_inf() -> pd.DataFrame:
    X = _frame()
    X.loc[[0, 4], "a"] = [np.inf, -np.inf]
    return X


def _duplicate_content() -> pd.DataFrame:
    X = _frame()
    X["a_again"] = X["a"]
    return X


def _nullable() -> pd.DataFrame:
    return pd.DataFrame({
        "i": pd.array([1, None, 3] * (N // 3), dtype="Int64"),
        "f": pd.array([0.5, 1.5, None] * (N // 3), dtype="Float64"),
        "b": pd.array([True, None, False] * (N // 3), dtype="boolean"),
        "s": pd.array(["x", "y", None] * (N // 3), dtype="string"),
        "n": _numbers(p=1)[:, 0],
    })


def _high_cardinality() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    n = 30_000
    levels = np.array([f"l{i}" for i in range(10_000)])
    return pd.DataFrame({"city": levels[rng.integers(0, 10_000, n)], "v": rng.normal(size=n)})


def _read_only() -> np.ndarray:
    X = np.asfortranarray(_numbers())
    X.setflags(write=False)
    return X


@dataclass
class Case:
    """One row of the matrix: how to make (X, y, sample_weight) and what must happen."""

    X: Callable[[], Any]
    y: Callable[[int], Any] = _y
    task: str = "classification"
    weight: Any = None
    error: tuple[type[Exception], str] | None = None


MODEL_CASES = {
    "nan_numeric_and_categorical": Case(_with_nan),
    "inf_becomes_nan": Case(_with_inf),
    "all_nan_column": Case(_with("empty", np.nan)),
    "constant_column": Case(_with("const", 3.0)),
    "duplicate_columns": Case(_duplicate_content),
    "id_like_column": Case(_with("key", [f"id{i}" for i in range(N)])),
    "high_cardinality_10000_levels": Case(_high_cardinality, y=lambda n: np.arange(n) % 2),
    "booleans": Case(_with("flag", np.arange(N) % 4 == 0)),
    "datetimes": Case(_with("when", pd.date_range("2020-01-01", periods=N, freq="D", tz="UTC"))),
    "mixed_object_column": Case(_with("mixed", pd.Series([1, "a", 2.5] * (N // 3), dtype=object))),
    "nullable_dtypes": Case(_nullable),
    "small_sparse_matrix": Case(lambda: sparse.csr_matrix(np.where(_numbers() > 0.5, 1.0, 0.0))),
    "float32": Case(lambda: _numbers().astype(np.float32)),
    "non_contiguous": Case(lambda: _numbers(p=6)[:, ::2]),
    "read_only": Case(_read_only),
    "list_of_lists": Case(lambda: _numbers().tolist()),
    "y_strings": Case(_frame),
    "y_booleans": Case(_frame, y=lambda n: np.arange(n) % 3 == 0),
    "y_categorical": Case(_frame, y=lambda n: pd.Series(pd.Categorical(_y(n)))),
    "y_ints": Case(_frame, y=lambda n: np.arange(n) % 3 * 10 - 5),
    "y_column_vector": Case(_frame, y=lambda n: _y(n)[:, None]),
    "sample_weight": Case(_frame, weight=np.linspace(0.0, 2.0, N)),
    "regression": Case(_with_nan, y=lambda n: np.linspace(-1.0, 1.0, n), task="regression"),
    "regression_int_y": Case(_frame, y=lambda n: np.arange(n) % 7, task="regression"),
}

ERROR_CASES = {
    "duplicate_column_names": Case(lambda: pd.DataFrame(_numbers(), columns=["a", "b", "a"]),
                                   error=(ValueError, "duplicate column names \\['a'\\]")),
    "huge_sparse_matrix": Case(lambda: sparse.csr_matrix(([1.0], ([0], [0])), shape=(N, 10**9)),
                               error=(ValueError, "sparse matrix of shape .* GiB")),
    "zero_rows": Case(lambda: _frame().iloc[:0], y=lambda n: [], error=(ValueError, "0 sample")),
    "zero_columns": Case(lambda: _frame()[[]], error=(ValueError, "0 feature")),
    "one_dimensional_x": Case(lambda: _numbers()[:, 0], error=(ValueError, "Reshape")),
    "complex_x": Case(lambda: _numbers() + 1j, error=(ValueError, "Complex data")),
    "single_class": Case(_frame, y=lambda n: ["a"] * n, error=(ValueError, "only one class")),
    "class_with_one_sample": Case(_frame, y=lambda n: np.r_[np.arange(n - 1) % 2, 7],
                                  error=(ValueError, "7: 1")),
    "nan_in_y": Case(_frame, y=lambda n: np.r_[np.nan, np.arange(n - 1) % 2],
                     error=(ValueError, "NaN or infinite values in 1 row")),
    "inf_in_y_regression": Case(_frame, y=lambda n: np.r_[np.inf, np.arange(n - 1.0)],
                                task="regression",
                                error=(ValueError, "NaN or infinite values in 1 row")),
    "continuous_y_to_classifier": Case(_frame, y=lambda n: np.linspace(0, 1, n),
                                       error=(ValueError, "continuous.*AutoRegressor")),
    "length_mismatch": Case(_frame, y=lambda n: _y(n)[:-3],
                            error=(ValueError, f"X has {N} rows but y has {N - 3}")),
    "multi_output_y": Case(_frame, y=lambda n: np.zeros((n, 2)),
                           error=(ValueError, "Multi-output")),
    "y_none": Case(_frame, y=lambda n: None, error=(ValueError, "requires y to be passed")),
    "weight_length": Case(_frame, weight=np.ones(N - 1), error=(ValueError, "sample_weight")),
    "weight_negative": Case(_frame, weight=np.r_[-1.0, np.ones(N - 1)],
                            error=(ValueError, "negative")),
    "weight_nan": Case(_frame, weight=np.r_[np.nan, np.ones(N - 1)],
                       error=(ValueError, "NaN or infinite")),
    "weight_all_zero": Case(_frame, weight=np.zeros(N), error=(ValueError, "all zero")),
    "x_wrong_type": Case(lambda: "not a table", error=(TypeError, "X must be")),
}


def _make(case: Case) -> tuple[Any, Any]:
    X = case.X()
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    return X, case.y(n)


def _assert_good_predictions(model: Any, X: Any, y: Any, task: str) -> None:
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    predictions = model.predict(X)
    assert predictions.shape == (n,)
    if task == "regression":
        assert np.isfinite(predictions).all()
        return
    labels = np.asarray(y).ravel()
    assert set(predictions.tolist()) <= set(labels.tolist())
    assert predictions.dtype == model.classes_.dtype
    proba = model.predict_proba(X)
    assert proba.shape == (n, len(model.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_dirty_input_gives_a_model(name: str) -> None:
    case = MODEL_CASES[name]
    X, y = _make(case)
    model = _estimator(case.task).fit(X, y, sample_weight=case.weight)
    _assert_good_predictions(model, X, y, case.task)


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_bad_input_is_refused_quickly(name: str) -> None:
    case = ERROR_CASES[name]
    X, y = _make(case)
    error, pattern = case.error
    start = time.perf_counter()
    with pytest.raises(error, match=pattern):
        _estimator(case.task).fit(X, y, sample_weight=case.weight)
    assert time.perf_counter() - start < ERROR_SECONDS


def _kitchen_sink() -> pd.DataFrame:
    X = _with_nan()
    X.loc[[1, 2], "b"] = [np.inf, -np.inf]
    return X.assign(
        empty=np.nan, const=1.0, a_again=X["a"], key=[f"id{i}" for i in range(N)],
        flag=np.arange(N) % 4 == 0,
        when=pd.date_range("2020-01-01", periods=N, freq="D"),
        mixed=pd.Series([1, "a", 2.5] * (N // 3), dtype=object),
        count=pd.array([1, None, 3] * (N // 3), dtype="Int64"),
    )


@pytest.fixture(scope="module")
def dirty_model() -> tuple[AutoClassifier, pd.DataFrame]:
    X = _kitchen_sink()
    with pytest.warns(UserWarning):
        model = _estimator("classification").fit(X, _y())
    return model, X


@pytest.mark.filterwarnings("ignore:column 'b' holds 2 infinite")
def test_every_dirty_column_at_once_gives_a_model(dirty_model) -> None:
    model, X = dirty_model
    _assert_good_predictions(model, X, _y(), "classification")
    assert model.n_features_in_ == X.shape[1]
    assert list(model.feature_names_in_) == list(X.columns)


def _drifted(X: pd.DataFrame) -> pd.DataFrame:
    new = X.head(10).copy()
    new.loc[0, "c"] = "never seen"
    new.loc[1, "const"] = np.nan  # "const" had no NaN in training
    new["a"] = new["a"].astype(str)  # numeric column arriving as strings
    return new[new.columns[::-1]]  # reordered


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_predict_accepts_drift_unseen_categories_new_nan_and_reordering(dirty_model) -> None:
    model, X = dirty_model
    const = next(c for c in model.schema_["columns"] if c["name"] == "const")
    assert not const["had_nan"]
    new = _drifted(X)
    proba = model.predict_proba(new)
    assert proba.shape == (10, 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(model.predict_proba(X.head(10))[2:], proba[2:])


@pytest.mark.parametrize(("change", "pattern"), [
    (lambda X: X.drop(columns=["a", "flag"]), "yet now missing:\n- a\n- flag\n"),
    (lambda X: X.assign(extra=1), "unseen at fit time:\n- extra\n"),
    (lambda X: X.rename(columns={"b": "B"}), "unseen at fit time:\n- B\n.*missing:\n- b\n"),
    (lambda X: X.to_numpy()[:, :-1], "X has 10 features, but AutoClassifier is expecting 11"),
    (lambda X: X.assign(a="text"), "column 'a' was numeric"),
])
def test_predict_schema_problems_name_the_columns(dirty_model, change, pattern) -> None:
    model, X = dirty_model
    start = time.perf_counter()
    with pytest.raises(ValueError, match=pattern):
        model.predict(change(X.head(5)))
    assert time.perf_counter() - start < ERROR_SECONDS


def _fixed_space() -> Space:
    """A space with exactly one configuration: L2 logistic regression with C=1."""
    return Space({"model": Choice({"logreg": Component(
        "automl.components.PenalizedLogisticRegression",
        {"C": Constant(1.0), "penalty": Choice({"l2": None})})})})


def test_zero_weight_equals_dropping_rows_for_a_fixed_configuration() -> None:
    rng = np.random.default_rng(SEED)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.5 * rng.normal(size=120) > 0).astype(int).to_numpy()
    dropped = np.arange(120) % 4 == 0
    y_noisy = y.copy()
    y_noisy[dropped] = 1 - y[dropped]  # the rows to ignore carry flipped labels

    def fit(X_: pd.DataFrame, y_: np.ndarray, weight: Any = None) -> AutoClassifier:
        return AutoClassifier(n_trials=1, time_budget=None, search_space=_fixed_space(),
                              cv=3, random_state=0).fit(X_, y_, sample_weight=weight)

    weighted = fit(X, y_noisy, np.where(dropped, 0.0, 1.0))
    reference = fit(X[~dropped], y_noisy[~dropped])
    assert weighted.best_config_ == reference.best_config_
    np.testing.assert_allclose(weighted.predict_proba(X), reference.predict_proba(X), atol=1e-3)
    # the comparison can fail: ignoring the weights gives visibly different probabilities
    unweighted = clone(reference.best_pipeline_).fit(X, y_noisy)
    gap = np.abs(unweighted.predict_proba(X) - reference.predict_proba(X)).max()
    assert gap > 1e-2

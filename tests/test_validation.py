"""Function-level tests of automl.validation: each dirty-input case, fit and predict."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import DataConversionWarning

from automl import validation
from automl.validation import (
    FitData,
    InputDataWarning,
    validate_fit_input,
    validate_predict_input,
)

RNG_SEED = 0


def _frame(n: int = 40, seed: int = RNG_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "num": rng.normal(size=n),
        "cat": rng.choice(["a", "b", "c"], size=n),
    })


def _labels(n: int = 40) -> np.ndarray:
    return np.array(["yes", "no"] * (n // 2))


def _fit(X, y=None, task="classification", **kwargs) -> FitData:
    if y is None:
        n = np.shape(X)[0] if not sparse.issparse(X) else X.shape[0]
        y = _labels(n) if task == "classification" else np.linspace(0.0, 1.0, n)
    return validate_fit_input(X, y, task=task, **kwargs)


def _column(schema: dict, name: str) -> dict:
    return next(c for c in schema["columns"] if c["name"] == name)


# --------------------------------------------------------------------------------------
# X at fit time


def test_numpy_columns_are_named_x0_to_xn_and_arrays_are_copied():
    X = np.arange(80.0).reshape(40, 2)
    data = _fit(X)
    assert list(data.X.columns) == ["x0", "x1"]
    assert data.schema["was_dataframe"] is False
    assert data.schema["feature_names_in"] is None
    assert not np.shares_memory(data.X["x0"].to_numpy(), X)
    np.testing.assert_array_equal(data.X.to_numpy(), X)


def test_non_string_dataframe_names_become_strings():
    X = pd.DataFrame(np.arange(80.0).reshape(40, 2), columns=[3, 7])
    data = _fit(X)
    assert list(data.X.columns) == ["3", "7"]
    assert data.schema["was_dataframe"] is True
    assert data.schema["feature_names_in"] is None


def test_string_names_are_recorded_and_index_is_reset():
    X = _frame().set_index(np.arange(100, 140))
    data = _fit(X)
    assert data.schema["feature_names_in"] == ["num", "cat"]
    assert isinstance(data.X.index, pd.RangeIndex)


def test_nan_in_numeric_and_categorical_columns_is_kept_and_recorded():
    X = _frame()
    X.loc[[1, 5], "num"] = np.nan
    X.loc[[2], "cat"] = None
    data = _fit(X)
    assert data.X["num"].isna().sum() == 2 and data.X["cat"].isna().sum() == 1
    assert _column(data.schema, "num")["had_nan"] and _column(data.schema, "cat")["had_nan"]
    assert str(data.X["num"].dtype) == "float64" and str(data.X["cat"].dtype) == "str"


def test_infinities_become_nan_with_a_warning():
    X = _frame()
    X.loc[[0, 3], "num"] = [np.inf, -np.inf]
    with pytest.warns(InputDataWarning, match="'num' holds 2 infinite"):
        data = _fit(X)
    assert data.X["num"].isna().sum() == 2
    assert np.isfinite(data.X["num"].dropna()).all()
    assert any("infinite" in message for message in data.warnings)


def test_all_nan_column_is_dropped_from_the_model_but_kept_in_the_schema():
    X = _frame().assign(empty=np.nan)
    with pytest.warns(InputDataWarning, match="'empty' \\(all values missing\\)"):
        data = _fit(X)
    assert "empty" not in data.X.columns
    assert _column(data.schema, "empty")["dropped"] == "all values missing"
    assert data.schema["n_features"] == 3
    out = validate_predict_input(X.head(3), data.schema)
    assert list(out.columns) == ["num", "cat"]


def test_frame_with_only_unusable_columns_is_refused():
    X = pd.DataFrame({"empty": [np.nan] * 30})
    with pytest.raises(ValueError, match="no usable column"):
        _fit(X)


def test_constant_and_duplicate_columns_are_kept():
    X = _frame().assign(const=1.0)
    X["num_copy"] = X["num"]
    data = _fit(X)
    assert {"const", "num_copy"} <= set(data.X.columns)


@pytest.mark.parametrize("columns", [["a", "b", "a"], [1, "1", "c"]])
def test_duplicate_column_names_are_refused_and_named(columns):
    X = pd.DataFrame(np.zeros((30, 3)), columns=columns)
    with pytest.raises(ValueError, match="duplicate column names \\['(a|1)'\\]"):
        _fit(X)


def test_string_identifier_column_is_dropped_with_a_warning():
    X = _frame().assign(customer=[f"id{i}" for i in range(40)])
    with pytest.warns(InputDataWarning, match="'customer' \\(identifier"):
        data = _fit(X)
    assert "customer" not in data.X.columns
    assert _column(data.schema, "customer")["dropped"].startswith("identifier")


def test_row_number_integer_column_is_dropped():
    X = _frame().assign(row=np.random.default_rng(1).permutation(40) + 1000)
    with pytest.warns(InputDataWarning, match="'row'"):
        data = _fit(X)
    assert "row" not in data.X.columns


def test_unique_non_consecutive_integers_are_kept_with_a_warning():
    X = _frame().assign(area=np.arange(40) * 37 + 500)
    with pytest.warns(InputDataWarning, match="may be an identifier; it was kept"):
        data = _fit(X)
    assert "area" in data.X.columns


def test_small_data_is_not_called_an_identifier():
    n = validation.MIN_ROWS_FOR_ID - 2
    X = pd.DataFrame({"name": [f"n{i}" for i in range(n)], "v": np.arange(n) % 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputDataWarning)
        data = _fit(X)
    assert "name" in data.X.columns


def test_high_cardinality_categorical_is_kept_and_fast():
    rng = np.random.default_rng(RNG_SEED)
    n = 50_000
    levels = np.array([f"level{i}" for i in range(10_000)])
    X = pd.DataFrame({"city": levels[rng.integers(0, 10_000, n)], "v": rng.normal(size=n)})
    start = time.perf_counter()
    data = _fit(X, _labels(n))
    assert time.perf_counter() - start < 2.0
    assert data.X["city"].nunique() == X["city"].nunique()


def test_booleans_plain_and_nullable():
    n = 40
    X = pd.DataFrame({
        "flag": np.arange(n) % 2 == 0,
        "maybe": pd.array([True, None, False, True] * 10, dtype="boolean"),
        "v": np.arange(n) % 5,
    })
    data = _fit(X)
    assert str(data.X["flag"].dtype) == "boolean" and str(data.X["maybe"].dtype) == "boolean"
    assert _column(data.schema, "maybe")["had_nan"]
    assert _column(data.schema, "flag")["kind"] == "boolean"


def test_datetimes_with_and_without_timezone_are_kept():
    n = 40
    stamps = pd.date_range("2020-01-01", periods=n, freq="D")
    X = pd.DataFrame({"t": stamps, "tz": stamps.tz_localize("UTC"), "v": np.arange(n) % 3})
    data = _fit(X)
    assert data.X["t"].dtype == X["t"].dtype and data.X["tz"].dtype == X["tz"].dtype
    assert _column(data.schema, "tz")["kind"] == "datetime"


def test_object_column_of_mixed_types_becomes_strings():
    X = _frame().assign(mixed=pd.Series([1, "a", 2.5, None] * 10, dtype=object))
    with pytest.warns(InputDataWarning, match="'mixed' mixes value types"):
        data = _fit(X)
    assert data.X["mixed"].tolist()[:3] == ["1", "a", "2.5"]
    assert pd.isna(data.X["mixed"].iloc[3])


def test_object_column_of_numbers_becomes_numeric():
    X = np.random.default_rng(RNG_SEED).uniform(size=(40, 3)).astype(object)
    data = _fit(X)
    assert all(str(t) == "float64" for t in data.X.dtypes)


def test_pandas_nullable_dtypes():
    n = 40
    X = pd.DataFrame({
        "i": pd.array([1, None, 3, 4] * 10, dtype="Int64"),
        "f": pd.array([0.5, None, 1.5, 2.5] * 10, dtype="Float64"),
        "b": pd.array([True, False, None, True] * 10, dtype="boolean"),
        "s": pd.array(["x", None, "y", "z"] * 10, dtype="string"),
    })
    data = _fit(X, _labels(n))
    assert [str(t) for t in data.X.dtypes] == ["float64", "float64", "boolean", "str"]
    assert data.X.isna().sum().tolist() == [10, 10, 10, 10]


def test_timedelta_becomes_seconds_and_complex_is_refused():
    X = pd.DataFrame({"d": pd.to_timedelta(np.arange(40) % 4, unit="min")})
    assert _fit(X).X["d"].max() == 180.0
    with pytest.raises(ValueError, match="Complex data not supported"):
        _fit(np.ones((40, 2)) + 1j)


def test_small_sparse_matrix_is_densified():
    dense = np.eye(40)[:, :5]
    data = _fit(sparse.csr_matrix(dense))
    np.testing.assert_array_equal(data.X.to_numpy(), dense)


def test_large_sparse_matrix_is_refused_with_its_size():
    X = sparse.csr_matrix(([1.0, 2.0], ([0, 5], [3, 7])), shape=(100_000, 50_000))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="sparse matrix of shape \\(100000, 50000\\).*37.3 GiB"):
        _fit(X, np.arange(100_000) % 2)
    assert time.perf_counter() - start < 1.0


def test_float32_non_contiguous_and_read_only_arrays():
    base = np.random.default_rng(RNG_SEED).normal(size=(40, 6)).astype(np.float32)
    strided = base[:, ::2]
    readonly = np.asfortranarray(base.copy())
    readonly.setflags(write=False)
    for X in (base, strided, readonly):
        data = _fit(X)
        np.testing.assert_allclose(data.X.to_numpy(), X.astype(np.float64))
        data.X.iloc[0, 0] = 99.0  # the clean frame is ours to modify
    assert base[0, 0] != 99.0


def test_list_of_lists_infers_each_column():
    rows = [[float(i), "a" if i % 2 else "b"] for i in range(40)]
    data = _fit(rows)
    assert [str(t) for t in data.X.dtypes] == ["float64", "str"]
    with pytest.raises(ValueError, match="rows of different lengths"):
        _fit([[1.0, 2.0]] * 20 + [[1.0]] * 20, _labels())


@pytest.mark.parametrize("X", [np.arange(40.0), pd.Series(np.arange(40.0)), list(range(40))])
def test_one_dimensional_x_is_refused(X):
    with pytest.raises(ValueError, match="Reshape your data"):
        _fit(X)


def test_zero_rows_and_zero_columns_are_refused():
    with pytest.raises(ValueError, match="0 sample\\(s\\)"):
        validate_fit_input(np.empty((0, 3)), [], task="classification")
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(12, 0\)\)"):
        _fit(np.empty((12, 0)))
    with pytest.raises(ValueError, match="0 feature"):
        _fit(pd.DataFrame(index=range(12)))


@pytest.mark.parametrize("X", [None, "abc", {"a": [1, 2]}])
def test_x_of_the_wrong_type_is_a_type_error(X):
    with pytest.raises(TypeError, match="X must be"):
        validate_fit_input(X, [0, 1], task="classification")


def test_unknown_task_is_refused():
    with pytest.raises(ValueError, match="task must be one of"):
        _fit(_frame(), task="ranking")


# --------------------------------------------------------------------------------------
# y


@pytest.mark.parametrize("y", [
    np.array(["b", "a", "c", "a"] * 10, dtype=object),
    np.array([True, False] * 20),
    np.array([3, -1, 7, 3] * 10),
    np.array([1.0, 0.0] * 20),
    pd.Series(pd.Categorical(["lo", "hi"] * 20, categories=["lo", "hi", "unused"])),
    pd.Series([1, 2] * 20, dtype="Int64"),
    pd.Series(["p", "q"] * 20, dtype="str"),
])
def test_labels_round_trip_through_classes(y):
    data = _fit(_frame(), y)
    original = np.asarray(y.astype(object) if isinstance(y, pd.Series) else y)
    assert data.y.dtype == np.int64 and data.y.min() == 0
    assert data.y.max() == len(data.classes_) - 1
    assert np.array_equal(data.classes_[data.y].astype(object), original.astype(object))
    if isinstance(y, np.ndarray):
        assert data.classes_.dtype == y.dtype
    assert type(data.classes_[0]) is type(original[0]) or isinstance(y.dtype, pd.Int64Dtype)


def test_categorical_labels_keep_category_order_and_drop_unused():
    y = pd.Series(pd.Categorical(["lo", "hi"] * 20, categories=["lo", "hi", "unused"]))
    assert _fit(_frame(), y).classes_.tolist() == ["lo", "hi"]


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="only one class \\('a', 40 rows\\)"):
        _fit(_frame(), ["a"] * 40)


def test_class_with_one_sample_is_refused_naming_it():
    y = np.array(["a", "b"] * 19 + ["a", "rare"])
    with pytest.raises(ValueError, match="'rare': 1"):
        _fit(_frame(), y)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_y_is_refused_with_the_row_count(task, bad):
    y = np.tile([0.0, 1.0], 20)
    y[[3, 8, 9]] = bad
    with pytest.raises(ValueError, match="NaN or infinite values in 3 row"):
        _fit(_frame(), y, task=task)


def test_missing_string_label_is_refused():
    y = pd.Series(["a", "b"] * 20, dtype=object)
    y[4] = None
    with pytest.raises(ValueError, match="in 1 row"):
        _fit(_frame(), y)


def test_continuous_target_given_to_classifier_is_refused():
    y = np.random.default_rng(RNG_SEED).normal(size=40)
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'.*AutoRegressor"):
        _fit(_frame(), y)


def test_mixed_label_types_are_refused():
    with pytest.raises(ValueError, match="mixes value types"):
        _fit(_frame(), np.array([1, "a"] * 20, dtype=object))


def test_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match="X has 40 rows but y has 39 values"):
        _fit(_frame(), _labels()[:-1])


def test_column_vector_y_is_raveled_with_a_warning():
    y = np.tile([0, 1], 20)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        data = _fit(_frame(), y[:, None])
    np.testing.assert_array_equal(data.y, y)
    with pytest.warns(DataConversionWarning):
        _fit(_frame(), pd.DataFrame({"t": np.linspace(0, 1, 40)}), task="regression")


def test_multi_output_y_is_refused():
    with pytest.raises(ValueError, match="Multi-output targets are not supported"):
        _fit(_frame(), np.zeros((40, 2)))


def test_y_none_is_refused_with_the_sklearn_phrase():
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        validate_fit_input(_frame(), None, task="regression", estimator_name="AutoRegressor")


def test_regression_target_conversions():
    assert _fit(_frame(), [True, False] * 20, task="regression").y.dtype == np.float64
    y = pd.Series(["1.5", "2"] * 20, dtype=object)
    np.testing.assert_array_equal(_fit(_frame(), y, task="regression").y[:2], [1.5, 2.0])
    with pytest.raises(ValueError, match="non-numeric values \\(e.g. \\['x'\\]\\)"):
        _fit(_frame(), ["x", "1"] * 20, task="regression")


# --------------------------------------------------------------------------------------
# sample_weight


def test_sample_weight_is_a_float_copy():
    weights = np.arange(40)
    data = _fit(_frame(), sample_weight=weights)
    assert data.sample_weight.dtype == np.float64
    assert not np.shares_memory(data.sample_weight, weights)
    assert _fit(_frame(), sample_weight=2).sample_weight.tolist() == [2.0] * 40
    assert _fit(_frame(), sample_weight=[1] * 40).sample_weight.shape == (40,)


@pytest.mark.parametrize(("weights", "message"), [
    (np.ones(39), "one weight per row of X \\(40\\); got shape \\(39,\\)"),
    (np.ones((40, 2)), "got shape \\(40, 2\\)"),
    (np.r_[np.nan, np.ones(39)], "1 NaN or infinite"),
    (np.r_[-1.0, np.ones(39)], "1 negative"),
    (np.zeros(40), "all zero"),
    (np.array(["a"] * 40), "must be numbers"),
])
def test_bad_sample_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        _fit(_frame(), sample_weight=weights)


def test_weights_leaving_one_class_are_refused():
    y = np.tile([0, 1], 20)
    with pytest.raises(ValueError, match="Only one class"):
        _fit(_frame(), y, sample_weight=y.astype(float))


# --------------------------------------------------------------------------------------
# predict


@pytest.fixture
def fitted() -> FitData:
    X = _frame()
    X["flag"] = np.arange(40) % 3 == 0
    X["when"] = pd.date_range("2021-01-01", periods=40, freq="h")
    return _fit(X)


def _new_rows(n: int = 5) -> pd.DataFrame:
    X = _frame(n, seed=9)
    X["flag"] = [True, False, True, False, True][:n]
    X["when"] = pd.date_range("2022-01-01", periods=n, freq="h")
    return X


def test_predict_reorders_columns_by_name(fitted):
    new = _new_rows()
    out = validate_predict_input(new[new.columns[::-1]], fitted.schema)
    assert list(out.columns) == ["num", "cat", "flag", "when"]
    np.testing.assert_array_equal(out["num"], new["num"])


def test_predict_output_dtypes_match_training(fitted):
    out = validate_predict_input(_new_rows(), fitted.schema)
    assert out.dtypes.astype(str).tolist() == fitted.X.dtypes.astype(str).tolist()


def test_predict_missing_columns_are_named(fitted):
    with pytest.raises(ValueError, match="yet now missing:\n- cat\n- flag\n"):
        validate_predict_input(_new_rows().drop(columns=["cat", "flag"]), fitted.schema)


def test_predict_extra_columns_are_refused_and_named(fitted):
    with pytest.raises(ValueError, match="unseen at fit time:\n- bonus\n"):
        validate_predict_input(_new_rows().assign(bonus=1), fitted.schema)


def test_predict_renamed_column_is_missing_plus_extra(fitted):
    with pytest.raises(ValueError, match="unseen at fit time:\n- NUM\n.*missing:\n- num\n"):
        validate_predict_input(_new_rows().rename(columns={"num": "NUM"}), fitted.schema)


def test_predict_array_with_wrong_number_of_features():
    data = _fit(np.zeros((40, 4)) + np.arange(40)[:, None] % 3)
    with pytest.raises(ValueError, match="X has 3 features, but AutoClassifier is expecting 4"):
        validate_predict_input(np.zeros((2, 3)), data.schema, estimator_name="AutoClassifier")


def test_predict_array_after_dataframe_fit_warns_and_matches_by_position():
    X = _frame().assign(cat=np.arange(40) % 3)
    data = _fit(X)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        out = validate_predict_input(X.to_numpy()[:3], data.schema)
    assert list(out.columns) == ["num", "cat"]


def test_predict_unseen_categories_and_new_nan_pass_through(fitted):
    new = _new_rows()
    new.loc[0, "cat"] = "never seen"
    new.loc[1, "num"] = np.nan
    out = validate_predict_input(new, fitted.schema)
    assert out.loc[0, "cat"] == "never seen" and np.isnan(out.loc[1, "num"])
    assert not _column(fitted.schema, "num")["had_nan"]


def test_predict_numeric_column_arriving_as_strings_is_coerced(fitted):
    new = _new_rows()
    new["num"] = ["1.5", "2", None, "-3", "4e2"]
    with pytest.warns(InputDataWarning, match="'num' was numeric in training"):
        out = validate_predict_input(new, fitted.schema)
    assert out["num"].tolist()[:2] == [1.5, 2.0] and np.isnan(out["num"].iloc[2])


def test_predict_non_numeric_strings_in_numeric_column_are_refused(fitted):
    new = _new_rows()
    new["num"] = ["1.5", "oops", None, "3", "4"]
    with pytest.raises(ValueError, match="column 'num' was numeric.*'oops'"):
        validate_predict_input(new, fitted.schema)


def test_predict_boolean_and_datetime_drift(fitted):
    new = _new_rows()
    new["flag"] = ["True", "false", None, "1", "0"]
    new["when"] = new["when"].astype(str)
    out = validate_predict_input(new, fitted.schema)
    assert out["flag"].tolist()[:2] == [True, False] and pd.isna(out["flag"].iloc[2])
    assert out["when"].dtype == fitted.X["when"].dtype
    new["when"] = "not a date"
    with pytest.raises(ValueError, match="column 'when'.*cannot be read as datetime64"):
        validate_predict_input(new, fitted.schema)


def test_predict_refuses_empty_and_one_dimensional_input(fitted):
    with pytest.raises(ValueError, match="0 sample"):
        validate_predict_input(_new_rows().iloc[:0], fitted.schema)
    with pytest.raises(ValueError, match="Reshape your data"):
        validate_predict_input(np.zeros(4), fitted.schema)


def test_schema_is_json_safe_and_usable_after_a_round_trip(fitted):
    schema = json.loads(json.dumps(fitted.schema))
    assert schema == fitted.schema
    out = validate_predict_input(_new_rows(), schema)
    assert out.shape == (5, 4)
    assert {c["kind"] for c in schema["columns"]} == {"numeric", "categorical", "boolean",
                                                       "datetime"}


# --------------------------------------------------------------------------------------
# speed


def test_validation_is_linear_and_fast_on_a_large_mixed_frame():
    rng = np.random.default_rng(RNG_SEED)
    n = 200_000
    X = pd.DataFrame({f"n{j}": rng.normal(size=n) for j in range(10)})
    X["c"] = rng.choice(["a", "b", "c", None], size=n)
    X["b"] = rng.random(n) < 0.5
    y = rng.integers(0, 3, n)
    start = time.perf_counter()
    data = validate_fit_input(X, y, task="classification")
    validate_predict_input(X, data.schema)
    assert time.perf_counter() - start < 5.0

"""Validate and clean the data given to ``fit`` and ``predict``, once, before any trial.

``validate_fit_input`` turns whatever the user passed (DataFrame, numpy array, list of
lists, scipy sparse matrix) into one clean :class:`pandas.DataFrame` with string column
names and one canonical dtype per column, checks the target and the sample weights, and
records a JSON-safe *schema* of the training columns. ``validate_predict_input`` holds new
data to that schema: columns are matched by name (or by position for arrays), reordered,
and coerced to their training dtype; schema problems raise an error naming the columns.

Canonical column dtypes (the builder decides each column's *kind* from them):

========================  =============================================================
input                     clean column
========================  =============================================================
int, float, nullable      ``float64`` (``pd.NA`` -> NaN, +/-inf -> NaN with a warning)
bool, ``boolean``         ``boolean`` (pandas nullable)
str, object, category     ``str`` (pandas string dtype, NaN for missing)
datetime64 (tz or not)    unchanged
timedelta64               ``float64`` seconds
========================  =============================================================

Every rule, and what happens to each kind of dirty input, is described in
``docs/input_data.md``.

Examples
--------
>>> import numpy as np
>>> data = validate_fit_input(np.arange(12.0).reshape(6, 2), ["a", "b"] * 3,
...                           task="classification")
>>> list(data.X.columns), data.y.tolist(), data.classes_.tolist()
(['x0', 'x1'], [0, 1, 0, 1, 0, 1], ['a', 'b'])
>>> validate_predict_input([[0.0, 1.0]], data.schema).shape
(1, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import sparse
from sklearn.exceptions import DataConversionWarning

from automl._columns import (
    MIN_ROWS_FOR_ID,
    InputDataWarning,
    Notes,
    check_shape,
    clean_fit_frame,
    coerce,
    to_frame,
)
from automl.builder import describe_columns

__all__ = [
    "FitData",
    "InputDataWarning",
    "MAX_DENSE_BYTES",
    "MIN_ROWS_FOR_ID",
    "validate_fit_input",
    "validate_predict_input",
]

MAX_DENSE_BYTES = 2**30
"""Largest scipy sparse input (as a dense float64 array, in bytes) that is densified."""

SCHEMA_FORMAT = 1
_TASKS = ("classification", "regression")


@dataclass(frozen=True)
class FitData:
    """Clean training data, as returned by :func:`validate_fit_input`.

    Attributes
    ----------
    X : pandas.DataFrame
        Clean features (string column names, canonical dtypes, ``RangeIndex``), without
        the columns dropped from modelling (all-missing columns, identifiers).
    y : numpy.ndarray
        Classification: int64 codes ``0..k-1`` indexing ``classes_``; regression: float64.
    classes_ : numpy.ndarray or None
        Classification: the original labels, sorted, in their original dtype, so that
        ``classes_[codes]`` gives labels back. None for regression.
    sample_weight : numpy.ndarray or None
        float64 weights (a copy), or None.
    schema : dict
        JSON-safe description of the training columns, the input to
        :func:`validate_predict_input`.
    warnings : tuple of str
        The messages of the warnings emitted while validating.

    Examples
    --------
    >>> data = validate_fit_input([[1.0], [2.0], [3.0], [4.0]], [0.5, 1.5, 2.0, 3.0],
    ...                           task="regression")
    >>> data.y.dtype, data.classes_, data.schema["n_features"]
    (dtype('float64'), None, 1)
    """

    X: pd.DataFrame
    y: np.ndarray
    classes_: np.ndarray | None
    sample_weight: np.ndarray | None
    schema: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())


def _build_schema(frame: pd.DataFrame, dropped: dict, was_dataframe: bool,
                  feature_names: list[str] | None, task: str) -> dict[str, Any]:
    info = describe_columns(frame)
    kinds = {name: kind for kind in ("numeric", "categorical", "boolean", "datetime")
             for name in getattr(info, kind)}
    had_nan = frame.isna().any()
    columns = [
        {"name": name, "dtype": str(frame[name].dtype), "kind": kinds.get(name, "unknown"),
         "had_nan": bool(had_nan[name]), "dropped": dropped.get(name)}
        for name in frame.columns
    ]
    return {
        "format": SCHEMA_FORMAT,
        "task": task,
        "was_dataframe": was_dataframe,
        "feature_names_in": feature_names,
        "n_features": len(columns),
        "n_rows": int(frame.shape[0]),
        "columns": columns,
    }


# ---------------------------------------------------------------------------------------
# y


def _target_series(y: Any, n_rows: int, estimator_name: str, notes: Notes) -> pd.Series:
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is "
                         "None; pass one target value per row of X.")
    if sparse.issparse(y):
        raise TypeError("y is a scipy sparse matrix; pass a 1-D array or Series of targets.")
    if isinstance(y, pd.DataFrame):
        shape = y.shape
        s = y.iloc[:, 0] if shape[1] == 1 else None
    elif isinstance(y, pd.Series):
        shape, s = y.shape, y
    else:
        array = np.asarray(y)
        shape = array.shape
        s = pd.Series(array.reshape(-1), copy=False) if array.ndim in (1, 2) else None
        s = s if array.ndim == 1 or shape[-1] == 1 else None
    if s is None:
        raise ValueError(f"y must be 1-D (one target per row); got shape {shape}. "
                         "Multi-output targets are not supported: fit one model per column.")
    if len(shape) == 2:
        notes.warn("A column-vector y was passed when a 1d array was expected; it was "
                   "flattened. Pass y as a 1-D array (e.g. y.ravel()).", DataConversionWarning)
    if len(s) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(s)} values; pass exactly one "
                         "target value per row of X.")
    return s.reset_index(drop=True)


def _refuse_missing_target(s: pd.Series, values: np.ndarray | None = None) -> None:
    bad = s.isna().to_numpy()
    if values is not None and values.dtype.kind == "f":
        bad = bad | np.isinf(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"y contains NaN or infinite values in {rows.size} row(s) (first rows: "
            f"{rows[:5].tolist()}); drop those rows from X and y, or impute the target."
        )


def _classification_target(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (codes 0..k-1, classes in their original dtype)."""
    if ptypes.is_complex_dtype(s.dtype):
        raise ValueError("Complex data not supported: y holds complex numbers.")
    _refuse_missing_target(s)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, used = s.cat.codes.to_numpy(), np.unique(s.cat.codes.to_numpy())
        return np.searchsorted(used, codes).astype(np.int64), np.asarray(s.cat.categories[used])
    values = s.to_numpy(dtype=getattr(s.dtype, "numpy_dtype", None))
    inferred = ptypes.infer_dtype(values, skipna=False)
    if inferred.startswith("mixed") and inferred != "mixed-integer-float":
        raise ValueError(f"Unknown label type: y mixes value types ({inferred}); "
                         "convert the labels to one type, e.g. y.astype(str).")
    if inferred in ("floating", "mixed-integer-float"):
        _refuse_continuous(values.astype(np.float64))
    codes, classes = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(classes, dtype=values.dtype)


def _refuse_continuous(values: np.ndarray) -> None:
    _refuse_missing_target(pd.Series(values), values)
    fractional = values != np.round(values)
    if fractional.any():
        examples = np.unique(values[fractional])[:3].tolist()
        raise ValueError(
            f"Unknown label type: 'continuous'. y holds continuous float values (e.g. "
            f"{examples}) but a classifier needs class labels: use AutoRegressor for a "
            "numeric target, or turn y into labels first (e.g. numpy.digitize)."
        )


def _check_class_counts(codes: np.ndarray, classes: np.ndarray,
                        sample_weight: np.ndarray | None) -> None:
    counts, labels = np.bincount(codes, minlength=len(classes)), classes.tolist()
    if len(classes) < 2:
        raise ValueError(f"y has only one class ({labels[0]!r}, {counts[0]} rows): a "
                         "classifier needs at least two classes; check the target column.")
    rare = np.flatnonzero(counts < 2)
    if rare.size:
        listed = ", ".join(f"{labels[i]!r}: {counts[i]}" for i in rare[:10])
        raise ValueError(
            f"{rare.size} class(es) of y have a single row ({listed}); stratified "
            "cross-validation needs at least 2 rows per class. Drop or merge those "
            "rows' classes, or collect more examples."
        )
    if sample_weight is not None:
        weighted = np.bincount(codes, weights=sample_weight, minlength=len(classes))
        if np.count_nonzero(weighted > 0) < 2:
            raise ValueError(
                "Only one class of y has a positive sample_weight: a classifier needs at "
                "least two classes with positive weight; check sample_weight."
            )


def _regression_target(s: pd.Series) -> np.ndarray:
    if ptypes.is_complex_dtype(s.dtype):
        raise ValueError("Complex data not supported: y holds complex numbers.")
    if ptypes.is_datetime64_any_dtype(s.dtype) or ptypes.is_timedelta64_dtype(s.dtype):
        raise TypeError(f"y has dtype {s.dtype}; a regression target must be numeric "
                        "(convert it, e.g. to seconds).")
    _refuse_missing_target(s)
    if ptypes.is_numeric_dtype(s.dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        numbers = pd.to_numeric(s.astype(object), errors="coerce")
        failed = numbers.isna().to_numpy()
        if failed.any():
            examples = s[failed].unique()[:3].tolist()
            raise ValueError(f"y holds non-numeric values (e.g. {examples}); AutoRegressor "
                             "needs numbers: convert y, or use AutoClassifier for labels.")
        values = numbers.to_numpy(dtype=np.float64)
    _refuse_missing_target(s, values)
    return values


# ---------------------------------------------------------------------------------------
# sample weights


def _check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight) and not isinstance(sample_weight, (str, bytes)):
        weights = np.full(n_rows, sample_weight, dtype=np.float64)
    else:
        array = np.asarray(sample_weight)
        if array.ndim != 1 or array.shape[0] != n_rows:
            raise ValueError(f"sample_weight must be 1-D with one weight per row of X "
                             f"({n_rows}); got shape {array.shape}.")
        try:
            weights = np.array(array, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample_weight must be numbers; got dtype {array.dtype}.") from exc
    if not np.isfinite(weights).all():
        raise ValueError(f"sample_weight holds {int((~np.isfinite(weights)).sum())} NaN or "
                         "infinite value(s); every weight must be a finite number.")
    if (weights < 0).any():
        raise ValueError(f"sample_weight holds {int((weights < 0).sum())} negative value(s) "
                         f"(minimum {weights.min()}); weights must be >= 0.")
    if not weights.any():
        raise ValueError("sample_weight values are all zero; at least one weight must be "
                         "positive.")
    return weights


# ---------------------------------------------------------------------------------------
# public API


def validate_fit_input(X: Any, y: Any, *, task: str, sample_weight: Any = None,
                       estimator_name: str = "AutoML") -> FitData:
    """Check and clean training data; raise one clear error if it cannot be used.

    Parameters
    ----------
    X : DataFrame, array-like of shape (n_samples, n_features), or scipy sparse matrix
        Features. See ``docs/input_data.md`` for what is accepted and how.
    y : array-like of shape (n_samples,) or (n_samples, 1)
        Target.
    task : {"classification", "regression"}
    sample_weight : array-like of shape (n_samples,) or float, optional
        Non-negative, finite weights, not all zero.
    estimator_name : str, default="AutoML"
        Name used in error messages (the calling estimator's class name).

    Returns
    -------
    FitData

    Raises
    ------
    ValueError, TypeError
        With a message saying what is wrong, what was received and what to do.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [20, 30, None, 50], "city": ["a", "b", "a", None]})
    >>> data = validate_fit_input(X, [True, False, True, False], task="classification")
    >>> [str(t) for t in data.X.dtypes], data.classes_.tolist()
    (['float64', 'str'], [False, True])
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}; got {task!r}.")
    notes = Notes()
    frame, was_dataframe, feature_names = to_frame(X, MAX_DENSE_BYTES)
    check_shape(frame, min_rows=2)
    target = _target_series(y, frame.shape[0], estimator_name, notes)
    weights = _check_sample_weight(sample_weight, frame.shape[0])
    classes = None
    if task == "classification":
        y_clean, classes = _classification_target(target)
        _check_class_counts(y_clean, classes, weights)
    else:
        y_clean = _regression_target(target)
    clean, dropped = clean_fit_frame(frame, notes)
    schema = _build_schema(clean, dropped, was_dataframe, feature_names, task)
    model_frame = clean.drop(columns=list(dropped)) if dropped else clean
    return FitData(model_frame, y_clean, classes, weights, schema, tuple(notes.messages))


def _names_error(missing: list[str], extra: list[str]) -> ValueError:
    message = "The feature names should match those that were passed during fit.\n"
    for title, names in (("Feature names unseen at fit time:\n", extra),
                         ("Feature names seen at fit time, yet now missing:\n", missing)):
        if names:
            shown = sorted(names)
            message += title + "".join(f"- {n}\n" for n in shown[:10])
            message += f"- ... ({len(shown) - 10} more)\n" if len(shown) > 10 else ""
    return ValueError(message + "Pass X with exactly the training columns (any order); "
                      "remove extra columns and add the missing ones (NaN is allowed).")


def _align(frame: pd.DataFrame, was_dataframe: bool, has_names: bool, schema: dict,
           estimator_name: str, notes: Notes) -> pd.DataFrame:
    expected = [column["name"] for column in schema["columns"]]
    if was_dataframe and schema["was_dataframe"]:
        present, wanted = set(frame.columns), set(expected)
        missing = [n for n in expected if n not in present]
        extra = [n for n in frame.columns if n not in wanted]
        if missing or extra:
            raise _names_error(missing, extra)
        return frame[expected]
    if frame.shape[1] != len(expected):
        raise ValueError(
            f"X has {frame.shape[1]} features, but {estimator_name} is expecting "
            f"{len(expected)} features as input; pass the same columns as in fit."
        )
    if has_names and schema["feature_names_in"] is None and not schema["was_dataframe"]:
        notes.warn(f"X has feature names, but {estimator_name} was fitted without feature "
                   "names; columns are matched by position.", UserWarning)
    elif not was_dataframe and schema["feature_names_in"] is not None:
        notes.warn(f"X does not have valid feature names, but {estimator_name} was fitted "
                   "with feature names; columns are matched by position.", UserWarning)
    frame.columns = expected
    return frame


def validate_predict_input(X: Any, schema: dict[str, Any], *,
                           estimator_name: str = "AutoML") -> pd.DataFrame:
    """Check new data against the training schema and return the frame the model takes.

    DataFrame columns are matched by name (order does not matter; missing or extra
    columns raise an error naming them); arrays are matched by position and must have
    the training number of features. Each column is coerced to its training dtype;
    unseen categories and new missing values pass through to the pipeline.

    Parameters
    ----------
    X : DataFrame, array-like of shape (n_samples, n_features), or scipy sparse matrix
    schema : dict
        ``FitData.schema`` from training (possibly after a JSON round trip).
    estimator_name : str, default="AutoML"
        Name used in error messages (the calling estimator's class name).

    Returns
    -------
    pandas.DataFrame
        The modelling columns of the training data, in training order.

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", "y"]})
    >>> schema = validate_fit_input(train, [0, 1, 0, 1], task="classification").schema
    >>> new = pd.DataFrame({"b": ["z"], "a": [5]})  # reordered, unseen category
    >>> out = validate_predict_input(new, schema)
    >>> list(out.columns), out.loc[0, "a"] == 5.0, out.loc[0, "b"]
    (['a', 'b'], np.True_, 'z')
    """
    notes = Notes()
    frame, was_dataframe, _ = to_frame(X, MAX_DENSE_BYTES)
    has_names = was_dataframe and all(isinstance(c, str) for c in X.columns)
    check_shape(frame, min_rows=1)
    frame = _align(frame, was_dataframe, has_names, schema, estimator_name, notes)
    columns = {
        column["name"]: coerce(frame.iloc[:, j], column, notes).reset_index(drop=True)
        for j, column in enumerate(schema["columns"]) if column["dropped"] is None
    }
    return pd.DataFrame(columns, copy=False)

"""Column-level cleaning behind automl.validation: input -> DataFrame, canonical dtypes.

Private helpers of :mod:`automl.validation` (which documents the rules): turning any
accepted container into a DataFrame with string column names, converting each column to
its canonical dtype at fit time, and coercing each column back to that dtype at predict
time. Every function is vectorised over rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import sparse

__all__ = ["InputDataWarning", "MIN_ROWS_FOR_ID", "Notes", "check_shape", "clean_fit_frame",
           "coerce", "to_frame"]

MIN_ROWS_FOR_ID = 20
"""Below this many rows a column with one distinct value per row is not called an ID."""

_NUMERIC_LABELS = ("integer", "floating", "mixed-integer-float", "decimal")
_BOOL_STRINGS = {"true": True, "false": False, "1": True, "0": False}


class InputDataWarning(UserWarning):
    """Something in the input was changed or looks suspicious (the message says what)."""


class Notes:
    """Emit warnings and remember their messages (for ``FitData.warnings``)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def warn(self, message: str, category: type[Warning] = InputDataWarning) -> None:
        self.messages.append(message)
        warnings.warn(message, category, stacklevel=4)


# ---------------------------------------------------------------------------------------
# X -> DataFrame


def _reshape_error(shape: tuple[int, ...]) -> ValueError:
    return ValueError(
        f"Expected a 2-D X (rows x features), got an array of shape {shape} instead. "
        "Reshape your data either using array.reshape(-1, 1) if it has a single feature "
        "or array.reshape(1, -1) if it contains a single sample."
    )


def _densify(X: Any, max_bytes: int) -> np.ndarray:
    n_rows, n_cols = X.shape
    size = n_rows * n_cols * 8
    if size > max_bytes:
        raise ValueError(
            f"X is a scipy sparse matrix of shape {X.shape} which would take "
            f"{size / 2**30:.1f} GiB as a dense float64 array (limit "
            f"{max_bytes / 2**30:.1f} GiB): sparse input is densified, so reduce "
            "it first (fewer columns, e.g. SelectKBest or TruncatedSVD) or raise "
            "automl.validation.MAX_DENSE_BYTES."
        )
    return X.toarray()


def _frame_from_lists(X: list | tuple) -> pd.DataFrame:
    lengths = {len(row) if isinstance(row, (list, tuple, np.ndarray)) else -1 for row in X}
    if -1 in lengths:
        raise _reshape_error((len(X),))
    if len(lengths) > 1:
        raise ValueError(
            f"X is a list of rows of different lengths {sorted(lengths)}; every row must "
            "hold one value per feature (use None for a missing value)."
        )
    return pd.DataFrame(list(X)) if X else pd.DataFrame(np.empty((0, 0)))


def _frame_from_array(X: Any) -> pd.DataFrame:
    try:
        array = np.asarray(X)
    except ValueError as exc:
        raise ValueError(f"X could not be read as a 2-D array ({exc}); pass a "
                         "DataFrame, a 2-D numpy array or a list of equal rows.") from exc
    if array.ndim != 2:
        if array.ndim == 0:
            raise TypeError(f"X must be a 2-D array-like or DataFrame; got {type(X).__name__}.")
        raise _reshape_error(array.shape)
    if array.dtype.kind in "US":
        array = array.astype(object)
    return pd.DataFrame(array, copy=False)


def to_frame(X: Any, max_dense_bytes: int) -> tuple[pd.DataFrame, bool, list[str] | None]:
    """Return (frame with string names and RangeIndex, was_dataframe, feature_names).

    ``feature_names`` is None unless X is a DataFrame whose column names are all strings.
    Sparse input larger than ``max_dense_bytes`` as a dense float64 array is refused.
    """
    if X is None or isinstance(X, (str, bytes, dict, set)):
        raise TypeError(
            f"X must be a DataFrame, a 2-D array, a list of rows or a scipy sparse "
            f"matrix; got {type(X).__name__}."
        )
    if isinstance(X, pd.Series):
        raise _reshape_error(X.shape)
    if isinstance(X, pd.DataFrame):
        original = list(X.columns)
        frame = X.reset_index(drop=True)
        names = [str(c) for c in original]
        _check_unique_names(original, names)
        frame.columns = names
        all_str = all(isinstance(c, str) for c in original)
        return frame, True, names if all_str else None
    if sparse.issparse(X):
        frame = pd.DataFrame(_densify(X, max_dense_bytes), copy=False)
    elif isinstance(X, (list, tuple)):
        frame = _frame_from_lists(X)
    else:
        frame = _frame_from_array(X)
    frame.columns = [f"x{j}" for j in range(frame.shape[1])]
    return frame, False, None


def _check_unique_names(original: list, names: list[str]) -> None:
    index = pd.Index(names)
    if index.has_duplicates:
        dups = sorted(set(index[index.duplicated()]))
        raise ValueError(
            f"X has duplicate column names {dups} (as strings; original names "
            f"{[c for c in original if str(c) in dups]}); give every column a unique "
            "name, e.g. X.columns = [...] or X.loc[:, ~X.columns.duplicated()]."
        )


def check_shape(frame: pd.DataFrame, min_rows: int) -> None:
    n_rows, n_cols = frame.shape
    if n_rows < min_rows:
        raise ValueError(
            f"Found array with {n_rows} sample(s) (shape={frame.shape}) while a minimum "
            f"of {min_rows} is required; pass at least {min_rows} rows."
        )
    if n_cols == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 "
            "is required; pass at least one feature column."
        )


# ---------------------------------------------------------------------------------------
# columns


def _complex_error(name: str) -> ValueError:
    return ValueError(f"Complex data not supported: column {name!r} holds complex "
                      "numbers; pass its real part, imaginary part or modulus instead.")


def _as_float(s: pd.Series, name: str, notes: Notes) -> pd.Series:
    values = s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    infinite = np.isinf(values)
    if infinite.any():
        notes.warn(f"column {name!r} holds {int(infinite.sum())} infinite value(s); "
                   "they are treated as missing (NaN).")
        values[infinite] = np.nan
    return pd.Series(values, name=s.name)


def _parse_dates(s: pd.Series, errors: str = "raise") -> pd.Series:
    """``pandas.to_datetime`` without its per-call format-guessing warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Could not infer format", category=UserWarning)
        return pd.to_datetime(s, errors=errors)


def _from_object(s: pd.Series, name: str, notes: Notes) -> pd.Series:
    inferred = ptypes.infer_dtype(s, skipna=True)
    if inferred == "empty":
        return pd.Series(np.full(len(s), np.nan), name=s.name)
    if inferred in _NUMERIC_LABELS:
        return _as_float(pd.to_numeric(s, errors="coerce"), name, notes)
    if inferred == "boolean":
        return s.astype("boolean")
    if inferred in ("datetime", "datetime64", "date"):
        try:
            return _parse_dates(s)
        except (TypeError, ValueError):
            pass
    if inferred != "string":
        notes.warn(f"column {name!r} mixes value types ({inferred}); its values were "
                   "converted to strings and it is treated as categorical.")
    return s.astype("str")


def _canonical(s: pd.Series, name: str, notes: Notes) -> pd.Series:
    """Fit time: convert one column to its canonical dtype (see the module docstring)."""
    if isinstance(s.dtype, pd.SparseDtype):
        s = s.sparse.to_dense()
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype) or (ptypes.is_string_dtype(dtype) and dtype != object):
        return s.astype("str")
    if ptypes.is_bool_dtype(dtype):
        return s.astype("boolean")
    if ptypes.is_complex_dtype(dtype):
        raise _complex_error(name)
    if ptypes.is_numeric_dtype(dtype):
        return _as_float(s, name, notes)
    if ptypes.is_datetime64_any_dtype(dtype):
        return s.copy()
    if ptypes.is_timedelta64_dtype(dtype):
        return _as_float(s.dt.total_seconds(), name, notes)
    if dtype == object:
        return _from_object(s, name, notes)
    return s.astype("str")


def _drop_reason(raw: pd.Series, clean: pd.Series, name: str, notes: Notes) -> str | None:
    """Why a column is dropped from modelling (all missing, identifier), or None."""
    n_rows = len(clean)
    missing = clean.isna()
    if missing.all():
        return "all values missing"
    if n_rows < MIN_ROWS_FOR_ID or missing.any() or clean.nunique() < n_rows:
        return None
    if str(clean.dtype) == "str":
        return "identifier: one distinct string per row"
    if ptypes.is_integer_dtype(raw.dtype) and not ptypes.is_bool_dtype(raw.dtype):
        values = clean.to_numpy()
        if values.max() - values.min() == n_rows - 1:
            return "identifier: a permutation of consecutive integers (a row number)"
        notes.warn(f"column {name!r} holds one distinct integer per row and may be an "
                   "identifier; it was kept. Drop it yourself if it is one.")
    return None


def clean_fit_frame(frame: pd.DataFrame, notes: Notes) -> tuple[pd.DataFrame, dict]:
    """Canonical columns plus {name: drop reason} for the columns kept out of the model."""
    columns, dropped = {}, {}
    for j, name in enumerate(frame.columns):
        raw = frame.iloc[:, j]
        clean = _canonical(raw, name, notes).reset_index(drop=True)
        clean.name = name
        reason = _drop_reason(raw, clean, name, notes)
        if reason is not None:
            dropped[name] = reason
        columns[name] = clean
    if len(dropped) == len(columns):
        raise ValueError(
            f"X has no usable column: all {len(dropped)} column(s) were dropped "
            f"({dropped}); pass at least one feature with observed, non-identifier values."
        )
    if dropped:
        notes.warn("columns dropped from modelling: " + "; ".join(
            f"{name!r} ({reason})" for name, reason in dropped.items()))
    return pd.DataFrame(columns, copy=False), dropped


# ---------------------------------------------------------------------------------------
# predict time: back to the training dtype


def _to_boolean(s: pd.Series, name: str) -> pd.Series:
    if ptypes.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    if ptypes.is_numeric_dtype(s.dtype) and s.dropna().isin([0, 1]).all():
        return s.astype("float64").astype("boolean")
    mapped = s.astype("str").str.lower().map(_BOOL_STRINGS)
    if (mapped.isna() & s.notna()).any():
        raise ValueError(f"column {name!r} was boolean in training but holds other values "
                         f"at predict (e.g. {s[mapped.isna() & s.notna()].iloc[0]!r}); "
                         "pass True/False (or NaN for missing).")
    return mapped.astype("boolean")


def _to_training_float(s: pd.Series, name: str, notes: Notes) -> pd.Series:
    dtype = s.dtype
    if ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype):
        return _as_float(s, name, notes)
    numbers = pd.to_numeric(s.astype(object), errors="coerce")
    bad = (numbers.isna() & s.notna()).to_numpy()
    if bad.any() or ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_complex_dtype(dtype):
        example = s[bad].iloc[0] if bad.any() else s.iloc[0]
        raise ValueError(f"column {name!r} was numeric in training but holds non-numeric "
                         f"values at predict ({int(bad.sum())} rows, e.g. {example!r}, "
                         f"dtype {dtype}); convert it to numbers (NaN for missing).")
    notes.warn(f"column {name!r} was numeric in training but arrived as {dtype}; its "
               "values were converted to numbers.")
    return _as_float(numbers, name, notes)


def _to_training_datetime(s: pd.Series, name: str, dtype: str) -> pd.Series:
    try:
        converted = _parse_dates(s, errors="coerce")
        bad = converted.isna() & s.notna()
        if not bad.any():
            return converted.astype(dtype)
    except (TypeError, ValueError):
        pass
    raise ValueError(f"column {name!r} was {dtype} in training but holds values that "
                     f"cannot be read as {dtype} at predict (dtype {s.dtype}); convert it "
                     "with pandas.to_datetime (same time zone as in training).")


def coerce(s: pd.Series, column: dict, notes: Notes) -> pd.Series:
    """Predict time: bring one column to its training dtype."""
    name, dtype = column["name"], column["dtype"]
    if isinstance(s.dtype, pd.SparseDtype):
        s = s.sparse.to_dense()
    if dtype == "float64":
        return _to_training_float(s, name, notes)
    if dtype == "boolean":
        return _to_boolean(s, name)
    if dtype.startswith("datetime64"):
        return _to_training_datetime(s, name, dtype)
    return s.astype("str")

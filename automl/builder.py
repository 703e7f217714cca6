"""Configuration + description of the input columns -> unfitted scikit-learn pipeline.

:func:`describe_columns` is the one place that decides the kind of a column;
:func:`build_pipeline` turns a configuration of a space (the default one or any space
with the same top-level keys) into a :class:`sklearn.pipeline.Pipeline`::

    preprocess  ColumnTransformer
                  cat: AsCategories -> encoder            (categorical columns, first)
                  num: ToFloat -> imputer -> scaler       (numeric, boolean, datetime)
    select      feature selection / reduction             (only if chosen)
    model       the estimator

With ``encode="native"`` and a model tagged ``native_categorical=True``, categories are
ordinal-encoded, come first, and the model receives their indices as
``categorical_features``; the selection step then runs inside the numeric branch so the
indices stay valid. Any other model gets plain ordinal codes.

With ``impute="native"``, a model tagged ``native_missing=True`` receives the numeric
columns' missing values as NaN (no imputer; the scalers keep NaN) unless a selection step
is chosen (univariate tests and PCA need complete data); every other model gets median
imputation, as does an option the space does not declare.

Examples
--------
>>> import pandas as pd
>>> from search_spaces import default_space
>>> X = pd.DataFrame({"x": [1.0, None, 3.0, 4.0] * 10, "c": ["a", "b", None, "a"] * 10})
>>> y = [0, 1, 0, 1] * 10
>>> space = default_space("binary")
>>> pipe = build_pipeline(space.default(), space, describe_columns(X), "binary", 0)
>>> pipe.fit(X, y).predict(X).shape
(40,)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Hashable, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from automl.components import AsCategories, ToFloat
from automl.space import Component, Space

__all__ = ["ColumnInfo", "describe_columns", "build_pipeline", "TASKS", "STEP_KEYS"]

TASKS = ("binary", "multiclass", "regression")
STEP_KEYS = ("impute", "scale", "encode", "select")
_THREAD_PARAMS = ("n_jobs", "nthread", "num_threads", "thread_count")
_NATIVE_MAX_CATEGORIES = 255  # HistGradientBoosting needs codes below max_bins (255)


@dataclass(frozen=True)
class ColumnInfo:
    """The kinds of the input columns, decided by :func:`describe_columns`.

    Attributes
    ----------
    numeric, categorical, boolean, datetime : tuple
        Column names of each kind, in the order of the input frame.
    n_rows, n_features : int

    Examples
    --------
    >>> ColumnInfo(numeric=("a",), n_rows=10, n_features=1).all_columns
    ('a',)
    """

    numeric: tuple[Hashable, ...] = ()
    categorical: tuple[Hashable, ...] = ()
    boolean: tuple[Hashable, ...] = ()
    datetime: tuple[Hashable, ...] = ()
    n_rows: int = 0
    n_features: int = 0

    @property
    def all_columns(self) -> tuple[Hashable, ...]:
        """Every described column: numeric, boolean, datetime, then categorical."""
        return self.numeric + self.boolean + self.datetime + self.categorical


def _kind(dtype: Any) -> str | None:
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_complex_dtype(dtype):
        return None
    if types.is_numeric_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return "numeric"
    if (dtype == object or types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
            or isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype))):
        return "categorical"
    return None


def describe_columns(X: pd.DataFrame) -> ColumnInfo:
    """Decide the kind of every column of ``X``.

    numeric (not bool; timedeltas count as numeric) -> ``numeric``; bool and pandas
    ``boolean`` -> ``boolean``; datetime64, with or without time zone -> ``datetime``;
    object, string, category (and period, interval) -> ``categorical``.

    Raises
    ------
    TypeError
        If ``X`` is not a DataFrame or a column has a type no kind covers (complex).

    Examples
    --------
    >>> X = pd.DataFrame({"n": [1.5], "b": [True], "c": ["x"], "d": pd.to_datetime(["2020-01-01"])})
    >>> info = describe_columns(X)
    >>> info.numeric, info.boolean, info.categorical, info.datetime
    (('n',), ('b',), ('c',), ('d',))
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"describe_columns expects a pandas DataFrame; got {type(X).__name__}. "
                        "Wrap arrays with pandas.DataFrame(X) first.")
    kinds: dict[str, list[Hashable]] = {"numeric": [], "categorical": [], "boolean": [], "datetime": []}
    for name, dtype in X.dtypes.items():
        kind = _kind(dtype)
        if kind is None:
            raise TypeError(f"Column {name!r} has dtype {dtype}, which automl cannot use; convert "
                            "it to a numeric, boolean, datetime or string column.")
        kinds[kind].append(name)
    return ColumnInfo(**{k: tuple(v) for k, v in kinds.items()}, n_rows=int(X.shape[0]),
                      n_features=int(X.shape[1]))


def _instantiate(component: Component, kwargs: dict[str, Any], random_state: int | None,
                 n_threads: int, task: str) -> BaseEstimator:
    """Create the estimator, setting its seed and thread count when it has them.

    An estimator whose ``random_state`` is deprecated in favour of a splitter passed as
    ``cv`` (scikit-learn 1.9's TargetEncoder) gets a seeded, shuffled splitter instead.
    """
    cls = component.resolve()
    params = inspect.signature(cls.__init__).parameters
    usable = {name for name, p in params.items() if p.default != "deprecated"}
    if "random_state" in usable:
        kwargs.setdefault("random_state", random_state)
    elif "random_state" in params and "cv" in usable and "cv" not in kwargs:
        splitter = KFold if task == "regression" else StratifiedKFold
        kwargs["cv"] = splitter(n_splits=5, shuffle=True, random_state=random_state)
    for name in _THREAD_PARAMS:
        if name in usable:
            # scikit-learn reads n_jobs=None as one thread (and warns when it is set on
            # LogisticRegression >= 1.8); other libraries may read None as "all cores"
            same = n_threads == 1 and params[name].default is None and cls.__module__.startswith("sklearn.")
            if not same:
                kwargs.setdefault(name, n_threads)
            break
    return cls(**kwargs)


def _option(space: Space, config: Mapping[str, Any], key: str) -> tuple[str, Any] | None:
    """(option name, branch) taken at top-level choice ``key``, or None if absent."""
    if key not in space.params:
        return None
    option = space.choice(config, key)
    return option, space.branch(key, option)


def _step(space: Space, config: Mapping[str, Any], key: str, random_state: int | None,
          task: str, adapt: dict[str, Any] | None = None) -> BaseEstimator | None:
    """The estimator chosen at preprocessing step ``key``; None for an empty option."""
    found = _option(space, config, key)
    if found is None:
        return None
    option, branch = found
    if not isinstance(branch, Component):
        if branch.params:
            raise ValueError(f"Option {option!r} of step {key!r} has parameters but no "
                             "estimator; declare it as a Component.")
        return None
    kwargs = branch.kwargs(config[key][option])
    cls_params = inspect.signature(branch.resolve().__init__).parameters
    for name, value in (adapt or {}).items():
        if name in cls_params:
            kwargs.setdefault(name, value)
    return _instantiate(branch, kwargs, random_state, 1, task)


def _encoder(space: Space, config: Mapping[str, Any], native: bool,
             random_state: int | None, task: str) -> BaseEstimator:
    found = _option(space, config, "encode")
    if native:
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                              max_categories=_NATIVE_MAX_CATEGORIES)
    if found is None:
        return OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=32,
                             sparse_output=False)
    if found[0] == "native":  # a model without native support: plain ordinal codes
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                              max_categories=_NATIVE_MAX_CATEGORIES)
    return _step(space, config, "encode", random_state, task)


def _numeric_branch(space: Space, config: Mapping[str, Any], columns: ColumnInfo,
                    random_state: int | None, task: str,
                    selector: BaseEstimator | None, keep_missing: bool) -> Pipeline:
    imputer = None if keep_missing else _step(space, config, "impute", random_state, task)
    if imputer is None and not keep_missing:
        imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    n_quantiles = int(min(1000, max(10, columns.n_rows // 2)))
    scaler = _step(space, config, "scale", random_state, task, {"n_quantiles": n_quantiles})
    steps: list[tuple[str, Any]] = [("to_float", ToFloat())]
    steps += [("impute", imputer)] if imputer is not None else []
    steps += [("scale", scaler)] if scaler is not None else []
    steps += [("select", selector)] if selector is not None else []
    return Pipeline(steps)


def _selector(columns: list[Hashable]) -> list[Hashable] | Any:
    """A ColumnTransformer column spec: names, or a boolean-mask callable for non-str names."""
    if all(isinstance(c, str) for c in columns):
        return list(columns)
    return _ColumnsNamed(tuple(columns))


class _ColumnsNamed:
    """Picklable column selector for frames whose column names are not all strings."""

    def __init__(self, names: tuple[Hashable, ...]) -> None:
        self.names = names

    def __call__(self, X: pd.DataFrame) -> list[bool]:
        wanted = set(self.names)
        return [c in wanted for c in X.columns]


def _model(space: Space, config: Mapping[str, Any], columns: ColumnInfo, task: str,
           random_state: int | None, n_threads: int, n_native: int) -> BaseEstimator:
    name = space.choice(config)
    component = space.branch(space.algorithm_key, name)
    if not isinstance(component, Component):
        raise ValueError(f"Algorithm {name!r} is not a Component (an estimator with its "
                         "parameters); every option of the algorithm choice must be one.")
    kwargs = component.kwargs(config[space.algorithm_key][name])
    if "n_neighbors" in kwargs:  # a k larger than a training fold cannot fit
        kwargs["n_neighbors"] = int(max(1, min(kwargs["n_neighbors"], columns.n_rows // 2)))
    if n_native:
        kwargs["categorical_features"] = list(range(n_native))
    model = _instantiate(component, kwargs, random_state, n_threads, task)
    if task == "regression" and component.tags.get("scale_target"):
        model = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    return model


def _check_inputs(config: Any, space: Space, columns: ColumnInfo, task: str, n_threads: int) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
    if not isinstance(columns, ColumnInfo):
        raise TypeError("columns must be the ColumnInfo returned by describe_columns(X); "
                        f"got {type(columns).__name__}.")
    if not columns.all_columns:
        raise ValueError("The data has no columns to learn from; got a ColumnInfo with none.")
    if not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer; got {n_threads!r}.")
    space.validate(config)
    unknown = sorted(set(space.params) - set(STEP_KEYS) - {space.algorithm_key})
    if unknown:
        raise ValueError(f"The space has top-level keys the builder does not know: {unknown}; "
                         f"known: {list(STEP_KEYS)} and {space.algorithm_key!r}.")


def build_pipeline(config: Mapping[str, Any], space: Space, columns: ColumnInfo, task: str,
                   random_state: int | None, n_threads: int = 1) -> Pipeline:
    """Build the unfitted pipeline a configuration describes.

    Parameters
    ----------
    config : dict
        A configuration of ``space`` (validated here).
    space : Space
        Top-level keys among ``impute``, ``scale``, ``encode``, ``select`` (each optional;
        missing ones fall back to median imputation, no scaling, one-hot encoding, no
        selection) and the algorithm choice.
    columns : ColumnInfo
        From :func:`describe_columns` on the training frame.
    task : {"binary", "multiclass", "regression"}
    random_state : int or None
        Set on every estimator that has a ``random_state``.
    n_threads : int, default=1
        The model's thread count (``n_jobs`` / ``nthread`` / ``num_threads``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``preprocess``, optionally ``select``, and ``model``; it takes a DataFrame
        with the columns of ``columns``.

    Examples
    --------
    >>> from search_spaces import default_space
    >>> space = default_space("regression")
    >>> info = ColumnInfo(numeric=("x",), n_rows=100, n_features=1)
    >>> build_pipeline(space.default(), space, info, "regression", 0).steps[-1][0]
    'model'
    """
    _check_inputs(config, space, columns, task, n_threads)
    model_branch = space.branch(space.algorithm_key, space.choice(config))
    encode = _option(space, config, "encode")
    native = (encode is not None and encode[0] == "native"
              and bool(model_branch.tags.get("native_categorical")) and bool(columns.categorical))
    selector = _step(space, config, "select", random_state, task)
    impute = _option(space, config, "impute")
    keep_missing = (impute is not None and impute[0] == "native" and selector is None
                    and bool(model_branch.tags.get("native_missing")))
    transformers = []
    if columns.categorical:
        encoder = _encoder(space, config, native, random_state, task)
        transformers.append(("cat", Pipeline([("as_categories", AsCategories()), ("encode", encoder)]),
                             _selector(list(columns.categorical))))
    numeric = list(columns.numeric + columns.boolean + columns.datetime)
    if numeric:
        inner = selector if native else None
        transformers.append(("num", _numeric_branch(space, config, columns, random_state, task,
                                                    inner, keep_missing),
                             _selector(numeric)))
    steps: list[tuple[str, Any]] = [("preprocess", ColumnTransformer(transformers, sparse_threshold=0.0))]
    if selector is not None and not native:
        steps.append(("select", selector))
    n_native = len(columns.categorical) if native else 0
    steps.append(("model", _model(space, config, columns, task, random_state, n_threads, n_native)))
    return Pipeline(steps)

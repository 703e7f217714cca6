"""Preprocessing steps of the default space, searched beside the model choice.

Every step is a top-level :class:`~automl.space.Choice` of the space, under a fixed key:

``impute``
    numeric imputation: ``native`` (missing values are handed to models that handle them
    themselves, tagged ``native_missing=True``, when no selection step comes between;
    every other model gets median imputation) or ``simple`` (median or mean, with
    optional missing-value indicators);
``scale``
    scaling of numeric features (standard / none / robust / quantile / power);
``encode``
    categorical encoding (one-hot with a frequency cap / ordinal / target encoding /
    ``native``: categories are handed to models that support them natively, tagged
    ``native_categorical=True``, and ordinal codes go to every other model);
``select``
    optional feature selection or reduction (none / univariate fraction / PCA).

Bounds that would depend on the data are fractions (of features, of variance), never
absolute counts. Estimators are referenced by import path, so importing this module
imports no scikit-learn.

Examples
--------
>>> params = preprocessing_params("binary")
>>> list(params)
['impute', 'scale', 'encode', 'select']
"""

from __future__ import annotations

from automl.space import Categorical, Choice, Component, Constant, Float, Int

__all__ = ["STEP_KEYS", "TASKS", "preprocessing_params"]

#: Top-level keys of the preprocessing choices, in pipeline order.
STEP_KEYS = ("impute", "scale", "encode", "select")

#: The learning tasks a default space exists for.
TASKS = ("binary", "multiclass", "regression")


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
    return task


def _impute() -> Choice:
    return Choice({
        # first, so it is the default: a booster's default is to route missing values
        # itself (hawks, 92 % missing in two columns: held-out log loss of the default
        # LightGBM pipeline 0.033 against 0.046 with median imputation, mean of 3 splits)
        "native": None,
        "simple": Component("sklearn.impute.SimpleImputer", {
            "strategy": Categorical(["median", "mean"]),
            "add_indicator": Categorical([False, True]),
            "keep_empty_features": Constant(True),
        }),
    })


def _scale() -> Choice:
    return Choice({
        "standard": Component("sklearn.preprocessing.StandardScaler"),
        "none": None,
        "robust": Component("sklearn.preprocessing.RobustScaler"),
        # n_quantiles is set by the builder from the number of rows (a data-dependent bound)
        "quantile": Component("sklearn.preprocessing.QuantileTransformer", {
            "output_distribution": Categorical(["uniform", "normal"]),
        }),
        "power": Component("sklearn.preprocessing.PowerTransformer"),
    })


def _encode(task: str) -> Choice:
    target_type = "continuous" if task == "regression" else "auto"
    return Choice({
        "onehot": Component("sklearn.preprocessing.OneHotEncoder", {
            "max_categories": Int(4, 64, log=True, default=16),
            "min_frequency": Float(1e-3, 0.05, log=True, default=0.005),
            "handle_unknown": Constant("infrequent_if_exist"),
            "sparse_output": Constant(False),
        }),
        "ordinal": Component("sklearn.preprocessing.OrdinalEncoder", {
            "handle_unknown": Constant("use_encoded_value"),
            "unknown_value": Constant(-1),
            "max_categories": Constant(255),
        }),
        "target": Component("sklearn.preprocessing.TargetEncoder", {
            "target_type": Constant(target_type),
        }),
        "native": None,
    })


def _select(task: str) -> Choice:
    target = "regression" if task == "regression" else "classification"
    return Choice({
        "none": None,
        "univariate": Component("automl.components.SelectFraction", {
            "fraction": Float(0.1, 1.0, default=0.5),
            "target": Constant(target),
        }),
        "pca": Component("sklearn.decomposition.PCA", {
            "n_components": Float(0.7, 0.999, default=0.95),
            "whiten": Categorical([False, True]),
        }),
    })


def preprocessing_params(task: str) -> dict[str, Choice]:
    """The preprocessing choices of the default space for ``task``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}

    Returns
    -------
    dict
        ``{"impute": Choice, "scale": Choice, "encode": Choice, "select": Choice}``, in
        pipeline order.

    Examples
    --------
    >>> preprocessing_params("regression")["encode"].names
    ['onehot', 'ordinal', 'target', 'native']
    """
    _check_task(task)
    return {
        "impute": _impute(),
        "scale": _scale(),
        "encode": _encode(task),
        "select": _select(task),
    }

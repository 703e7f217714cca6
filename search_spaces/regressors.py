"""Regressor components of the default space.

Same families and tags as :mod:`search_spaces.classifiers` (``cost``,
``native_categorical``, ``native_missing``, ``preload``, ``scale_sensitive``), plus
``scale_target``: the builder wraps such a model so that it learns a standardised target
(their regularisation or epsilon would otherwise depend on the unit of ``y``).

Examples
--------
>>> models = regressor_components()
>>> models["svr"].tags["scale_target"]
True
"""

from __future__ import annotations

from automl.space import Component, Constant, Float
from search_spaces.classifiers import (
    forest_params,
    hist_gb_params,
    knn_params,
    lightgbm_params,
    mlp_params,
    svm_kernel,
    xgboost_params,
)

__all__ = ["regressor_components"]


def regressor_components() -> dict[str, Component]:
    """One component per regressor, in default-first order.

    Returns
    -------
    dict
        Name -> :class:`~automl.space.Component`.

    Examples
    --------
    >>> regressor_components()["ridge"].tags["cost"]
    1
    """
    return {
        "lightgbm": Component("automl.components.EarlyStoppedLGBMRegressor", lightgbm_params(),
                              cost=2, native_categorical=True, native_missing=True, refit_cost=2.0,
                              preload="lightgbm"),
        "xgboost": Component("automl.components.EarlyStoppedXGBRegressor", xgboost_params(),
                             cost=3, native_categorical=True, native_missing=True, refit_cost=2.0),
        "hist_gb": Component("sklearn.ensemble.HistGradientBoostingRegressor", hist_gb_params(),
                             cost=2, native_categorical=True, native_missing=True),
        "random_forest": Component("sklearn.ensemble.RandomForestRegressor",
                                   forest_params(), cost=3, native_missing=True),
        "extra_trees": Component("sklearn.ensemble.ExtraTreesRegressor",
                                 forest_params(), cost=2, native_missing=True),
        "ridge": Component("sklearn.linear_model.Ridge", {
            "alpha": Float(1e-4, 1e4, log=True, default=1.0),
        }, cost=1, scale_sensitive=True),
        "lasso": Component("sklearn.linear_model.Lasso", {
            "alpha": Float(1e-5, 10.0, log=True, default=1e-2),
            "max_iter": Constant(2000),
        }, cost=1, scale_sensitive=True, scale_target=True),
        "elastic_net": Component("sklearn.linear_model.ElasticNet", {
            "alpha": Float(1e-5, 10.0, log=True, default=1e-2),
            "l1_ratio": Float(0.05, 0.95, default=0.5),
            "max_iter": Constant(2000),
        }, cost=1, scale_sensitive=True, scale_target=True),
        "svr": Component("sklearn.svm.SVR", {
            "C": Float(1e-2, 1e3, log=True, default=1.0),
            "epsilon": Float(1e-3, 1.0, log=True, default=0.1),
            "kernel": svm_kernel(),
            "cache_size": Constant(500),
            "max_iter": Constant(100_000),  # bounds libsvm on unscaled data (74 s -> 0.7 s)
        }, cost=5, scale_sensitive=True, scale_target=True),
        "knn": Component("sklearn.neighbors.KNeighborsRegressor", knn_params(),
                         cost=2, scale_sensitive=True),
        "mlp": Component("sklearn.neural_network.MLPRegressor", mlp_params(),
                         cost=4, scale_sensitive=True, scale_target=True),
    }

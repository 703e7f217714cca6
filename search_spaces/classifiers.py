"""Classifier components of the default space, and parameter spaces shared with regressors.

Each model is a :class:`~automl.space.Component` referenced by import path (nothing is
imported until a pipeline is built), with the tags

``cost``
    1 (cheapest) .. 5 (most expensive), used to try cheap candidates first;
``native_categorical``
    the model handles categorical features itself (it accepts ``categorical_features``);
``native_missing``
    the model handles missing values itself (with ``impute="native"`` it receives NaN);
``preload``
    a module the search's workers import before their first trial (LightGBM's: its
    default configuration is the portfolio's first entry);
``scale_sensitive``
    the model's quality depends on the scale of its inputs.

The model's random seed and thread count are never searched: the builder sets them.
Boosters do not search their number of trees: they stop early on an inner validation
split, under a cap on the number of trees.

Examples
--------
>>> models = classifier_components()
>>> models["svc"].tags["cost"]
5
>>> "random_state" in models["random_forest"].params
False
"""

from __future__ import annotations

from typing import Any

from automl.space import Categorical, Choice, Component, Constant, Float, Int

__all__ = [
    "classifier_components",
    "forest_params",
    "hist_gb_params",
    "knn_params",
    "lightgbm_params",
    "mlp_params",
    "svm_kernel",
    "xgboost_params",
]


def lightgbm_params() -> dict[str, Any]:
    """LightGBM hyperparameters (ranges after the usual tuning literature)."""
    return {
        "learning_rate": Float(0.01, 0.3, log=True, default=0.1),
        "num_leaves": Int(4, 256, log=True, default=31),
        "min_child_samples": Int(2, 100, log=True, default=20),
        "colsample_bytree": Float(0.3, 1.0, default=1.0),
        "subsample": Float(0.5, 1.0, default=1.0),
        "reg_alpha": Float(1e-8, 10.0, log=True, default=1e-8),
        "reg_lambda": Float(1e-8, 10.0, log=True, default=1e-8),
    }


def xgboost_params() -> dict[str, Any]:
    """XGBoost hyperparameters (ranges after the usual tuning literature)."""
    return {
        "learning_rate": Float(0.01, 0.3, log=True, default=0.1),
        "max_depth": Int(2, 10, default=6),
        "min_child_weight": Float(0.1, 50.0, log=True, default=1.0),
        "colsample_bytree": Float(0.3, 1.0, default=1.0),
        "subsample": Float(0.5, 1.0, default=1.0),
        "reg_alpha": Float(1e-8, 10.0, log=True, default=1e-8),
        "reg_lambda": Float(1e-3, 10.0, log=True, default=1.0),
    }


def hist_gb_params() -> dict[str, Any]:
    """HistGradientBoosting hyperparameters, with its own early stopping switched on."""
    return {
        "learning_rate": Float(0.01, 0.3, log=True, default=0.1),
        "max_leaf_nodes": Int(4, 128, log=True, default=31),
        "min_samples_leaf": Int(2, 100, log=True, default=20),
        "l2_regularization": Float(1e-8, 10.0, log=True, default=1e-8),
        "max_features": Float(0.3, 1.0, default=1.0),
        "early_stopping": Constant(True),
        "max_iter": Constant(1000),
        "n_iter_no_change": Constant(20),
        "validation_fraction": Constant(0.1),
    }


def forest_params(criteria: list[str] | None = None) -> dict[str, Any]:
    """Random forest / extra-trees hyperparameters; ``max_features`` is a fraction."""
    return {
        "n_estimators": Constant(100),
        **({"criterion": Categorical(criteria)} if criteria else {}),
        "max_features": Float(0.05, 1.0, log=True, default=0.2),
        "min_samples_leaf": Int(1, 20, log=True, default=1),
        "min_samples_split": Int(2, 20, log=True, default=2),
        "bootstrap": Categorical([True, False]),
    }


def knn_params() -> dict[str, Any]:
    """k-nearest-neighbour hyperparameters (the builder caps k by the number of rows)."""
    return {
        "n_neighbors": Int(1, 100, log=True, default=10),
        "weights": Categorical(["uniform", "distance"], default="distance"),
        "p": Categorical([2, 1]),
    }


def mlp_params() -> dict[str, Any]:
    """One-hidden-layer MLP hyperparameters, with early stopping and an epoch cap."""
    return {
        "hidden_layer_sizes": Int(16, 512, log=True, default=100),
        "activation": Categorical(["relu", "tanh"]),
        "alpha": Float(1e-7, 1e-1, log=True, default=1e-4),
        "learning_rate_init": Float(1e-4, 1e-1, log=True, default=1e-3),
        "early_stopping": Constant(True),
        "max_iter": Constant(200),
    }


def svm_kernel() -> Choice:
    """The kernel of SVC and SVR, with its gamma where it has one."""
    return Choice({
        "rbf": {"gamma": Float(1e-4, 10.0, log=True, default=0.05)},
        # no polynomial kernel: libsvm can take minutes to converge on it (measured:
        # 37 s on 500 rows for degree 2, C=13), which no trial budget can afford
        "linear": None,
    })


def classifier_components() -> dict[str, Component]:
    """One component per classifier, in default-first order.

    Returns
    -------
    dict
        Name -> :class:`~automl.space.Component`.

    Examples
    --------
    >>> sorted(classifier_components())[:3]
    ['extra_trees', 'hist_gb', 'knn']
    """
    return {
        "lightgbm": Component("automl.components.EarlyStoppedLGBMClassifier", lightgbm_params(),
                              cost=2, native_categorical=True, native_missing=True, refit_cost=2.0,
                              preload="lightgbm"),
        "xgboost": Component("automl.components.EarlyStoppedXGBClassifier", xgboost_params(),
                             cost=3, native_categorical=True, native_missing=True, refit_cost=2.0),
        "hist_gb": Component("sklearn.ensemble.HistGradientBoostingClassifier", hist_gb_params(),
                             cost=2, native_categorical=True, native_missing=True),
        "random_forest": Component("sklearn.ensemble.RandomForestClassifier",
                                   forest_params(["gini", "entropy"]), cost=3, native_missing=True),
        "extra_trees": Component("sklearn.ensemble.ExtraTreesClassifier",
                                 forest_params(["gini", "entropy"]), cost=2, native_missing=True),
        "logreg": Component("automl.components.PenalizedLogisticRegression", {
            "C": Float(1e-3, 1e3, log=True, default=1.0),
            "penalty": Choice({"l2": None, "l1": None,
                               "elasticnet": {"l1_ratio": Float(0.05, 0.95)}}),
        }, cost=1, scale_sensitive=True),
        "svc": Component("automl.components.ProbabilisticSVC", {
            "C": Float(1e-2, 1e3, log=True, default=1.0),
            "kernel": svm_kernel(),
            "cache_size": Constant(500),
            "max_iter": Constant(100_000),  # bounds libsvm on unscaled data
        }, cost=5, scale_sensitive=True),
        "knn": Component("sklearn.neighbors.KNeighborsClassifier", knn_params(),
                         cost=2, scale_sensitive=True),
        "mlp": Component("sklearn.neural_network.MLPClassifier", mlp_params(),
                         cost=4, scale_sensitive=True),
        "naive_bayes": Component("sklearn.naive_bayes.GaussianNB", {
            "var_smoothing": Float(1e-12, 1e-1, log=True, default=1e-9),
        }, cost=1),
        "lda": Component("sklearn.discriminant_analysis.LinearDiscriminantAnalysis", {
            "solver": Constant("lsqr"),
            "shrinkage": Float(1e-4, 1.0, log=True, default=0.01),
        }, cost=1),
    }

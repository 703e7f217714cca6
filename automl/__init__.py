"""automl: AutoML that treats the choice of algorithm as one more hyperparameter.

The estimators are imported on first use, so that ``import automl.space`` or
``import automl.tpe`` stays free of scikit-learn and pandas.

Examples
--------
>>> from automl import AutoClassifier
>>> AutoClassifier(time_budget=30).time_budget
30
"""

from typing import Any

from automl.space import Categorical, Choice, Component, Constant, Float, Int, Space

__version__ = "0.1.0"

__all__ = [
    "AutoClassifier",
    "AutoRegressor",
    "Categorical",
    "Choice",
    "Component",
    "Constant",
    "Float",
    "Int",
    "Space",
    "__version__",
    "load",
    "save",
]

_LAZY = {"AutoClassifier": "automl.estimators", "AutoRegressor": "automl.estimators",
         "save": "automl.persist", "load": "automl.persist"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

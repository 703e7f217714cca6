"""The default search spaces of automl, written in the space language.

A default space has one top-level choice per preprocessing step (``impute``, ``scale``,
``encode``, ``select``) beside the algorithm choice ``model``. Estimators are referenced by
import path, so importing this package imports neither scikit-learn, LightGBM nor XGBoost.

Examples
--------
>>> import numpy as np
>>> space = default_space("binary")
>>> list(space.params)
['impute', 'scale', 'encode', 'select', 'model']
>>> config = space.sample(np.random.default_rng(0))
>>> space.validate(config)
"""

from __future__ import annotations

from automl.space import Branch, Choice, Component, Space
from search_spaces.classifiers import classifier_components
from search_spaces.preprocessing import STEP_KEYS, TASKS, _check_task, preprocessing_params
from search_spaces.regressors import regressor_components

__all__ = [
    "STEP_KEYS",
    "TASKS",
    "classification_space",
    "default_space",
    "regression_space",
    "with_component",
]


def classification_space() -> Space:
    """The default space for binary and multiclass classification.

    Examples
    --------
    >>> "svc" in classification_space().algorithms
    True
    """
    params = preprocessing_params("binary")
    params["model"] = Choice(classifier_components())
    return Space(params)


def regression_space() -> Space:
    """The default space for regression.

    Examples
    --------
    >>> "ridge" in regression_space().algorithms
    True
    """
    params = preprocessing_params("regression")
    params["model"] = Choice(regressor_components())
    return Space(params)


def default_space(task: str) -> Space:
    """The default space for ``task``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        Binary and multiclass classification share one space.

    Examples
    --------
    >>> default_space("multiclass") == default_space("binary")
    True
    """
    _check_task(task)
    return regression_space() if task == "regression" else classification_space()


def with_component(space: Space, name: str, component: Component, key: str = "model",
                   replace: bool = False) -> Space:
    """A copy of ``space`` with one more option ``name`` at the top-level choice ``key``.

    Use it to add an estimator of your own (any scikit-learn compatible class, or its
    import path) with the space of its parameters; ``key`` can also name a
    preprocessing step (for example ``"scale"``).

    Parameters
    ----------
    space : Space
    name : str
        The new option's name (``"model"`` options are algorithm names).
    component : Component
        The estimator and its parameters; give models a ``cost`` tag (1..5).
    key : str, default="model"
        The top-level choice to extend.
    replace : bool, default=False
        Allow replacing an existing option of the same name.

    Examples
    --------
    >>> from automl.space import Float
    >>> space = with_component(default_space("binary"), "ridge_clf",
    ...     Component("sklearn.linear_model.RidgeClassifier",
    ...               {"alpha": Float(1e-3, 1e3, log=True)}, cost=1))
    >>> space.algorithms[-1]
    'ridge_clf'
    """
    node = space.params.get(key)
    if not isinstance(node, Choice):
        choices = [k for k, v in space.params.items() if isinstance(v, Choice)]
        raise ValueError(f"key must name a top-level Choice of the space, one of {choices}; "
                         f"got {key!r}.")
    if not isinstance(component, Branch):
        raise TypeError("component must be an automl.space.Component (an estimator and its "
                        f"parameters); got {type(component).__name__}.")
    if name in node.options and not replace:
        raise ValueError(f"{key!r} already has an option {name!r}; choose another name or pass "
                         "replace=True.")
    options = dict(node.options)
    options[name] = component
    params = dict(space.params)
    params[key] = Choice(options, node._default)
    return Space(params, space.algorithm_key)

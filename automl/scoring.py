"""Metrics: names, directions, and scoring of stored out-of-fold predictions.

Every trial stores its predictions, not a fitted model, so a metric here scores
*predictions*: for classification an ``(n_samples, n_classes)`` array of class
probabilities (columns in the order of the encoded classes ``0 .. k-1``), for
regression an ``(n_samples,)`` array of values. Each :class:`Metric` knows its
direction and whether it needs probabilities; :meth:`Metric.loss` turns a score into a
value where lower is better, which is what the optimizer minimises.

A metric can be given as

- a name (see :func:`available_metrics`), e.g. ``"roc_auc"``, ``"log_loss"``, ``"rmse"``;
- the name of any scikit-learn scorer (``"neg_brier_score"``) or a scorer object made
  with :func:`sklearn.metrics.make_scorer` (greater is better, by sklearn's convention);
- a :class:`Metric` built with :func:`make_metric`;
- a plain callable ``f(y_true, y_pred) -> float``, taken as greater-is-better and
  given predicted labels (classification) or values (regression).

Examples
--------
>>> import numpy as np
>>> m = get_metric("log_loss", "binary")
>>> m.needs_proba, m.greater_is_better
(True, False)
>>> y = np.array([0, 1, 1, 0])
>>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
>>> round(get_metric("roc_auc", "binary").score(y, proba), 3)
1.0
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["Metric", "available_metrics", "default_metric", "get_metric", "make_metric"]

TASKS = ("binary", "multiclass", "regression")

ScoreFunc = Callable[..., float]


@dataclass(frozen=True)
class Metric:
    """A metric over stored predictions.

    Parameters
    ----------
    name : str
        Display name.
    func : callable
        ``func(y_true, y_pred, sample_weight=None) -> float``. ``y_true`` holds encoded
        classes ``0 .. k-1`` (classification) or floats (regression). ``y_pred`` is what
        :meth:`prepare` makes of the stored predictions.
    greater_is_better : bool
        Direction of the score.
    needs_proba : bool
        True if the metric reads probabilities, False if it reads predicted labels.
        Ignored for regression.
    tasks : tuple of str
        Tasks the metric applies to.

    Examples
    --------
    >>> import numpy as np
    >>> m = make_metric(lambda y, p, sample_weight=None: float(np.mean(y == p)), name="acc")
    >>> m.loss(0.75)
    -0.75
    """

    name: str
    func: ScoreFunc
    greater_is_better: bool = True
    needs_proba: bool = False
    tasks: tuple[str, ...] = TASKS

    def prepare(self, y_pred: np.ndarray) -> np.ndarray:
        """Probabilities -> labels when the metric reads labels; else unchanged."""
        y_pred = np.asarray(y_pred)
        if y_pred.ndim == 2 and not self.needs_proba:
            return np.argmax(y_pred, axis=1)
        return y_pred

    def score(self, y_true: np.ndarray, y_pred: np.ndarray,
              sample_weight: np.ndarray | None = None) -> float:
        """The metric in its natural direction."""
        return float(self.func(np.asarray(y_true), self.prepare(y_pred), sample_weight=sample_weight))

    def loss(self, score: float) -> float:
        """A score turned so that lower is better (``-score`` if greater is better)."""
        return -float(score) if self.greater_is_better else float(score)


def make_metric(func: ScoreFunc, *, greater_is_better: bool = True, needs_proba: bool = False,
                name: str | None = None) -> Metric:
    """Wrap a score function ``func(y_true, y_pred[, sample_weight])`` as a :class:`Metric`.

    Examples
    --------
    >>> from sklearn.metrics import mean_absolute_error
    >>> m = make_metric(mean_absolute_error, greater_is_better=False)
    >>> m.score([1.0, 2.0], [1.0, 4.0])
    1.0
    """
    takes_weight = _accepts_sample_weight(func)

    def wrapped(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        if takes_weight:
            return func(y_true, y_pred, sample_weight=sample_weight)
        return func(y_true, y_pred)

    label = name or getattr(func, "__name__", type(func).__name__)
    return Metric(label, wrapped, greater_is_better, needs_proba)


def _accepts_sample_weight(func: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "sample_weight" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


# ---------------------------------------------------------------------------------------
# built-in score functions over encoded labels / probabilities


def _roc_auc(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Binary ROC AUC, or one-vs-rest macro ROC AUC over the classes present in ``y``."""
    if proba.ndim == 1 or proba.shape[1] == 2:
        positive = proba if proba.ndim == 1 else proba[:, 1]
        return skm.roc_auc_score(y, positive, sample_weight=sample_weight)
    present = [c for c in range(proba.shape[1]) if 0 < np.sum(y == c) < len(y)]
    if not present:
        raise ValueError("roc_auc needs at least two classes among the rows scored; got one.")
    return float(np.mean([skm.roc_auc_score(y == c, proba[:, c], sample_weight=sample_weight)
                          for c in present]))


def _log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return skm.log_loss(y, proba, sample_weight=sample_weight, labels=np.arange(proba.shape[1]))


def _average_precision(y: np.ndarray, proba: np.ndarray,
                       sample_weight: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2:
        return skm.average_precision_score(y, proba[:, 1], sample_weight=sample_weight)
    onehot = np.eye(proba.shape[1])[y]
    present = onehot.sum(axis=0) > 0
    return skm.average_precision_score(onehot[:, present], proba[:, present],
                                       average="macro", sample_weight=sample_weight)


def _brier(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    onehot = np.eye(proba.shape[1])[y]
    per_row = np.sum((proba - onehot) ** 2, axis=1)
    return float(np.average(per_row, weights=sample_weight))


def _f1(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """F1 of class 1 for binary targets, macro F1 otherwise."""
    binary = max(int(np.max(y, initial=0)), int(np.max(pred, initial=0))) <= 1
    return skm.f1_score(y, pred, average="binary" if binary else "macro", sample_weight=sample_weight,
                        zero_division=0)


def _f1_avg(average: str) -> ScoreFunc:
    def f1(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        return skm.f1_score(y, pred, average=average, sample_weight=sample_weight, zero_division=0)
    return f1


def _rmse(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return skm.root_mean_squared_error(y, pred, sample_weight=sample_weight)


_CLASSIFICATION = ("binary", "multiclass")
_REGRESSION = ("regression",)

_BUILTIN: dict[str, Metric] = {m.name: m for m in [
    Metric("roc_auc", _roc_auc, True, True, _CLASSIFICATION),
    Metric("log_loss", _log_loss, False, True, _CLASSIFICATION),
    Metric("brier", _brier, False, True, _CLASSIFICATION),
    Metric("average_precision", _average_precision, True, True, _CLASSIFICATION),
    Metric("accuracy", skm.accuracy_score, True, False, _CLASSIFICATION),
    Metric("balanced_accuracy", skm.balanced_accuracy_score, True, False, _CLASSIFICATION),
    Metric("f1", _f1, True, False, _CLASSIFICATION),
    Metric("f1_macro", _f1_avg("macro"), True, False, _CLASSIFICATION),
    Metric("f1_weighted", _f1_avg("weighted"), True, False, _CLASSIFICATION),
    Metric("mcc", skm.matthews_corrcoef, True, False, _CLASSIFICATION),
    Metric("rmse", _rmse, False, False, _REGRESSION),
    Metric("mse", skm.mean_squared_error, False, False, _REGRESSION),
    Metric("mae", skm.mean_absolute_error, False, False, _REGRESSION),
    Metric("median_ae", lambda y, p, sample_weight=None: skm.median_absolute_error(
        y, p, sample_weight=sample_weight), False, False, _REGRESSION),
    Metric("mape", skm.mean_absolute_percentage_error, False, False, _REGRESSION),
    Metric("r2", skm.r2_score, True, False, _REGRESSION),
]}

_DEFAULTS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def available_metrics(task: str | None = None) -> list[str]:
    """Names of the built-in metrics, for one task or all.

    Examples
    --------
    >>> "rmse" in available_metrics("regression")
    True
    """
    return sorted(n for n, m in _BUILTIN.items() if task is None or task in m.tasks)


def default_metric(task: str) -> str:
    """The default metric name: roc_auc (binary), log_loss (multiclass), rmse (regression).

    Examples
    --------
    >>> default_metric("multiclass")
    'log_loss'
    """
    _check_task(task)
    return _DEFAULTS[task]


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")


# ---------------------------------------------------------------------------------------
# sklearn scorers over stored predictions


class _StoredPredictions(BaseEstimator):
    """Stands in for a fitted model so that a sklearn scorer can read stored predictions."""

    def __init__(self, predictions: np.ndarray | None = None) -> None:
        self.predictions = predictions

    def predict(self, X: Any) -> np.ndarray:
        p = self.predictions
        return np.argmax(p, axis=1) if p.ndim == 2 else p

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.predictions

    def decision_function(self, X: Any) -> np.ndarray:
        p = self.predictions
        return p[:, 1] if p.shape[1] == 2 else p


class _StoredClassifier(ClassifierMixin, _StoredPredictions):
    def __init__(self, predictions: np.ndarray | None = None) -> None:
        super().__init__(predictions)
        self.classes_ = np.arange(predictions.shape[1]) if predictions is not None else None


class _StoredRegressor(RegressorMixin, _StoredPredictions):
    pass


def _from_scorer(scorer: Any, name: str) -> Metric:
    """A sklearn scorer (greater is better by convention) as a :class:`Metric`."""

    def func(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        model = _StoredClassifier(y_pred) if y_pred.ndim == 2 else _StoredRegressor(y_pred)
        dummy_X = np.zeros((len(y_true), 1))
        if sample_weight is None:
            return float(scorer(model, dummy_X, y_true))
        return float(scorer(model, dummy_X, y_true, sample_weight=sample_weight))

    return Metric(name, func, greater_is_better=True, needs_proba=True)


def _is_sklearn_scorer(obj: Any) -> bool:
    if any(cls.__name__ == "_BaseScorer" for cls in type(obj).__mro__):
        return True
    try:
        first = next(iter(inspect.signature(obj).parameters), None)
    except (TypeError, ValueError):
        return False
    return first == "estimator"


def get_metric(metric: str | Metric | Callable[..., float] | None, task: str) -> Metric:
    """Resolve a metric specification for a task.

    Parameters
    ----------
    metric : str, Metric, sklearn scorer, callable or None
        None gives the task's default (see :func:`default_metric`).
    task : {"binary", "multiclass", "regression"}

    Raises
    ------
    ValueError
        If the name is unknown or the metric does not apply to the task.

    Examples
    --------
    >>> get_metric(None, "regression").name
    'rmse'
    >>> get_metric("neg_brier_score", "binary").greater_is_better
    True
    """
    _check_task(task)
    if metric is None:
        return _BUILTIN[_DEFAULTS[task]]
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        return _metric_by_name(metric, task)
    if callable(metric):
        if _is_sklearn_scorer(metric):
            return _from_scorer(metric, getattr(metric, "__name__", repr(metric)))
        return make_metric(metric)
    raise TypeError(
        f"metric must be a metric name, a sklearn scorer, a callable or None; got "
        f"{type(metric).__name__} {metric!r}. Known names: {available_metrics(task)}."
    )


def _metric_by_name(name: str, task: str) -> Metric:
    if name in _BUILTIN:
        found = _BUILTIN[name]
        if task not in found.tasks:
            raise ValueError(
                f"metric {name!r} does not apply to a {task} task. Use one of "
                f"{available_metrics(task)}."
            )
        return found
    if name in skm.get_scorer_names():
        return _from_scorer(skm.get_scorer(name), name)
    raise ValueError(
        f"Unknown metric {name!r}. Use one of {available_metrics(task)}, a scikit-learn "
        "scorer name (sklearn.metrics.get_scorer_names()), a scorer or a callable."
    )

"""One trial: build the pipeline of a configuration and cross-validate it.

The functions here run inside worker processes. Their arguments stay small: the data,
the folds, the space and the metric are written once per run to a temporary file
(:class:`SharedTrialData`), and each worker loads that file once and keeps it for every
later trial of the run (:func:`load_trial_data`). A trial therefore ships only its path,
its configuration and its seed.

Examples
--------
>>> import numpy as np, pandas as pd
>>> y = np.array([0, 1] * 10)
>>> folds = make_folds(y, "binary", cv=5, random_state=0)
>>> len(folds), sorted(np.concatenate([test for _, test in folds])) == list(range(20))
(5, True)
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from automl._worker_main import load_cloudpickle
from automl.builder import ColumnInfo, build_pipeline
from automl.components import EarlyStoppedBooster
from automl.racing import KILL_MARGIN, Extension, KeepFoldModels, folds_end_by
from automl.scoring import Metric
from automl.space import Space

__all__ = [
    "CVResult",
    "SharedTrialData",
    "TrialData",
    "evaluate_config",
    "fit_final",
    "load_trial_data",
    "make_folds",
    "unpack_models",
]

Fold = tuple[np.ndarray, np.ndarray]
StopRule = Callable[[int, float], bool]


@dataclass
class TrialData:
    """Everything a trial needs besides its configuration; one per run.

    Attributes
    ----------
    X : pandas.DataFrame
        The cleaned training data.
    y : numpy.ndarray
        Encoded classes ``0 .. k-1`` (classification) or floats (regression).
    folds : list of (train indices, test indices)
        The same folds for every trial of the run.
    space : Space
    columns : ColumnInfo
    task : {"binary", "multiclass", "regression"}
    metric : Metric
    n_classes : int
        0 for regression.
    sample_weight : numpy.ndarray or None
    subsample_folds : list of (train indices, test indices) or None
        The folds with a subsample of their training rows, for successive halving on
        large data (:mod:`automl.halving`); None when halving is not used.
    """

    X: pd.DataFrame
    y: np.ndarray
    folds: list[Fold]
    space: Space
    columns: ColumnInfo
    task: str
    metric: Metric
    n_classes: int = 0
    sample_weight: np.ndarray | None = None
    subsample_folds: list[Fold] | None = None


@dataclass
class CVResult:
    """What one cross-validated trial returns.

    ``loss`` is lower-is-better; ``score`` is the mean fold score in the metric's natural
    direction; ``oof`` holds the out-of-fold predictions, rows in the original order
    (probabilities ``(n, k)`` for classification, values ``(n,)`` for regression; NaN for
    rows no fold scored, or that a pruned trial never reached). ``status`` is "ok" or
    "pruned" (stopped after a fold by the stop rule). With successive halving
    (:mod:`automl.halving`), ``stage`` is "subsample" when the scores come from the
    subsample stage only (the trial went no further), and ``subsample_fold_scores`` /
    ``subsample_score`` are the subsample stage's fold scores and their mean ([] / NaN
    without a subsample stage).
    """

    loss: float
    score: float
    fold_scores: list[float]
    oof: np.ndarray
    duration: float
    status: str = "ok"
    error: str | None = None
    fit_times: list[float] = field(default_factory=list)
    stage: str = "full"
    subsample_score: float = math.nan
    subsample_fold_scores: list[float] = field(default_factory=list)
    models: tuple[bytes, ...] | None = None


# ---------------------------------------------------------------------------------------
# folds


def make_folds(y: np.ndarray, task: str, cv: Any = 5, random_state: int | None = None) -> list[Fold]:
    """Materialise the folds of a run once, so every trial uses the same ones.

    Parameters
    ----------
    y : array
        Encoded target.
    task : {"binary", "multiclass", "regression"}
    cv : int, splitter or iterable of (train, test)
        An int gives shuffled folds, stratified for classification.
    random_state : int or None
        Seeds the shuffling of an int ``cv``.

    Examples
    --------
    >>> import numpy as np
    >>> folds = make_folds(np.arange(9.0), "regression", cv=3, random_state=1)
    >>> [len(test) for _, test in folds]
    [3, 3, 3]
    """
    dummy = np.zeros((len(y), 1))
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        kind = KFold if task == "regression" else StratifiedKFold
        splitter = kind(n_splits=int(cv), shuffle=True, random_state=random_state)
        splits = splitter.split(dummy, y)
    elif hasattr(cv, "split"):
        splits = cv.split(dummy, y)
    else:
        splits = cv
    return [(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in splits]


# ---------------------------------------------------------------------------------------
# sharing the data with the workers


class SharedTrialData:
    """Write a :class:`TrialData` to a private temporary folder; remove it on close.

    Examples
    --------
    >>> with SharedTrialData(data) as shared:            # doctest: +SKIP
    ...     pool.submit(evaluate_config, shared.path, config, seed=1)
    """

    def __init__(self, data: TrialData) -> None:
        self._folder = tempfile.mkdtemp(prefix="automl-")
        self.path = os.path.join(self._folder, "trial_data.pkl")
        try:
            with open(self.path, "wb") as handle:
                load_cloudpickle().dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:   # Ctrl-C mid-dump must not leak the folder
            self.close()
            raise

    def close(self) -> None:
        """Delete the file and its folder."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> "SharedTrialData":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LOADED: dict[str, TrialData] = {}


def load_trial_data(path: str) -> TrialData:
    """Load the run's data, once per process (later calls return the cached object)."""
    if path not in _LOADED:
        with open(path, "rb") as handle:
            data = pickle.load(handle)
        _LOADED.clear()
        _LOADED[path] = data
    return _LOADED[path]


# ---------------------------------------------------------------------------------------
# one trial


def _fit_kwargs(pipeline: Pipeline, sample_weight: np.ndarray | None) -> dict[str, Any]:
    """Route sample weights to the model step when its ``fit`` accepts them."""
    if sample_weight is None:
        return {}
    model = pipeline.steps[-1][1]
    if "sample_weight" in inspect.signature(model.fit).parameters:
        return {f"{pipeline.steps[-1][0]}__sample_weight": sample_weight}
    return {}


def _predict(pipeline: Pipeline, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """Probabilities over all ``n_classes`` (classification) or values (regression)."""
    if n_classes == 0:
        return np.asarray(pipeline.predict(X), dtype=float).ravel()
    fitted = np.asarray(pipeline.classes_).astype(np.intp)
    out = np.zeros((len(X), n_classes))
    if hasattr(pipeline, "predict_proba"):
        out[:, fitted] = pipeline.predict_proba(X)
    else:
        out[np.arange(len(X)), np.asarray(pipeline.predict(X)).astype(np.intp)] = 1.0
    return out


def _fit_predict_fold(data: TrialData, config: dict, fold: Fold, seed: int,
                      n_threads: int) -> tuple[np.ndarray, Pipeline]:
    train, test = fold
    pipeline = build_pipeline(config, data.space, data.columns, data.task, seed, n_threads)
    weight = None if data.sample_weight is None else data.sample_weight[train]
    pipeline.fit(data.X.iloc[train], data.y[train], **_fit_kwargs(pipeline, weight))
    pred = _predict(pipeline, data.X.iloc[test], data.n_classes)
    if not np.all(np.isfinite(pred)):
        raise ValueError(f"The pipeline predicted non-finite values on a fold of {len(test)} rows.")
    return pred, pipeline


def _pack_models(models: list[Pipeline], max_bytes: int, until: float | None) -> tuple[bytes, ...] | None:
    """The fold models, each pickled; None when they would take more than ``max_bytes``
    or end after ``until`` (wall clock: the pool kills the trial soon after), both judged
    from the first model before the others are pickled, or when they do not pickle."""
    try:
        tic = time.time()
        first = pickle.dumps(models[0], protocol=pickle.HIGHEST_PROTOCOL)
        seconds = time.time() - tic
        if len(first) * len(models) > max_bytes or \
                (until is not None and time.time() + 2 * seconds * (len(models) - 1) > until):
            return None
        packed = (first,) + tuple(pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL) for m in models[1:])
    except Exception:   # a user's component may not pickle: the trial's scores still count
        return None
    return packed if sum(len(p) for p in packed) <= max_bytes else None


def unpack_models(packed: tuple[bytes, ...]) -> list[Pipeline]:
    """The fold pipelines of :attr:`CVResult.models`."""
    return [pickle.loads(part) for part in packed]


def _out_of_time(deadline: float | None, fit_times: list[float], first_fold_time: float) -> bool:
    """True if the next fold would end after ``deadline`` (wall clock, ``time.time()``)."""
    return not folds_end_by(deadline, fit_times, 1, first_fold_time)


def cross_validate(data: TrialData, config: dict, *, seed: int, n_threads: int = 1,
                   should_stop: StopRule | None = None,
                   deadline: float | None = None, first_fold_time: float = 0.0,
                   extension: Extension | None = None,
                   keep: KeepFoldModels | None = None) -> CVResult:
    """Cross-validate one configuration on loaded data, fold after fold.

    ``should_stop(fold_index, mean_loss_so_far)`` is asked after each fold but the last;
    returning True stops the trial with status "pruned" (the seam for racing). A fold
    that would end after ``deadline`` (wall clock) is not started: the trial stops with
    status "timeout" and the folds done so far, unless ``extension``
    (:class:`automl.racing.Extension`) grants it its later deadline, once. The time of a
    fold is the mean of the folds done, or ``first_fold_time`` (an estimate, e.g. from a
    subsample) before any. With ``keep``, a trial stopped by the deadline after at least
    one fold returns its fold models (``models``) when ``keep.wants`` its fold losses.
    They are held only while the trial may be cut short: once its remaining folds are
    expected to end in time they are dropped (memory), and then none are returned.
    """
    start = time.perf_counter()
    shape = (len(data.y), data.n_classes) if data.n_classes else (len(data.y),)
    oof = np.full(shape, np.nan)
    scores: list[float] = []
    fit_times: list[float] = []
    models: list[Pipeline] | None = [] if keep is not None else None
    # the pool kills the trial at its (extended) limit, KILL_MARGIN after its deadline
    kill = None if deadline is None else \
        max(deadline, extension.deadline if extension is not None else deadline) + KILL_MARGIN
    status, error = "ok", None
    for i, fold in enumerate(data.folds):
        if _out_of_time(deadline, fit_times, first_fold_time):
            if extension is None or not extension.grants(
                    [data.metric.loss(x) for x in scores], fit_times, len(data.folds) - i):
                status, error = "timeout", f"stopped at the search deadline after {i} of {len(data.folds)} folds"
                break
            deadline, extension = extension.deadline, None   # granted, once
        tic = time.perf_counter()
        oof[fold[1]], model = _fit_predict_fold(data, config, fold, seed, n_threads)
        fit_times.append(time.perf_counter() - tic)
        if models is not None:
            models.append(model)
            if folds_end_by(deadline, fit_times, len(data.folds) - i - 1):
                models = None
        weight = None if data.sample_weight is None else data.sample_weight[fold[1]]
        scores.append(data.metric.score(data.y[fold[1]], oof[fold[1]], weight))
        mean_loss = data.metric.loss(float(np.mean(scores)))
        if should_stop is not None and i < len(data.folds) - 1 and should_stop(i, mean_loss):
            status = "pruned"
            break
    score = float(np.mean(scores)) if scores else math.nan
    packed = None
    if keep is not None and models and status == "timeout" \
            and keep.wants([data.metric.loss(x) for x in scores]):
        packed = _pack_models(models, keep.max_bytes, None if kill is None else kill - KILL_MARGIN / 2)
    return CVResult(data.metric.loss(score), score, scores, oof,
                    time.perf_counter() - start, status, error, fit_times, models=packed)


def evaluate_config(data_path: str, config: dict, *, seed: int, n_threads: int = 1,
                    should_stop: StopRule | None = None,
                    deadline: float | None = None, extension: Extension | None = None,
                    keep: KeepFoldModels | None = None) -> CVResult:
    """Worker entry point: load the run's data (cached) and cross-validate ``config``.

    Examples
    --------
    >>> result = evaluate_config(shared.path, config, seed=7)   # doctest: +SKIP
    >>> result.loss, result.fold_scores                          # doctest: +SKIP
    """
    with warnings.catch_warnings():   # a trial's warnings would spam the user's terminal
        warnings.simplefilter("ignore")
        return cross_validate(load_trial_data(data_path), config, seed=seed,
                              n_threads=n_threads, should_stop=should_stop, deadline=deadline,
                              extension=extension, keep=keep)


def fit_final(data_path: str, config: dict, *, seed: int, n_threads: int = 1,
              refit_boosters: bool = True) -> Pipeline:
    """Worker entry point: fit ``config``'s pipeline on all the training rows.

    With ``refit_boosters``, an early-stopped booster of ours is fitted again on all rows
    after finding its number of trees (``refit=True``, about twice the time); during
    cross-validation it is not, which halves its cost.
    """
    data = load_trial_data(data_path)
    pipeline = build_pipeline(config, data.space, data.columns, data.task, seed, n_threads)
    if refit_boosters and isinstance(pipeline[-1], EarlyStoppedBooster):
        pipeline[-1].set_params(refit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.fit(data.X, data.y, **_fit_kwargs(pipeline, data.sample_weight))


def fold_sizes(folds: Sequence[Fold]) -> tuple[float, float]:
    """Mean training-fold size and the full size, to scale fit times to a final refit."""
    n_train = float(np.mean([len(train) for train, _ in folds]))
    n_all = float(len(np.unique(np.concatenate([np.concatenate(f) for f in folds]))))
    return n_train, n_all

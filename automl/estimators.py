"""AutoClassifier and AutoRegressor: the scikit-learn estimators users meet.

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
>>> clf = AutoClassifier(time_budget=20, random_state=0).fit(X, y)   # doctest: +SKIP
>>> clf.leaderboard().head()                                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from automl.builder import describe_columns
from automl.evaluate import TrialData, make_folds
from automl.halving import HalvingSettings
from automl.scoring import Metric, get_metric
from automl.search import SearchCallback, SearchResult, SearchSettings, portfolio, run_search
from automl.space import Space
from automl.validation import validate_fit_input, validate_predict_input

__all__ = ["AutoClassifier", "AutoRegressor"]

_STREAM_FOLDS, _STREAM_SAMPLER = 1, 2
_ENSEMBLE_CANDIDATES = 20
_CAP_EXTENSION = 2.0    # the default trial cap stretches to twice itself for a trial that can finish


def _pool_factory() -> Any:
    """Dask workers when the user made a Dask backend current, else local processes."""
    from automl.dask_pool import DaskPool, active_dask_client
    from automl.workers import WorkerPool

    return WorkerPool if active_dask_client() is None else DaskPool


class _Finished(SearchCallback):
    """Keeps the record of every finished trial (to refit the best one after Ctrl-C)."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def on_trial_end(self, record: dict, result: Any) -> None:
        self.records.append(record)


class _NoNewTrials:
    """The sampler of a refit-only search: it is told the finished trials, proposes none."""

    def suggest(self, allowed: Any = None) -> dict:
        return {}

    def observe(self, config: Any, loss: float, status: str = "ok") -> None:
        """Nothing to learn: no trial follows."""

    def discard(self, config: Any) -> bool:
        """Nothing is pending: nothing to forget."""
        return False


def _interruptible_search(trial_data: TrialData, sampler: Any, settings: SearchSettings, *,
                          journal: Any = None, resume: Any = None,
                          load_oof: Any = None) -> SearchResult:
    """``run_search``; on a first Ctrl-C, stop searching and refit the best trial so far.

    The interrupted search has shut its workers down and removed its temporary folder
    (its ``with`` blocks) when the KeyboardInterrupt arrives here. The best successful
    trial (journal or memory) is then refit by a search that runs no new trial, without
    a time limit and without an ensemble, and a warning says so. A Ctrl-C during that
    refit, or one before any trial succeeded, propagates.
    """
    from automl.journal import JournalCallback, JournalState

    finished = _Finished()
    callbacks = [finished if journal is None else JournalCallback(journal, trial_data.space)]
    try:
        return run_search(trial_data, sampler, settings, pool_factory=_pool_factory(),
                          callbacks=callbacks, resume=resume, load_oof=load_oof)
    except KeyboardInterrupt:
        if journal is not None:
            done = journal.load()
            done.retry = []  # trials cut short stay "started": a later fit retries them
        else:
            ids = [record["trial_id"] for record in finished.records]
            done = JournalState(records=finished.records, next_trial_id=max(ids, default=-1) + 1)
        ok = [record for record in done.records if record["status"] == "ok"]
        if not ok:
            raise
        best = min(ok, key=lambda record: (record["loss"], record["trial_id"]))
        warnings.warn(
            f"fit was interrupted (KeyboardInterrupt) after {len(done.records)} finished "
            f"trials; no more trials are run and the best so far (trial {best['trial_id']}, "
            f"{best['algorithm']}, CV {settings.metric_name} {best['score']:.5g}) is refit on "
            "all rows, without an ensemble. Press Ctrl-C again to abort without a model.",
            UserWarning, stacklevel=3)
        refit = dataclasses.replace(settings, time_budget=None, n_trials=done.next_trial_id,
                                    ensemble_size=0)
        return run_search(trial_data, _NoNewTrials(), refit, pool_factory=_pool_factory(),
                          resume=done)


def _positive(value: Any, name: str, allow_none: bool, integer: bool = False) -> None:
    if value is None and allow_none:
        return
    kind = "whole number" if integer else "number"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or value <= 0:
        extra = " or None" if allow_none else ""
        unit = " of seconds" if "time" in name else (" of MB" if "memory" in name else "")
        raise ValueError(f"{name} must be a positive {kind}{unit}{extra}; got {value!r}.")


def _derived_seed(run_seed: int, stream: int) -> int:
    """A seed for one random stream of the run (folds, sampler), from the run seed."""
    return int(np.random.SeedSequence((run_seed, 0x5EED, stream)).generate_state(1)[0])


class _AutoMLBase(BaseEstimator):
    """Shared settings, validation, search and prediction of the two estimators."""

    _task_kind = "classification"
    _use_portfolio = True    # start from the built-in portfolio (automl.portfolio)
    _racing = True           # stop clearly worse trials after a fold (automl.racing)
    _halving: HalvingSettings | None = HalvingSettings()  # subsample first on large data

    def __init__(self, *, time_budget: float | None = 60.0, n_trials: int | None = None,
                 metric: Any = None, cv: Any = 5, n_jobs: int = 1,
                 per_trial_time_limit: float | None = None, memory_limit: float | None = None,
                 search_space: Space | None = None, include: list[str] | None = None,
                 exclude: list[str] | None = None, random_state: Any = None,
                 verbose: int = 0, ensemble: bool = True, storage: str | None = None) -> None:
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.cv = cv
        self.n_jobs = n_jobs
        self.per_trial_time_limit = per_trial_time_limit
        self.memory_limit = memory_limit
        self.search_space = search_space
        self.include = include
        self.exclude = exclude
        self.random_state = random_state
        self.verbose = verbose
        self.ensemble = ensemble
        self.storage = storage

    # -- step 1: settings -----------------------------------------------------------------
    def _check_params(self) -> None:
        _positive(self.time_budget, "time_budget", allow_none=True)
        _positive(self.n_trials, "n_trials", allow_none=True, integer=True)
        if self.time_budget is None and self.n_trials is None:
            raise ValueError("time_budget and n_trials are both None; set a time budget in "
                             "seconds, a number of trials, or both.")
        _positive(self.per_trial_time_limit, "per_trial_time_limit", allow_none=True)
        _positive(self.memory_limit, "memory_limit", allow_none=True)
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, numbers.Integral) \
                or self.n_jobs == 0:
            raise ValueError(f"n_jobs must be a positive integer, or -1 for all cores; got "
                             f"{self.n_jobs!r}.")
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral) \
                or self.verbose < 0:
            raise ValueError(f"verbose must be 0 (silent), 1 or 2; got {self.verbose!r}.")
        if not isinstance(self.ensemble, (bool, np.bool_)):
            raise ValueError(f"ensemble must be True or False; got {self.ensemble!r}.")
        if self.storage is not None and not isinstance(self.storage, (str, os.PathLike)):
            raise TypeError(f"storage must be a folder path or None; got "
                            f"{type(self.storage).__name__}.")
        if self.search_space is not None and not isinstance(self.search_space, Space):
            raise TypeError(f"search_space must be an automl.Space or None; got "
                            f"{type(self.search_space).__name__}.")
        self._check_cv()

    def _check_cv(self) -> None:
        cv = self.cv
        if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            if cv < 2:
                raise ValueError(f"cv must be at least 2 folds; got {cv!r}.")
        elif not (hasattr(cv, "split") or hasattr(cv, "__iter__")):
            raise ValueError(f"cv must be a number of folds, a splitter with .split(X, y) or a "
                             f"list of (train, test) index pairs; got {cv!r}.")

    def _n_workers(self) -> int:
        cores = os.cpu_count() or 1
        return int(self.n_jobs) if self.n_jobs > 0 else max(1, cores + 1 + int(self.n_jobs))

    def _run_seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.SeedSequence().generate_state(1)[0])
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool) and rs >= 0:
            return int(rs)
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**32))
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**32, dtype=np.int64))
        raise ValueError(f"random_state must be None, a non-negative integer or a numpy "
                         f"Generator/RandomState; got {rs!r}.")

    # -- step 2: data ---------------------------------------------------------------------
    def _task(self, n_classes: int) -> str:
        if self._task_kind == "regression":
            return "regression"
        return "binary" if n_classes == 2 else "multiclass"

    def _space(self, task: str) -> Space:
        if self.search_space is not None:
            space = self.search_space
        else:
            from search_spaces import default_space
            space = default_space(task)
        if self.include is None and self.exclude is None:
            return space
        return space.restrict(include=self.include, exclude=self.exclude)

    # -- fit --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_AutoMLBase":
        """Search for the best pipeline within the budget and refit it on all of X, y.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Used when fitting models that accept it and when scoring folds.

        Returns
        -------
        self

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) during the search stops it: running trials are
        abandoned, the workers and temporary files are cleaned up, and, if a trial
        succeeded, the best one so far is refit on all rows (no ensemble, no time limit)
        and ``fit`` returns ``self`` with a ``UserWarning``. A second Ctrl-C, or the first
        one before any trial succeeded, re-raises KeyboardInterrupt after the same
        cleanup. With ``storage``, the journal stays consistent and fitting again resumes
        (the trials cut short are retried once).
        """
        self._check_params()
        data = validate_fit_input(X, y, task=self._task_kind, sample_weight=sample_weight,
                                  estimator_name=type(self).__name__)
        n_classes = 0 if self._task_kind == "regression" else len(data.classes_)
        task = self._task(n_classes)
        metric = get_metric(self.metric, task)
        space = self._space(task)
        run_seed = self._run_seed()
        folds = make_folds(data.y, task, self.cv, _derived_seed(run_seed, _STREAM_FOLDS))
        trial_data = TrialData(data.X, data.y, folds, space, describe_columns(data.X), task,
                               metric, n_classes, data.sample_weight)
        sampler, settings = self._sampler(space, task, run_seed), self._settings(metric, run_seed)
        if self.storage is None:
            result = _interruptible_search(trial_data, sampler, settings)
        else:
            result = self._search_with_journal(trial_data, sampler, settings, metric)
        self._set_fitted(data, task, metric, space, result)
        return self

    def _search_with_journal(self, trial_data: TrialData, sampler: Any,
                             settings: SearchSettings, metric: Metric) -> Any:
        """Run the search with every trial journaled in ``storage``, resuming what is there.

        A resumed run uses the run seed stored in the journal, so that a run with
        ``random_state=None`` (or a Generator) continues with the folds, sampler stream and
        trial seeds it began with.
        """
        from automl.journal import Journal, make_fingerprint

        fingerprint = make_fingerprint(trial_data.X, trial_data.y, space=trial_data.space,
                                       task=trial_data.task, metric=metric.name, cv=self.cv,
                                       random_state=self.random_state)
        with Journal(self.storage, fingerprint, run_seed=settings.run_seed) as journal:
            seed = journal.run_seed
            if seed is not None and seed != settings.run_seed:
                folds = make_folds(trial_data.y, trial_data.task, self.cv,
                                   _derived_seed(seed, _STREAM_FOLDS))
                trial_data = dataclasses.replace(trial_data, folds=folds)
                sampler = self._sampler(trial_data.space, trial_data.task, seed)
                settings = dataclasses.replace(settings, run_seed=seed)

            def load_oof(trial_id: int) -> np.ndarray | None:
                try:
                    return journal.load_array(trial_id)
                except (OSError, ValueError):
                    return None

            return _interruptible_search(trial_data, sampler, settings, journal=journal,
                                         resume=journal.load(), load_oof=load_oof)

    def _sampler(self, space: Space, task: str, run_seed: int) -> Any:
        """TPE, started from the built-in portfolio (or cheap defaults if none fits)."""
        from automl.portfolio import load_portfolio
        from automl.tpe import TPESampler

        startup = (load_portfolio(space, task, warn=self.search_space is None)
                   if self._use_portfolio else [])
        return TPESampler(space, seed=_derived_seed(run_seed, _STREAM_SAMPLER),
                          startup_configs=startup or portfolio(space))

    def _settings(self, metric: Metric, run_seed: int) -> SearchSettings:
        budget = None if self.time_budget is None else float(self.time_budget)
        limit = self.per_trial_time_limit
        if limit is None and budget is not None:
            limit = budget / 4.0
        return SearchSettings(budget, self.n_trials, self._n_workers(), limit, self.memory_limit,
                              run_seed, int(self.verbose), metric.name,
                              ensemble_size=_ENSEMBLE_CANDIDATES if self.ensemble else 0,
                              racing=self._racing, halving=self._halving,
                              keep_cut_short=bool(self.ensemble),
                              cap_extension=_CAP_EXTENSION if self.per_trial_time_limit is None else 1.0)

    def _set_fitted(self, data: Any, task: str, metric: Metric, space: Space, result: Any) -> None:
        self.task_ = task
        self.metric_name_ = metric.name
        self.search_space_ = space
        self.best_pipeline_ = result.pipeline
        self.ensemble_ = result.ensemble
        self.ensemble_members_ = list(result.ensemble_members)
        self.model_ = result.pipeline if result.ensemble is None else result.ensemble
        self.best_config_ = result.best["config"]
        self.best_score_ = result.best["score"]
        self.best_algorithm_ = result.best["algorithm"]
        self.trials_ = result.trials
        self.fit_time_ = result.duration
        self.schema_ = data.schema
        self.n_features_in_ = int(data.schema["n_features"])
        if data.schema.get("feature_names_in") is not None:
            self.feature_names_in_ = np.asarray(data.schema["feature_names_in"], dtype=object)
        if self._task_kind == "classification":
            self.classes_ = data.classes_

    # -- results ----------------------------------------------------------------------------
    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: algorithm, config, CV score mean/std, time, status.

        Examples
        --------
        >>> clf.leaderboard()[["algorithm", "score", "status"]].head(3)   # doctest: +SKIP
        """
        check_is_fitted(self, "trials_")
        rows = [{
            "trial_id": t["trial_id"], "algorithm": t["algorithm"], "score": t["score"],
            "score_std": float(np.std(t["fold_scores"])) if t["fold_scores"] else math.nan,
            "loss": t["loss"], "duration": t["duration"], "status": t["status"],
            "error": t["error"], "config": t["config"],
        } for t in self.trials_]
        board = pd.DataFrame(rows)
        order = board.assign(_failed=board["status"] != "ok").sort_values(
            ["_failed", "loss", "trial_id"], na_position="last").index
        return board.loc[order].reset_index(drop=True)

    def summary(self) -> str:
        """A few lines: task, metric, best score and algorithm, trials by status."""
        check_is_fitted(self, "trials_")
        counts = pd.Series([t["status"] for t in self.trials_]).value_counts().to_dict()
        ensemble = ""
        if self.ensemble_ is not None:
            parts = ", ".join(f"trial {i} x {w:.2f}" for i, w in self.ensemble_members_)
            ensemble = f"\npredictions from an ensemble of {len(self.ensemble_members_)}: {parts}"
        return (f"{type(self).__name__} ({self.task_}), {len(self.trials_)} trials {counts} in "
                f"{self.fit_time_:.1f} s\nbest CV {self.metric_name_}: {self.best_score_:.5g} "
                f"({self.best_algorithm_}){ensemble}\n{self.best_pipeline_}")

    def export_python(self, path: str | os.PathLike, *, target: str = "target",
                      id_column: str | None = None) -> str:
        """Write a standalone Python script that rebuilds and fits this model from CSV files.

        The script imports scikit-learn, LightGBM, XGBoost, numpy and pandas only (our own
        small components are inlined), uses the same hyperparameters and seeds, and fits
        the final model (the ensemble if one was chosen, else ``best_pipeline_``) on a
        training CSV, then writes predictions for a test CSV.

        Parameters
        ----------
        path : str or PathLike
            The script to write.
        target : str, default="target"
            Name of the target column in the training CSV.
        id_column : str, optional
            A column of the test CSV copied into the predictions.

        Returns
        -------
        str
            The generated source.

        Examples
        --------
        >>> clf.export_python("pipeline.py", target="Status", id_column="id")  # doctest: +SKIP
        """
        from automl import __version__
        from automl.export import write_script

        check_is_fitted(self, "model_")
        columns = [(c["name"], c["dtype"]) for c in self.schema_["columns"] if not c.get("dropped")]
        classes = None if self._task_kind == "regression" else list(self.classes_)
        summary = f"{self.best_algorithm_}, CV {self.metric_name_} {self.best_score_:.5g}"
        if self.ensemble_ is not None:
            summary = f"an ensemble of {len(self.ensemble_members_)} pipelines; best single {summary}"
        return write_script(str(path), self.model_, target=target, columns=columns,
                            classes=classes, id_column=id_column, summary=summary,
                            version=__version__)

    def _model_metadata(self) -> dict[str, Any]:
        """JSON-safe facts saved beside the model by :func:`automl.persist.save`."""
        check_is_fitted(self, "best_pipeline_")
        return {"task": self.task_, "metric": self.metric_name_, "best_score": self.best_score_,
                "best_algorithm": self.best_algorithm_, "best_config": self.best_config_,
                "space": self.search_space_.to_dict(), "schema": self.schema_,
                "ensemble_members": self.ensemble_members_, "fit_time": self.fit_time_,
                "n_trials": len(self.trials_)}

    # -- prediction -------------------------------------------------------------------------
    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "best_pipeline_")
        return validate_predict_input(X, self.schema_, estimator_name=type(self).__name__)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        tags.non_deterministic = True
        return tags


class AutoClassifier(ClassifierMixin, _AutoMLBase):
    """Search a space of scikit-learn pipelines for the best classifier within a time budget.

    The algorithm is one more hyperparameter: a tree-structured Parzen estimator searches
    preprocessing, model and the model's hyperparameters together, scoring each pipeline by
    shuffled, stratified cross-validation (the same folds for every trial). Trials run in
    worker processes, ``n_jobs`` at a time; a trial that fails, runs out of time or memory,
    or kills its worker is recorded and the search goes on. ``fit`` returns within
    ``time_budget`` + max(5 %, 2 s), the final refit on all rows included.

    Parameters
    ----------
    time_budget : float or None, default=60
        Seconds for the whole fit. None: stop after ``n_trials`` (deterministic with
        ``n_jobs=1``).
    n_trials : int or None
        Cap on the number of trials.
    metric : str, sklearn scorer, callable or None
        None: ROC AUC (binary), log loss (multiclass). See
        :func:`automl.scoring.available_metrics`.
    cv : int, splitter or list of (train, test), default=5
    n_jobs : int, default=1
        Trials run at once (-1: all cores); each trial's native threads are capped to 1.
    per_trial_time_limit : float or None
        Seconds per trial; default a quarter of the budget (always capped by the time left),
        which a trial not clearly worse than the best may exceed, up to half the budget, to
        finish its cross-validation. A limit you set is never exceeded.
    memory_limit : float or None
        Resident memory per trial in MB.
    search_space : automl.Space or None
        None: ``search_spaces.default_space(task)``.
    include, exclude : list of str or None
        Algorithm names to keep / drop.
    random_state : int, Generator or None
    verbose : int, default=0
        0 silent, 1 a progress line and a summary on stderr, 2 also one line per trial.
    ensemble : bool, default=True
        Build a weighted ensemble of the best trials (greedy selection over their
        out-of-fold predictions) and predict with it, when it beats the best single
        pipeline in cross-validation; ``best_pipeline_`` stays the single best.
    storage : str or None
        A folder for the trial journal: every finished trial is written there at once,
        and fitting again with the same folder resumes the search (see
        ``docs/journal_and_dask.md``).

    Attributes
    ----------
    best_pipeline_ : sklearn.pipeline.Pipeline
        The best pipeline, refit on all rows (labels encoded 0..k-1; use ``predict``).
    model_ : estimator
        What ``predict`` uses: ``ensemble_`` if one was chosen, else ``best_pipeline_``.
    ensemble_ : WeightedEnsembleClassifier, WeightedEnsembleRegressor or None
    ensemble_members_ : list of (trial_id, weight)
    best_config_ : dict
    best_score_ : float
        Mean CV score of the best trial, in the metric's natural direction.
    best_algorithm_ : str
    trials_ : list of dict
        One record per trial (see ``leaderboard()``).
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when X was a DataFrame with string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = AutoClassifier(time_budget=15, n_jobs=2, random_state=0)   # doctest: +SKIP
    >>> clf.fit(X, y).predict_proba(X[:2]).shape                          # doctest: +SKIP
    (2, 2)
    """

    _task_kind = "classification"

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        features = self._features(X)
        proba = np.zeros((len(features), len(self.classes_)))
        fitted = np.asarray(self.model_.classes_).astype(np.intp)
        if hasattr(self.model_, "predict_proba"):
            proba[:, fitted] = self.model_.predict_proba(features)
        else:
            codes = np.asarray(self.model_.predict(features)).astype(np.intp)
            proba[np.arange(len(features)), codes] = 1.0
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, of the same type as the training labels."""
        features = self._features(X)
        codes = np.asarray(self.model_.predict(features)).astype(np.intp)
        return self.classes_[codes]


class AutoRegressor(RegressorMixin, _AutoMLBase):
    """Search a space of scikit-learn pipelines for the best regressor within a time budget.

    Same parameters and attributes as :class:`AutoClassifier` (without ``classes_``); the
    default metric is RMSE and folds are shuffled, not stratified.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = AutoRegressor(time_budget=15, random_state=0).fit(X, y)   # doctest: +SKIP
    >>> reg.predict(X[:3]).shape                                         # doctest: +SKIP
    (3,)
    """

    _task_kind = "regression"

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values."""
        features = self._features(X)
        return np.asarray(self.model_.predict(features), dtype=float)

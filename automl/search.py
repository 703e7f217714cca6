"""The search loop: propose, evaluate in workers, record, under a deadline; then refit.

The loop reads as a sequence of named steps:

1. :class:`automl.budget.Budget` keeps the deadline and the reserve for the final refit,
   estimated from what the trials took;
2. the sampler proposes (cheap, strong default configurations first), and while time is
   short only algorithms whose measured time fits (``suggest(allowed=...)``,
   :func:`automl.budget.allowed_algorithms`);
3. the worker pool runs ``n_jobs`` trials at a time, each capped at the time left minus
   the reserve; the pool holds one spare worker, so that the refit never waits for a
   worker to restart after a trial was killed at its limit; on large data a trial is
   first scored on a subsample and goes on to the full CV only if competitive
   (:mod:`automl.halving`);
4. each result is recorded the moment it arrives: callbacks first (journal, ensemble),
   then the sampler is told, then progress is shown;
5. the best configuration is refit on all rows inside a worker with a time limit, falling
   back to the next best whose refit fits in the time left; 6. an ensemble of the best
   trials is chosen and refit if it beats the best single one (both in :mod:`automl.refit`);
7. fold models of trials cut short are blended in (:mod:`automl.bagging`) and, for log
   loss and the Brier score, the probabilities' temperature is set on the out-of-fold
   predictions (:mod:`automl.calibration`).

Examples
--------
>>> result = run_search(trial_data, sampler, SearchSettings(time_budget=30))  # doctest: +SKIP
>>> result.best["algorithm"], result.pipeline                                   # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from automl.bagging import blend_cut_short, keep_bag
from automl.calibration import temper_final
from automl.budget import MIN_TRIAL, Budget, allowed_algorithms, full_duration
from automl.evaluate import (CVResult, SharedTrialData, TrialData, evaluate_config, fit_final,
                             fold_sizes)
from automl.exceptions import NoSuccessfulTrialError
from automl.halving import HalvingSettings, evaluate_with_subsample, promotion_gate, with_subsample
from automl.progress import Progress
from automl.racing import (KILL_MARGIN, keep_fold_models, subsample_stop_rule, trial_extension,
                           trial_stop_rule)
from automl.refit import (refit_ahead, refit_best, refit_ensemble, selection_seconds, short_error,
                          take_background)
from automl.seeding import trial_seed
from automl.space import Space
from automl.workers import WorkerPool

__all__ = ["SearchCallback", "SearchResult", "SearchSettings", "portfolio", "run_search"]

FAILED = ("error", "timeout", "memout", "crashed")
_POLL = 0.2          # seconds between checks of the pool
_PRELOAD = ("automl.evaluate", "automl.halving")  # imported by each worker before its first trial


@dataclass
class SearchSettings:
    """How long and how wide to search.

    ``racing=True`` stops a trial after a fold when it is clearly worse than the
    incumbent on the same folds (:class:`automl.racing.RacingRule`; status "pruned"),
    once ``racing_after`` trials are complete: a pruned trial leaves no out-of-fold
    predictions for the ensemble, and on a short budget the first few complete trials
    are all it has (the 10 s ablation lost with racing from the first trial).
    ``halving`` (a :class:`automl.halving.HalvingSettings`; None: off) scores each
    candidate on a subsample first when the data is large enough, and stops those whose
    subsample score is not competitive (status "pruned", ``stage`` "subsample").
    ``cap_extension`` > 1 lets a trial that is not clearly worse than the incumbent run
    past ``per_trial_time_limit``, up to that many times it, when its remaining folds fit
    (:class:`automl.racing.Extension`); the estimators set 2 with their default cap.
    ``keep_cut_short`` has a trial that its time limit stops between folds send back its
    fold models (:class:`automl.racing.KeepFoldModels`), for a blend into the final model
    (:func:`automl.bagging.blend_cut_short`); the estimators set it with ``ensemble``.

    Examples
    --------
    >>> SearchSettings(time_budget=None, n_trials=20).n_jobs
    1
    """

    time_budget: float | None = 60.0
    n_trials: int | None = None
    n_jobs: int = 1
    per_trial_time_limit: float | None = None
    memory_limit: float | None = None
    run_seed: int = 0
    verbose: int = 0
    metric_name: str = "score"
    keep_oof: int = 50
    ensemble_size: int = 0
    racing: bool = False
    racing_after: int = 5
    cap_extension: float = 1.0
    keep_cut_short: bool = False
    halving: HalvingSettings | None = None


class SearchCallback:
    """Hooks called in the parent process; subclass and override what you need.

    ``on_trial_start`` runs before a trial is submitted; ``on_trial_end`` runs when its
    result arrives, before the sampler is told (a journal written there is durable first).
    ``result`` carries the out-of-fold predictions (None for a failed trial).

    Examples
    --------
    >>> class Count(SearchCallback):
    ...     n = 0
    ...     def on_trial_end(self, record, result):
    ...         self.n += 1
    """

    def on_trial_start(self, trial_id: int, config: dict, seed: int) -> None:
        """A trial is about to be submitted."""

    def on_trial_end(self, record: dict, result: CVResult | None) -> None:
        """A trial finished (any status)."""


@dataclass
class SearchResult:
    """Outcome of :func:`run_search`: every trial record, kept OOF predictions, the refit."""

    trials: list[dict]
    best: dict
    pipeline: Pipeline
    refit_trial_id: int
    oof: dict[int, np.ndarray] = field(default_factory=dict)
    duration: float = 0.0
    ensemble: Any = None
    ensemble_members: list[tuple[int, float]] = field(default_factory=list)


def _algorithm_tag(space: Space, name: str, tag: str, default: Any) -> Any:
    """A Component tag of algorithm ``name`` (``default`` when it has none)."""
    return getattr(space.branch(space.algorithm_key, name), "tags", {}).get(tag, default)


def portfolio(space: Space, max_cost: int = 2) -> list[dict]:
    """Default configurations of the cheap algorithms (Component tag ``cost`` <= max_cost).

    Cheapest first (ties in declaration order), so that even a tiny budget gets a strong,
    fast model early. Algorithms without a ``cost`` tag count as cost 3; if no algorithm is
    cheap enough, the cheapest one is taken.

    Examples
    --------
    >>> from automl.space import Choice, Component, Space
    >>> space = Space({"model": Choice({
    ...     "slow": Component("sklearn.svm.SVC", {}, cost=5),
    ...     "fast": Component("sklearn.naive_bayes.GaussianNB", {}, cost=1)})})
    >>> [space.choice(c) for c in portfolio(space)]
    ['fast']
    """
    names = space.algorithms

    def cost(name: str) -> int:
        return int(_algorithm_tag(space, name, "cost", 3))

    order = sorted(names, key=lambda n: (cost(n), names.index(n)))
    cheap = [n for n in order if cost(n) <= max_cost] or order[:1]
    return [space.restrict(include=[n]).default() for n in cheap]


class _State:
    """Mutable state of one search."""

    def __init__(self, settings: SearchSettings, space: Space, budget: Budget,
                 n_folds: int = 1, loss: Callable[[float], float] = float,
                 halving: HalvingSettings | None = None) -> None:
        self.settings = settings
        self.space = space
        self.budget = budget
        self.n_folds = n_folds
        self.loss = loss                         # metric score -> loss, for the racing rule
        self.trials: list[dict] = []
        self.oof: dict[int, np.ndarray] = {}
        self.running: dict[int, dict] = {}       # task id -> record in progress
        self.n_submitted = 0
        self.best: dict | None = None
        self.durations: dict[str, list[float]] = {}
        self.retry: list[Any] = []               # crashed trials of a resumed run
        self.safety_task: int | None = None      # refit of the first trial, started early
        self.safety: tuple[Pipeline, int] | None = None
        self.ahead: dict[int, Pipeline | None] = {}   # trial id -> refit ahead (None: failed)
        self.ahead_task: tuple[int, int] | None = None   # (task id, trial id) running
        self.halving = halving                   # None unless halving applies to this data
        self.rung: list[float] = []              # complete subsample losses seen so far
        self.bags: dict[int, tuple[float, tuple[bytes, ...], np.ndarray]] = {}   # cut-short fold models

    def trial_limit(self) -> float | None:
        """Time limit of a trial started now: it must end, and its refit fit, in time."""
        return self.budget.trial_limit(self.settings.per_trial_time_limit)


# ---------------------------------------------------------------------------------------
# step 2 and 3: propose and submit


def _ping() -> None:
    """A task that does nothing: its round trip tells when a worker is ready."""


def _wait_for_workers(pool: Any, budget: Budget) -> None:
    """Wait until a worker is ready (so no trial's limit runs out while workers start)."""
    pool.submit(_ping)
    left = budget.left()
    while not pool.wait(timeout=max(_POLL, left) if math.isfinite(left) else None):
        if budget.left() <= 0:
            raise NoSuccessfulTrialError(
                f"No worker process started within the time budget "
                f"({budget.elapsed():.1f} s). Increase time_budget; the machine may be overloaded.")
        left = budget.left()


def _can_start(state: _State) -> bool:
    n_trials = state.settings.n_trials
    if n_trials is not None and state.n_submitted >= n_trials and not state.retry:
        return False
    limit = state.trial_limit()
    if limit is None:
        return True
    shortest = min((t["duration"] for t in state.trials if t["status"] == "ok"), default=MIN_TRIAL)
    return limit >= max(MIN_TRIAL, shortest)


def _next_trial(state: _State, sampler: Any, allowed: list[str] | None) -> tuple[dict, int, int]:
    """(config, trial id, seed) of the next trial: a retry first, else a new suggestion."""
    if state.retry:
        pending = state.retry.pop(0)
        return pending.config, pending.trial_id, pending.seed
    config = sampler.suggest() if allowed is None else sampler.suggest(allowed=allowed)
    trial_id = state.n_submitted
    state.n_submitted += 1
    return config, trial_id, trial_seed(state.settings.run_seed, trial_id)


def _submit_evaluation(state: _State, pool: Any, shared: SharedTrialData, config: dict,
                       seed: int, should_stop: Callable | None, limit: float | None) -> int:
    """Submit one trial: plain CV, or subsample stage then CV when halving is active."""
    stop = trial_stop_rule(state, should_stop)
    deadline = state.budget.trials_end_wallclock()
    if limit is not None:   # stop folding before the pool kills the trial: keep its folds
        own = time.time() + limit - KILL_MARGIN
        deadline = own if deadline is None else min(deadline, own)
    extension, limit = trial_extension(state, limit)
    keep = keep_fold_models(state)
    if state.halving is None:
        return pool.submit(evaluate_config, shared.path, config, seed=seed, n_threads=1,
                           should_stop=stop, deadline=deadline, extension=extension,
                           keep=keep, time_limit=limit)
    gate = promotion_gate(state.rung, state.halving.eta)
    return pool.submit(evaluate_with_subsample, shared.path, config, seed=seed, gate=gate,
                       n_threads=1, should_stop=stop, deadline=deadline, extension=extension,
                       keep=keep, time_limit=limit,
                       subsample_stop=subsample_stop_rule(state, should_stop))


def _submit_trials(state: _State, pool: Any, sampler: Any, shared: SharedTrialData,
                   callbacks: Sequence[SearchCallback], should_stop: Callable | None) -> None:
    while len(state.running) < state.settings.n_jobs and pool.n_free > 0 and _can_start(state):
        limit = state.trial_limit()
        cap = state.settings.per_trial_time_limit
        short = limit is not None and (cap is None or limit < cap)
        allowed = (allowed_algorithms(state.durations, state.space.algorithms, limit)
                   if short else None)
        if allowed == []:
            return
        config, trial_id, seed = _next_trial(state, sampler, allowed)
        for callback in callbacks:
            callback.on_trial_start(trial_id, config, seed)
        task = _submit_evaluation(state, pool, shared, config, seed, should_stop, limit)
        state.running[task] = {"trial_id": trial_id, "config": config,
                               "algorithm": state.space.choice(config), "seed": seed,
                               "started_at": time.time()}
        if trial_id == 0 and math.isfinite(state.budget.deadline) and pool.n_free > 0:
            state.safety_task = pool.submit(fit_final, shared.path, config, seed=seed,
                                            n_threads=1, refit_boosters=False, time_limit=limit)


# ---------------------------------------------------------------------------------------
# step 4: record


def _make_record(pending: dict, task_result: Any,
                 halving: bool = False) -> tuple[dict, CVResult | None]:
    """The trial record of a finished task; with ``halving``, also ``stage`` (which
    evaluation the scores come from: "subsample", "full", or None without a result),
    ``subsample_fold_scores`` and their mean ``subsample_score`` ([] / NaN if none)."""
    result: CVResult | None = task_result.value if task_result.status == "ok" else None
    record = dict(pending)
    if result is None:
        record.update(status=task_result.status, loss=math.nan, score=math.nan, fold_scores=[],
                      duration=float(task_result.duration), error=short_error(task_result.error))
    else:
        record.update(status=result.status, loss=result.loss, score=result.score,
                      fold_scores=[float(s) for s in result.fold_scores],
                      duration=float(task_result.duration), error=result.error)
    if record["status"] == "ok" and not math.isfinite(record["loss"]):
        record.update(status="error", error=f"the metric gave a non-finite score {record['score']}")
    if halving:
        record.update(stage=None, subsample_score=math.nan, subsample_fold_scores=[])
        if result is not None:
            record.update(stage=result.stage, subsample_score=float(result.subsample_score),
                          subsample_fold_scores=[float(s) for s in result.subsample_fold_scores])
    return record, result


def _keep_oof(state: _State, record: dict, oof: np.ndarray | None) -> None:
    """Keep the OOF predictions of the ``keep_oof`` best successful trials."""
    if oof is None or record["status"] != "ok":
        return
    state.oof[record["trial_id"]] = oof
    if len(state.oof) > state.settings.keep_oof:
        losses = {t["trial_id"]: t["loss"] for t in state.trials if t["trial_id"] in state.oof}
        worst = max(state.oof, key=lambda i: (losses[i], i))
        del state.oof[worst]


def _record(state: _State, task_result: Any, sampler: Any,
            callbacks: Sequence[SearchCallback], progress: Progress) -> None:
    if take_background(state, task_result):
        return
    record, result = _make_record(state.running.pop(task_result.task_id), task_result,
                                  halving=state.halving is not None)
    for callback in callbacks:
        callback.on_trial_end(record, result)
    keep_bag(state, record, result)
    _remember(state, sampler, record, None if result is None else result.oof)
    progress.trial(f"trial {record['trial_id']} {record['algorithm']} {record['status']} "
                   f"score={record['score']:.5g} in {record['duration']:.1f} s")
    _show(state, progress)


def _remember(state: _State, sampler: Any, record: dict, oof: np.ndarray | None) -> None:
    """Add a finished trial to the history: records, sampler, timings, OOF, incumbent."""
    state.trials.append(record)
    sampler.observe(record["config"], record["loss"], record["status"])
    fraction = 1.0 if state.halving is None else state.halving.fraction
    measured = full_duration(record, state.n_folds, fraction)
    if measured is not None:
        state.durations.setdefault(record["algorithm"], []).append(measured)
    complete = len(record.get("subsample_fold_scores") or []) == state.n_folds
    if state.halving is not None and complete and math.isfinite(record["subsample_score"]):
        state.rung.append(state.loss(record["subsample_score"]))
    _keep_oof(state, record, oof)
    if record["status"] == "ok" and (state.best is None or record["loss"] < state.best["loss"]):
        state.best = record
        state.budget.note_best(record)


def _restore(state: _State, sampler: Any, resume: Any, load_oof: Callable[[int], Any] | None) -> None:
    """Step 0: replay the trials of an interrupted run (a journal's ``JournalState``).

    The sampler is asked for one suggestion per trial id before it is told that trial's
    result, exactly as in the original run, so a resumed run with ``n_jobs=1`` continues
    with the suggestions an uninterrupted run would have made. A trial to be retried
    stays pending in the sampler until its retry is told, as it was in the original run.
    A suggestion that differs from the trial it replays (the run was parallel, or the
    sampler changed) is discarded (``sampler.discard``; told "crashed" to a sampler
    without it), and the journal's trial is told instead. Only the out-of-fold
    predictions the search would keep (the ``keep_oof`` best) are loaded.
    """
    if resume is None:
        return
    by_id = {record["trial_id"]: record for record in resume.records}
    retried = {pending.trial_id: pending.config for pending in resume.retry}
    ranked = sorted((r for r in resume.records if r["status"] == "ok"),
                    key=lambda r: (r["loss"], r["trial_id"]))
    kept = ranked[:state.settings.keep_oof] if load_oof is not None else []
    wanted = {record["trial_id"] for record in kept}
    discard = getattr(sampler, "discard", None)
    for trial_id in range(resume.next_trial_id):
        suggested = sampler.suggest()
        record = by_id.get(trial_id)
        config = record["config"] if record is not None else retried.get(trial_id)
        if config != suggested:
            if discard is not None:
                discard(suggested)
            else:
                sampler.observe(suggested, math.nan, "crashed")
        if record is None:
            continue
        _remember(state, sampler, record, load_oof(trial_id) if trial_id in wanted else None)
    state.n_submitted = resume.next_trial_id
    state.retry = list(resume.retry)


def _show(state: _State, progress: Progress) -> None:
    n_ok = sum(t["status"] == "ok" for t in state.trials)
    best = state.best
    progress.update(state.budget.elapsed(), n_ok, len(state.trials) - n_ok,
                    None if best is None else best["score"], None if best is None else best["algorithm"])


# ---------------------------------------------------------------------------------------
# the loop


def _refit_costs(space: Space) -> dict[str, float]:
    """Each algorithm's ``refit_cost`` tag: its final fit's cost relative to a fold's."""
    return {name: float(_algorithm_tag(space, name, "refit_cost", 1.0)) for name in space.algorithms}


def _preload(space: Space) -> tuple[str, ...]:
    """Modules the workers import before their first trial: ours, plus each algorithm's
    ``preload`` tag (the library of the portfolio's first entry, so that trial 0 does not
    pay for importing it inside its time cap)."""
    tagged = (_algorithm_tag(space, name, "preload", None) for name in space.algorithms)
    return _PRELOAD + tuple(sorted({module for module in tagged if module}))


def _start(data: TrialData, settings: SearchSettings) -> tuple[TrialData, _State]:
    """Step 1: start the clock, draw the subsample if halving applies, set up the state."""
    n_train, n_all = fold_sizes(data.folds)
    halving = settings.halving
    halving = halving if halving is not None and halving.applies(*data.X.shape) else None
    ensemble = settings.ensemble_size > 1
    budget = Budget(settings.time_budget, len(data.folds), n_all / n_train, 1.5 if ensemble else 1.0,
                    0.0 if halving is None else halving.fraction, _refit_costs(data.space),
                    selection_seconds(data.metric, settings.ensemble_size, len(data.y),
                                      data.n_classes) if ensemble else 0.0)
    data = with_subsample(data, halving, settings.run_seed)
    return data, _State(settings, data.space, budget, len(data.folds), data.metric.loss, halving)


def run_search(data: TrialData, sampler: Any, settings: SearchSettings, *,
               callbacks: Sequence[SearchCallback] = (),
               should_stop: Callable[[int, float], bool] | None = None,
               pool_factory: Callable[..., Any] = WorkerPool,
               resume: Any = None,
               load_oof: Callable[[int], Any] | None = None) -> SearchResult:
    """Search, then refit the best pipeline on all rows, within ``settings.time_budget``.

    Parameters
    ----------
    data : TrialData
        The run's data, folds, space and metric; written once to a temporary file that
        each worker loads once.
    sampler : object
        ``suggest(allowed=None)`` / ``observe(config, loss, status)`` over ``data.space``.
    settings : SearchSettings
    callbacks : sequence of SearchCallback
    should_stop : callable, optional
        Passed to every trial; asked after each fold. Default: with ``settings.racing``,
        a :class:`~automl.racing.RacingRule` against the incumbent of the moment.
    pool_factory : callable
        ``pool_factory(n_workers, threads_per_worker, memory_limit_mb, preload=modules)``;
        a WorkerPool or an object with its interface.
    resume : JournalState, optional
        Trials of an interrupted run (:meth:`automl.journal.Journal.load`): they are told
        to the sampler first, and its crashed trials are retried once.
    load_oof : callable, optional
        ``trial_id -> OOF predictions`` of a resumed trial (for the ensemble).

    Raises
    ------
    NoSuccessfulTrialError
        If no trial succeeded, with the most common failure.
    """
    data, state = _start(data, settings)
    budget = state.budget
    _restore(state, sampler, resume, load_oof)
    progress = Progress(settings.verbose, settings.time_budget, settings.metric_name)
    with SharedTrialData(data) as shared, \
            pool_factory(settings.n_jobs + 1, 1, settings.memory_limit,
                         preload=_preload(data.space)) as pool:
        _wait_for_workers(pool, budget)
        while True:
            _submit_trials(state, pool, sampler, shared, callbacks, should_stop)
            refit_ahead(state, pool, shared)
            if not state.running and state.ahead_task is None:   # a refit ahead frees time
                break
            for task_result in pool.wait(timeout=_POLL):
                _record(state, task_result, sampler, callbacks, progress)
            _show(state, progress)
        pipeline, chosen = refit_best(state, pool, shared)
        ensemble, members = refit_ensemble(state, data, pool, shared, chosen, pipeline)
    ensemble, members, blended = blend_cut_short(state, data, chosen, pipeline, ensemble, members)
    tempered = ""
    if settings.ensemble_size > 1 and time.monotonic() < budget.deadline:
        ensemble, members, tempered = temper_final(state, data, chosen, pipeline, ensemble, members)
    progress.finish(_summary(state, chosen, members) + blended + tempered)
    return SearchResult(state.trials, chosen, pipeline, chosen["trial_id"], state.oof,
                        budget.elapsed(), ensemble, members)


def _summary(state: _State, chosen: dict, members: list[tuple[int, float]]) -> str:
    counts = Counter(t["status"] for t in state.trials)
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ensemble = f"; ensemble of {len(members)} pipelines" if members else ""
    return (f"automl: {len(state.trials)} trials ({parts}) in {state.budget.elapsed():.1f} s; "
            f"refit trial {chosen['trial_id']} ({chosen['algorithm']}), CV "
            f"{state.settings.metric_name} {chosen['score']:.5g}{ensemble}")

"""The time budget of a search: deadline, refit reserve, per-trial limits, cost rules.

Pure bookkeeping for :func:`automl.search.run_search`, kept apart from the loop:

* :class:`Budget` holds the deadline and the reserve kept for the final refit (estimated
  from what the best trial took), and gives the time limit of a trial started now;
* :func:`allowed_algorithms` is the cost rule: while time is short, only algorithms whose
  measured trial time fits in the time left are proposed;
* :func:`full_duration` turns a finished trial into the time a complete trial of its
  algorithm is expected to take (pruned trials are extrapolated).

Examples
--------
>>> budget = Budget(None, n_folds=5, refit_scale=1.25)
>>> budget.trial_limit(cap=10.0)
10.0
>>> allowed_algorithms({"nb": [1.0], "svc": [30.0]}, ["nb", "svc"], limit=10.0)
['nb']
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["MARGIN", "MIN_TRIAL", "Budget", "allowed_algorithms", "expected_time",
           "full_duration"]

MARGIN = 0.5        # seconds kept free at the end for shutting the pool down
MIN_TRIAL = 0.5     # a trial (or a refit) is not started with less time than this


class Budget:
    """Deadline bookkeeping and the refit reserve.

    Parameters
    ----------
    time_budget : float or None
        Seconds for the whole search (None: no deadline).
    n_folds : int
        Folds of a trial.
    refit_scale : float
        All rows / mean training-fold rows (a refit fits more rows than a fold).
    refit_factor : float, default=1.0
        > 1 keeps time to refit ensemble members too.
    subsample_fraction : float, default=0.0
        With successive halving, the share of training rows of the subsample stage: a
        trial that went on to the full CV spent about ``1 / (1 + fraction)`` of its time
        there, and only that part predicts its refit.
    refit_costs : mapping, optional
        Algorithm name -> cost of its final fit relative to a fold's fit at the same size
        (the component tag ``refit_cost``; 2 for the early-stopped boosters, which fit
        twice on all rows); 1 for algorithms not listed.
    selection : float, default=0.0
        Seconds the end of the search needs whatever the trials (the ensemble selection),
        added to the reserve and to its floor.

    Examples
    --------
    >>> budget = Budget(60.0, n_folds=5, refit_scale=1.25)
    >>> budget.reserve
    3.0
    >>> round(budget.refit_estimate({"duration": 10.0}), 2)
    4.25
    """

    def __init__(self, time_budget: float | None, n_folds: int, refit_scale: float,
                 refit_factor: float = 1.0, subsample_fraction: float = 0.0,
                 refit_costs: Mapping[str, float] | None = None, selection: float = 0.0) -> None:
        self.refit_factor = refit_factor
        self.refit_costs = dict(refit_costs or {})
        self.subsample_fraction = subsample_fraction
        self.start = time.monotonic()
        self.deadline = math.inf if time_budget is None else self.start + time_budget
        self.refit_scale = refit_scale / max(n_folds, 1)
        self.reserve = 0.0 if time_budget is None else max(1.0, 0.05 * time_budget) + selection
        self.floor = self.reserve        # kept free whatever is done early
        self._bests: list[dict] = []     # every best so far: the reserve covers each refit
        self.best_id: int | None = None
        self.refit_done = False          # the current best is already fitted on all rows
        self.refit_speed: dict[str, float] = {}   # algorithm -> measured / plain refit time

    def elapsed(self) -> float:
        """Seconds since the search started."""
        return time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left before the deadline, minus the shutdown margin (inf: no deadline)."""
        return self.deadline - time.monotonic() - MARGIN

    def refit_estimate(self, record: dict, single: bool = False) -> float:
        """Seconds to refit a trial's pipeline on all rows, from its CV duration;
        ``single``: as one fit, without the algorithm's ``refit_cost``."""
        speed = self.refit_speed.get(record.get("algorithm"), 1.0)
        return 1.5 * speed * self._plain_refit(record, single) + 0.5

    def _plain_refit(self, record: dict, single: bool = False) -> float:
        """The CV time scaled to one fit on all rows (times ``refit_cost``), no margin."""
        duration = record["duration"]
        if record.get("subsample_fold_scores"):
            duration /= 1.0 + self.subsample_fraction
        cost = 1.0 if single else self.refit_costs.get(record.get("algorithm"), 1.0)
        return cost * duration * self.refit_scale

    def note_refit_time(self, record: dict, seconds: float) -> None:
        """A refit of ``record``'s pipeline on all rows (a booster fitted twice) took
        ``seconds``: later estimates for its algorithm scale by the ratio of that time to
        the plain one, the largest seen, clipped to 0.25 .. 1: only downwards.

        The estimate extrapolates the CV time, which two trials beside a refit inflate:
        a 32-class LightGBM's refit was estimated at 16.7 s and took 6.2 s, so the
        reserve held back 25 s of a 60 s budget. Measured refits correct that. They do
        not raise it: at a 10 s budget a refit ahead's process overhead and contention
        measured 0.6-1.8x the plain estimate, which the margin already covers, and the
        raised reserves cost search time (13 of 45 splits worse, 6 better).

        Examples
        --------
        >>> budget = Budget(60.0, n_folds=5, refit_scale=1.25)
        >>> budget.note_refit_time({"algorithm": "gbm", "duration": 20.0}, 2.5)
        >>> budget.refit_estimate({"algorithm": "gbm", "duration": 20.0})
        4.25
        """
        plain = self._plain_refit(record)
        if plain <= 0 or not math.isfinite(seconds):
            return
        name = record.get("algorithm")
        ratio = min(1.0, max(0.25, seconds / plain))
        self.refit_speed[name] = max(ratio, self.refit_speed.get(name, 0.0))
        if self._bests:
            self._estimate_reserve()

    @property
    def best_refit(self) -> float:
        """The current best trial's refit estimate (0 before any)."""
        return self.refit_estimate(self._bests[-1]) if self._bests else 0.0

    def _estimate_reserve(self) -> None:
        """The reserve: the floor, or the refit factor times the largest refit estimate of
        the bests so far (an ensemble may refit any of them), whichever is larger."""
        largest = max(self.refit_estimate(r) for r in self._bests)
        self.reserve = max(self.floor, self.refit_factor * largest)

    def held_back(self) -> float:
        """Seconds the trials leave free at the end: the reserve, less the best trial's
        own refit once that refit is done (:meth:`note_refit`), never below the floor."""
        if self.refit_done:
            return max(self.floor, self.reserve - self.best_refit)
        return self.reserve

    def trials_end_wallclock(self) -> float | None:
        """Wall-clock time (``time.time()``) by which running trials should stop folding."""
        if not math.isfinite(self.deadline):
            return None
        return time.time() + self.left() - self.held_back()

    def fit_with_refit(self, left: float) -> float:
        """Longest trial whose own refit still fits in ``left`` seconds after it."""
        return (left - 0.5) / (1.0 + 1.5 * self.refit_scale)

    def note_best(self, record: dict) -> None:
        """A new best trial: keep enough time to refit it."""
        if math.isfinite(self.deadline):
            self._bests.append(record)
            self._estimate_reserve()
        self.best_id, self.refit_done = record.get("trial_id"), False

    def note_refit(self, trial_id: int) -> None:
        """Trial ``trial_id`` was fitted on all rows ahead of the end; if it is the best,
        its refit no longer needs to be held back."""
        if trial_id == self.best_id:
            self.refit_done = True

    def trial_limit(self, cap: float | None) -> float | None:
        """Time limit of a trial started now: it must end, and its refit fit, in time
        (once the best trial is fitted on all rows, it need only end in time: a better
        trial whose refit does not fit then loses to the refit already done)."""
        left = self.left()
        if not math.isfinite(left):
            return cap
        limit = left - self.held_back()
        if not self.refit_done:   # else a better trial found too late keeps the refit done
            limit = min(limit, self.fit_with_refit(left))
        return limit if cap is None else min(cap, limit)


def expected_time(times: Sequence[float]) -> float:
    """A cautious estimate of an algorithm's next trial time: the upper quartile of its
    measured (or extrapolated) times, so one lucky fast configuration does not make a
    slow algorithm look safe near the end of the budget.

    Examples
    --------
    >>> expected_time([1.0, 2.0, 3.0, 4.0, 5.0])
    4.0
    """
    return float(np.quantile(times, 0.75))


def allowed_algorithms(durations: Mapping[str, Sequence[float]], algorithms: Sequence[str],
                       limit: float | None) -> list[str] | None:
    """Algorithms expected to finish in ``limit`` seconds (None: no restriction needed).

    An algorithm with measured times is allowed when :func:`expected_time` fits in 80 %
    of ``limit``; one never measured, when ``limit`` is at least three times the typical
    (median) expected time of the measured ones.

    Examples
    --------
    >>> allowed_algorithms({"nb": [1.0], "svc": [30.0]}, ["nb", "svc"], limit=50.0) is None
    True
    >>> allowed_algorithms({"nb": [1.0]}, ["nb", "svc"], limit=0.5)
    []
    """
    if limit is None or not durations:
        return None
    typical = float(np.median([expected_time(t) for t in durations.values()]))
    fits = []
    for name in algorithms:
        times = durations.get(name)
        if times is not None and expected_time(times) <= 0.8 * limit:
            fits.append(name)
        elif times is None and limit >= 3.0 * typical:
            fits.append(name)
    return None if len(fits) == len(algorithms) else fits


def full_duration(record: dict, n_folds: int, subsample_fraction: float = 1.0) -> float | None:
    """Seconds the trial took, or would have taken over all folds if it was pruned.

    A trial pruned after ``k`` of ``n_folds`` folds is extrapolated to all folds; one
    stopped in the subsample stage (``record["stage"] == "subsample"``), which fitted
    ``subsample_fraction`` of the rows, also adds the full evaluation it skipped. None for
    a trial whose time says nothing (errors, crashes).

    Examples
    --------
    >>> full_duration({"status": "pruned", "duration": 2.0, "fold_scores": [0.9]}, 5)
    10.0
    >>> full_duration({"status": "pruned", "duration": 2.0, "fold_scores": [0.9] * 5,
    ...                "stage": "subsample"}, 5, subsample_fraction=0.25)
    10.0
    """
    if record["status"] in ("ok", "timeout"):
        return record["duration"]
    if record["status"] != "pruned" or not record["fold_scores"]:
        return None
    all_folds = record["duration"] * n_folds / len(record["fold_scores"])
    if record.get("stage") == "subsample":
        return all_folds * (1.0 + 1.0 / subsample_fraction)
    return all_folds

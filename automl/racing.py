"""Racing over folds: stop a trial after its first fold(s) when it is clearly worse.

A trial's folds are scored one after another (:func:`automl.evaluate.cross_validate`
asks ``should_stop(fold_index, mean_loss_so_far)`` after every fold but the last). The
rule here compares the candidate's mean loss over its first ``k`` folds with the
incumbent's mean loss over the *same* folds, and stops the candidate when it is worse by
more than a margin::

    margin = z * spread / sqrt(k) + rel_tol * |incumbent mean loss|

where ``spread`` is the standard deviation of the incumbent's per-fold losses (how much a
fold alone can move a score) and the relative floor keeps a margin when the incumbent's
folds happen to agree exactly. The rule is a small frozen object holding plain floats,
built in the parent from the current best record and pickled with each submitted trial:
inside the worker it sees nothing else.

Examples
--------
>>> rule = RacingRule((0.20, 0.22, 0.18))
>>> rule(0, 0.50), rule(0, 0.21)
(True, False)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Extension", "KeepFoldModels", "RacingRule", "folds_end_by", "racing_rule",
           "subsample_stop_rule", "trial_extension", "trial_stop_rule"]

#: Seconds a trial's own fold deadline keeps before the pool kills it at its time limit.
KILL_MARGIN = 0.1
#: Largest pickled size (bytes) of the fold models a cut-short trial sends back.
MAX_KEPT_BYTES = 64 * 2**20


@dataclass(frozen=True)
class RacingRule:
    """Stop a trial whose mean loss so far is clearly worse than the incumbent's.

    Parameters
    ----------
    incumbent_losses : tuple of float
        The incumbent's loss on each fold (lower is better), in fold order.
    z : float, default=2.0
        Margin in units of the incumbent's fold-to-fold standard error.
    rel_tol : float, default=0.01
        Margin floor, relative to the incumbent's mean loss.

    Examples
    --------
    >>> rule = RacingRule((-0.90, -0.92, -0.91))      # losses of an AUC of about 0.91
    >>> rule(0, -0.70), rule(0, -0.89), rule(2, 0.0)
    (True, False, False)
    """

    incumbent_losses: tuple[float, ...]
    z: float = 2.0
    rel_tol: float = 0.01

    def __post_init__(self) -> None:
        losses = tuple(float(x) for x in self.incumbent_losses)
        if not all(math.isfinite(x) for x in losses):
            raise ValueError(f"incumbent_losses must be finite numbers; got {losses!r}.")
        for name in ("z", "rel_tol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a non-negative number; got {value!r}.")
        object.__setattr__(self, "incumbent_losses", losses)

    def margin(self, n_folds_done: int) -> float:
        """How much worse than the incumbent a candidate may be after ``n_folds_done`` folds."""
        losses = np.asarray(self.incumbent_losses)
        spread = float(np.std(losses, ddof=1)) if len(losses) > 1 else 0.0
        floor = self.rel_tol * abs(float(np.mean(losses)))
        return self.z * spread / math.sqrt(max(n_folds_done, 1)) + floor

    def __call__(self, fold_index: int, mean_loss: float) -> bool:
        """True to stop the trial after fold ``fold_index`` (0-based).

        Never stops after the last fold the incumbent has, nor on a non-finite loss (that
        trial fails on its own).
        """
        n = fold_index + 1
        if n >= len(self.incumbent_losses) or not math.isfinite(mean_loss):
            return False
        reference = float(np.mean(self.incumbent_losses[:n]))
        return mean_loss > reference + self.margin(n)

    def clearly_better(self, fold_losses: Sequence[float]) -> bool:
        """True if a candidate's losses on its first folds beat the incumbent's on the
        same folds by more than the margin: the mirror of stopping, for a trial cut short
        by the deadline.

        Examples
        --------
        >>> rule = RacingRule((-0.82, -0.83, -0.81))
        >>> rule.clearly_better([-0.92]), rule.clearly_better([-0.83])
        (True, False)
        """
        n = len(fold_losses)
        if n == 0 or n > len(self.incumbent_losses) or not all(math.isfinite(x) for x in fold_losses):
            return False
        reference = float(np.mean(self.incumbent_losses[:n]))
        return float(np.mean(fold_losses)) < reference - self.margin(n)


def racing_rule(incumbent: dict | None, loss: Callable[[float], float], *, z: float = 2.0,
                rel_tol: float = 0.01) -> RacingRule | None:
    """The racing rule against ``incumbent`` (a trial record), or None without one.

    Parameters
    ----------
    incumbent : dict or None
        The current best successful trial record; its ``fold_scores`` are read.
    loss : callable
        Score -> loss (``Metric.loss``), applied to each fold score.
    z, rel_tol : float
        See :class:`RacingRule`.

    Examples
    --------
    >>> racing_rule(None, lambda s: -s) is None
    True
    >>> racing_rule({"status": "ok", "fold_scores": [0.9, 0.8]}, lambda s: -s).incumbent_losses
    (-0.9, -0.8)
    """
    if incumbent is None or incumbent.get("status") != "ok":
        return None
    scores: Sequence[float] = incumbent.get("fold_scores") or []
    if len(scores) < 2:
        return None
    return RacingRule(tuple(loss(float(s)) for s in scores), z=z, rel_tol=rel_tol)


@dataclass(frozen=True)
class Extension:
    """Time past its cap for a trial that can finish its cross-validation in it.

    The default per-trial cap stops a trial between folds once the next fold would end
    after it. A slow but competitive candidate (a 32-class booster, say) then ends cut
    short: a failure for the sampler and no out-of-fold predictions for the ensemble,
    however good its folds were. With an extension the fold loop goes on towards
    ``deadline`` (wall clock, ``time.time()``) when every remaining fold is expected to
    end by then (at the mean time of the folds done) and the trial is not clearly worse
    than the incumbent (``rule``; None: no incumbent yet); racing, the mirror image,
    stops the clearly worse ones.

    Examples
    --------
    >>> ext = Extension(deadline=time.time() + 10.0, rule=RacingRule((0.30, 0.32, 0.31)))
    >>> ext.grants([0.22, 0.21], fold_seconds=[3.0, 3.0], n_left=1)
    True
    >>> ext.grants([0.50, 0.52], [3.0, 3.0], 1), ext.grants([0.22], [3.0], 4)
    (False, False)
    """

    deadline: float
    rule: RacingRule | None = None

    def grants(self, fold_losses: Sequence[float], fold_seconds: Sequence[float],
               n_left: int) -> bool:
        """True to go on past the cap, after ``fold_losses`` (one per fold done, taking
        ``fold_seconds``) with ``n_left`` folds to go."""
        if n_left <= 0 or not _competitive(self.rule, fold_losses):
            return False
        return folds_end_by(self.deadline, fold_seconds, n_left)


def folds_end_by(deadline: float | None, fold_seconds: Sequence[float], n: int,
                 first_fold_time: float = 0.0) -> bool:
    """True if ``n`` more folds, each taking the mean of ``fold_seconds`` (the folds done;
    ``first_fold_time`` before any), end by ``deadline`` (wall clock, ``time.time()``;
    None: no deadline)."""
    if deadline is None:
        return True
    per_fold = float(np.mean(fold_seconds)) if len(fold_seconds) else first_fold_time
    return time.time() + per_fold * n <= deadline


def _competitive(rule: RacingRule | None, fold_losses: Sequence[float]) -> bool:
    """True if finite ``fold_losses`` (the first folds of a trial) are not clearly worse
    than the incumbent's on the same folds (``rule``; None: no incumbent)."""
    if not fold_losses or not all(math.isfinite(x) for x in fold_losses):
        return False
    return rule is None or not rule(len(fold_losses) - 1, float(np.mean(fold_losses)))


@dataclass(frozen=True)
class KeepFoldModels:
    """Send back the fitted fold models of a trial the deadline cuts short.

    A trial stopped between folds by its time limit ends with status "timeout": its folds
    count for nothing in the ensemble (no complete out-of-fold predictions) and it has no
    refit. Yet a slow, strong candidate's first fold models are often the best models the
    run has (a 32-class booster at a 10 s budget, say); averaged over the rows they
    predict, they can be blended into the final model with no refit
    (:func:`automl.bagging.blend_cut_short`). With this policy the worker pickles the
    fold models of such a trial when it is not clearly worse than the incumbent (``rule``;
    None: no incumbent yet) and the pickle is at most ``max_bytes`` (a forest grown on
    many rows is not worth shipping).

    Examples
    --------
    >>> keep = KeepFoldModels(RacingRule((0.30, 0.32, 0.31)))
    >>> keep.wants([0.22]), keep.wants([0.60]), keep.wants([])
    (True, False, False)
    """

    rule: RacingRule | None = None
    max_bytes: int = MAX_KEPT_BYTES

    def wants(self, fold_losses: Sequence[float]) -> bool:
        """True to keep the models of a trial cut short after ``fold_losses``."""
        return _competitive(self.rule, fold_losses)


# ---------------------------------------------------------------------------------------
# the rules sent with each trial (``state``: :func:`automl.search.run_search`'s state)


def trial_stop_rule(state: Any, should_stop: Callable | None) -> Callable | None:
    """The stop rule sent with a trial: the caller's, else racing against the incumbent
    once ``settings.racing_after`` trials are complete."""
    if should_stop is not None or not state.settings.racing:
        return should_stop
    if sum(t["status"] == "ok" for t in state.trials) < state.settings.racing_after:
        return None
    return racing_rule(state.best, state.loss)


def subsample_stop_rule(state: Any, should_stop: Callable | None) -> Callable | None:
    """Racing in the subsample stage, against the incumbent's subsample fold scores."""
    if should_stop is not None or not state.settings.racing or state.best is None:
        return None
    scores = state.best.get("subsample_fold_scores") or []
    if len(scores) != state.n_folds:
        return None
    return racing_rule({"status": "ok", "fold_scores": scores}, state.loss)


def keep_fold_models(state: Any) -> KeepFoldModels | None:
    """The keeping policy sent with a trial (``settings.keep_cut_short``), or None."""
    if not state.settings.keep_cut_short:
        return None
    return KeepFoldModels(racing_rule(state.best, state.loss))


def trial_extension(state: Any, limit: float | None) -> tuple[Extension | None, float | None]:
    """(extension, time limit) for a trial started now whose limit is ``limit``.

    An extension (:class:`Extension`) is offered only when the cap binds (not the time
    left) and ``settings.cap_extension`` > 1 (the default cap, not one the user set): up
    to that many caps, within the time the trials may use. The trial's time limit (when
    the pool kills it) is then the extended one: a fold already running past the cap
    may finish.
    """
    cap, factor = state.settings.per_trial_time_limit, state.settings.cap_extension
    if cap is None or limit is None or factor <= 1.0 or limit < cap:
        return None, limit
    longer = state.budget.trial_limit(factor * cap)
    if longer is None or longer <= limit:
        return None, limit
    return Extension(time.time() + longer - KILL_MARGIN, racing_rule(state.best, state.loss)), longer

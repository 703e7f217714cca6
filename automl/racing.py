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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RacingRule", "racing_rule"]


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

"""Successive halving over data size: score a candidate on a subsample before the full CV.

On large data (rows x columns at least :attr:`HalvingSettings.min_cells`) every trial
runs in two stages inside its worker:

1. **subsample stage**: the same folds, but each fold's model is fitted on a stratified
   subsample of that fold's training rows (``fraction`` of them; drawn once per run, so
   every candidate sees the same rows and the scores are comparable) and scored on the
   fold's full test rows;
2. **full stage**: only for a candidate whose subsample loss is among the best
   ``1/eta`` of the subsample losses seen so far (itself included; the first candidate
   always goes on), the usual fold-by-fold cross-validation, racing included.

A candidate stopped after stage 1 comes back with status ``"pruned"``, ``stage
"subsample"`` and its subsample loss, which the sampler is told as a bad result, like a
trial stopped by fold racing. Racing works in both stages: in stage 1 against the
incumbent's subsample fold scores (so a clearly bad candidate costs one subsample fold),
in stage 2 against its full fold scores; only complete subsample evaluations enter the
rung. This is the asynchronous form of successive halving (ASHA,
Li et al. 2020) with two rungs: the decision is taken when the candidate's own subsample
score is known, against the rung as it stands, so workers never wait for each other.
The gate is a small frozen object built in the parent and pickled with the trial.

Examples
--------
>>> gate = promotion_gate([0.30, 0.20, 0.25], eta=3)      # 4 candidates: the best 2 go on
>>> gate(0.25), gate(0.26)
(True, False)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from automl.evaluate import CVResult, Fold, StopRule, TrialData, cross_validate, load_trial_data
from automl.racing import Extension, KeepFoldModels

__all__ = ["HalvingSettings", "PromotionGate", "evaluate_with_subsample", "promotion_gate",
           "run_two_stages", "subsample_folds", "with_subsample"]

_N_BINS = 10          # quantile strata of a regression target
_STREAM = 0x5AB5      # keeps the subsample's random stream apart from the run's others


@dataclass(frozen=True)
class HalvingSettings:
    """When and how hard to subsample.

    Parameters
    ----------
    min_cells : int, default=500_000
        Halving is used when training rows x columns reach this (e.g. 25,000 rows of 20
        columns). Lower it to use halving on smaller data.
    fraction : float, default=0.25
        Share of each fold's training rows fitted in the subsample stage, in (0, 1).
    eta : float, default=3.0
        The best ``1/eta`` of subsample scores go on to the full evaluation; > 1.

    Examples
    --------
    >>> HalvingSettings().applies(40_000, 20), HalvingSettings().applies(10_000, 20)
    (True, False)
    """

    min_cells: int = 500_000
    fraction: float = 0.25
    eta: float = 3.0

    def __post_init__(self) -> None:
        if isinstance(self.min_cells, bool) or not isinstance(self.min_cells, numbers.Integral) \
                or self.min_cells < 0:
            raise ValueError(f"min_cells must be a non-negative whole number of cells "
                             f"(rows x columns); got {self.min_cells!r}.")
        if not isinstance(self.fraction, numbers.Real) or not 0.0 < self.fraction < 1.0:
            raise ValueError(f"fraction must be a number strictly between 0 and 1 (the share "
                             f"of training rows in the subsample); got {self.fraction!r}.")
        if not isinstance(self.eta, numbers.Real) or not self.eta > 1.0:
            raise ValueError(f"eta must be a number above 1 (1/eta of candidates go on); got "
                             f"{self.eta!r}.")

    def applies(self, n_rows: int, n_columns: int) -> bool:
        """True if data of this shape is large enough for halving."""
        return n_rows * n_columns >= self.min_cells


@dataclass(frozen=True)
class PromotionGate:
    """Lets a candidate whose subsample loss is at most ``threshold`` go on.

    Examples
    --------
    >>> PromotionGate()(5.0), PromotionGate(0.2)(0.2), PromotionGate(0.2)(float("nan"))
    (True, True, False)
    """

    threshold: float = math.inf

    def __call__(self, loss: float) -> bool:
        """True to run the full evaluation after a subsample loss of ``loss``."""
        return math.isfinite(loss) and loss <= self.threshold


def promotion_gate(rung: Sequence[float], eta: float) -> PromotionGate:
    """The gate of the next candidate, given the subsample losses seen so far.

    The candidate goes on if it would rank among the best ``k = ceil((n + 1) / eta)`` of
    the ``n + 1`` subsample losses, ties in its favour (as racing, a candidate is stopped
    only when it is worse), i.e. if its loss is at most the ``k``-th smallest of
    ``rung``; while ``k > n`` it always goes on. Non-finite losses in ``rung`` are ignored.

    Examples
    --------
    >>> promotion_gate([], eta=3).threshold, promotion_gate([0.4, 0.1], eta=3).threshold
    (inf, 0.1)
    """
    losses = [float(x) for x in rung if math.isfinite(x)]
    k = math.ceil((len(losses) + 1) / eta)
    if k > len(losses):
        return PromotionGate()
    return PromotionGate(float(np.partition(losses, k - 1)[k - 1]))


def _strata(y: np.ndarray, task: str) -> np.ndarray:
    """Class labels, or quantile bins of a regression target."""
    if task != "regression":
        return np.asarray(y)
    edges = np.unique(np.quantile(y, np.linspace(0.0, 1.0, _N_BINS + 1)[1:-1]))
    return np.searchsorted(edges, np.asarray(y, dtype=float), side="right")


def subsample_folds(folds: Sequence[Fold], y: np.ndarray, task: str, fraction: float,
                    seed: int) -> list[Fold]:
    """Each fold with a stratified ``fraction`` of its training rows; test rows unchanged.

    Every stratum (class, or target quantile bin for regression) of a fold's training
    rows keeps ``round(fraction * size)`` rows, at least one. Depends only on its
    arguments.

    Examples
    --------
    >>> y = np.array([0] * 80 + [1] * 20)
    >>> folds = [(np.arange(100), np.arange(0))]
    >>> train, _ = subsample_folds(folds, y, "binary", 0.25, seed=0)[0]
    >>> np.bincount(y[train]).tolist()
    [20, 5]
    """
    rng = np.random.default_rng(np.random.SeedSequence((seed, _STREAM)))
    strata = _strata(y, task)
    out = []
    for train, test in folds:
        labels = strata[train]
        keep = []
        for label in np.unique(labels):
            members = train[labels == label]
            size = max(1, int(round(fraction * len(members))))
            keep.append(rng.choice(members, size=size, replace=False))
        out.append((np.sort(np.concatenate(keep)).astype(np.intp), test))
    return out


def with_subsample(data: TrialData, settings: HalvingSettings | None, seed: int) -> TrialData:
    """``data`` with its subsample folds when halving applies to it, else ``data`` itself.

    Examples
    --------
    >>> with_subsample(data, None, seed=0) is data                     # doctest: +SKIP
    True
    """
    if settings is None or not settings.applies(*data.X.shape):
        return data
    folds = subsample_folds(data.folds, data.y, data.task, settings.fraction, seed)
    return dataclasses.replace(data, subsample_folds=folds)


def _row_ratio(data: TrialData) -> float:
    """Full training rows per subsample training row (to scale fold times)."""
    full = sum(len(train) for train, _ in data.folds)
    small = sum(len(train) for train, _ in data.subsample_folds or data.folds)
    return full / max(small, 1)


def run_two_stages(data: TrialData, config: dict, *, seed: int, gate: PromotionGate,
                   n_threads: int = 1, should_stop: StopRule | None = None,
                   subsample_stop: StopRule | None = None,
                   deadline: float | None = None, extension: Extension | None = None,
                   keep: KeepFoldModels | None = None) -> CVResult:
    """Score ``config`` on the subsample folds; if ``gate`` lets it, cross-validate it fully.

    The result's ``stage`` tells which evaluation its loss and scores come from, and
    ``subsample_fold_scores`` / ``subsample_score`` keep the subsample scores; ``duration``
    covers both stages. ``subsample_stop`` and ``should_stop`` (racing) are asked after
    each fold of the subsample and of the full stage respectively; ``extension`` and
    ``keep`` apply to the full stage. A trial that ends in
    the subsample stage returns that stage's out-of-fold predictions (of models fitted
    on the subsample).
    """
    if not data.subsample_folds:
        raise ValueError("run_two_stages needs data.subsample_folds (see with_subsample); "
                         "got data without them.")
    small = dataclasses.replace(data, folds=data.subsample_folds)
    first = cross_validate(small, config, seed=seed, n_threads=n_threads,
                           should_stop=subsample_stop, deadline=deadline)
    first = dataclasses.replace(first, stage="subsample", subsample_score=first.score,
                                subsample_fold_scores=list(first.fold_scores))
    if first.status != "ok":
        return first
    if not math.isfinite(first.loss):
        return dataclasses.replace(first, status="error", error=(
            f"the metric gave a non-finite score {first.score} on the subsample"))
    if not gate(first.loss):
        return dataclasses.replace(first, status="pruned")
    hint = float(np.mean(first.fit_times)) * _row_ratio(data)
    full = cross_validate(data, config, seed=seed, n_threads=n_threads,
                          should_stop=should_stop, deadline=deadline, first_fold_time=hint,
                          extension=extension, keep=keep)
    return dataclasses.replace(full, subsample_score=first.score,
                               subsample_fold_scores=first.subsample_fold_scores,
                               duration=full.duration + first.duration)


def evaluate_with_subsample(data_path: str, config: dict, *, seed: int, gate: PromotionGate,
                            n_threads: int = 1, should_stop: StopRule | None = None,
                            subsample_stop: StopRule | None = None,
                            deadline: float | None = None,
                            extension: Extension | None = None,
                            keep: KeepFoldModels | None = None) -> CVResult:
    """Worker entry point: load the run's data (cached) and run :func:`run_two_stages`.

    Examples
    --------
    >>> pool.submit(evaluate_with_subsample, shared.path, config, seed=7,
    ...             gate=promotion_gate(rung, eta=3))                      # doctest: +SKIP
    """
    with warnings.catch_warnings():   # a trial's warnings would spam the user's terminal
        warnings.simplefilter("ignore")
        return run_two_stages(load_trial_data(data_path), config, seed=seed, gate=gate,
                              n_threads=n_threads, should_stop=should_stop,
                              subsample_stop=subsample_stop, deadline=deadline,
                              extension=extension, keep=keep)

"""The tree-structured Parzen estimator sampler.

A suggestion walks the space top-down. At the root group (the top-level parameters,
including the algorithm choice and the preprocessing choices) it splits the trials into
good and bad, fits one :class:`~automl.tpe.parzen.ParzenEstimator` to each, draws
candidates for *all* the group's parameters jointly from the good mixture, and keeps
the one with the highest ``l(x) / g(x)``. Then it descends into the group of each option
taken, which is modelled only from the trials where that option was active, and so on.

Observations are cached per group as growing arrays, so a suggestion costs a few
vectorised passes over the trials of the groups it visits, and nothing is rebuilt from
dictionaries.

Pending configurations (suggested, not observed yet) sit in the history as bad trials
(a constant liar), so parallel workers are pushed away from each other's points.

Defaults, after Bergstra et al. (2011) and Watanabe (2023, "Tree-Structured Parzen
Estimator: Understanding Its Algorithm Components and Their Roles"):

* split: the good set is the best ``min(ceil(0.1 n), 25)`` successful trials of the
  group (linear gamma, capped), split separately at every group;
* multivariate kernels within a group, Scott's-rule bandwidth ``0.2 * range *
  n ** (-1 / (d + 4))`` with the magic-clip floor ``range / min(100, n + 1)``;
* a prior component of weight 1 (uniform over categories, as wide as each range),
  uniform weights over observations;
* categorical kernels: Aitchison-Aitken with smoothing ``1 / sqrt(n + 1)``, doubled on the
  options of a ``Choice`` so that an algorithm is not abandoned too early;
* 24 candidates per group, 10 random startup trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from automl.space import Choice, Space
from automl.tpe.acquisition import N_CANDIDATES, select
from automl.tpe.base import BaseSampler, sample_restricted
from automl.tpe.parzen import ParzenEstimator
from automl.tpe.split import FAILED, OK, PENDING, STATUS_CODES, good_weights, split
from automl.tpe.tree import Group, build_groups, decode_value, encode

__all__ = ["TPESampler", "N_STARTUP"]

#: Random (or portfolio) trials before the model takes over.
N_STARTUP = 10


class _Rows:
    """A growing matrix of observations with the trial id of each row."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self._ids = np.empty(16, dtype=np.int64)
        self._values = np.empty((16, width))

    def append(self, trial_id: int, row: np.ndarray) -> None:
        if self.n == len(self._ids):
            self._ids = np.concatenate([self._ids, np.empty_like(self._ids)])
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self._ids[self.n] = trial_id
        self._values[self.n] = row
        self.n += 1

    @property
    def ids(self) -> np.ndarray:
        return self._ids[:self.n]

    @property
    def values(self) -> np.ndarray:
        return self._values[:self.n]


class TPESampler(BaseSampler):
    """Tree-structured Parzen estimator over a conditional :class:`~automl.space.Space`.

    Parameters
    ----------
    space : Space
    seed : int, optional
        Same seed + same sequence of calls -> same suggestions.
    n_startup : int, default=10
        Number of trials (observed or pending, portfolio included) before the model is
        used; until then suggestions are random draws from the prior.
    startup_configs : sequence of dict, optional
        Configurations suggested first, in order (a portfolio).
    n_candidates : int, default=24
        Candidates drawn from l(x) at each group.
    prior_weight : float, default=1.0
        Weight of the prior component of each mixture, relative to one observation.

    Examples
    --------
    >>> from automl.space import Choice, Float, Space
    >>> space = Space({"model": Choice({"a": {"x": Float(-2, 2)}, "b": {"y": Float(0, 1)}})})
    >>> sampler = TPESampler(space, seed=0)
    >>> for _ in range(30):
    ...     config = sampler.suggest()
    ...     params = next(iter(config["model"].values()))
    ...     sampler.observe(config, params.get("x", 3.0) ** 2)
    >>> sorted(sampler.suggest())
    ['model']
    """

    def __init__(self, space: Space, *, seed: int | None = None, n_startup: int = N_STARTUP,
                 startup_configs: Sequence[Mapping[str, Any]] | None = None,
                 n_candidates: int = N_CANDIDATES, prior_weight: float = 1.0) -> None:
        super().__init__(space, seed, startup_configs)
        for label, value, least in (("n_startup", n_startup, 0), ("n_candidates", n_candidates, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{label} must be an integer >= {least}; got {value!r}.")
        if isinstance(prior_weight, bool) or not isinstance(prior_weight, (int, float)) \
                or not prior_weight > 0:
            raise ValueError(f"prior_weight must be a positive number; got {prior_weight!r}.")
        self.n_startup, self.n_candidates = n_startup, n_candidates
        self.prior_weight = float(prior_weight)
        self._groups = build_groups(space)
        self._rows = [_Rows(len(g.dims)) for g in self._groups]
        self._losses = np.empty(64)
        self._codes = np.empty(64, dtype=np.int8)
        self._n_trials = 0
        self._pending: dict[tuple, list[int]] = {}
        root = self._groups[0]
        key = space.algorithm_key
        self._algorithm_column = root.names.index(key) if key in root.names and isinstance(
            space.params[key], Choice) else None

    # -- history ------------------------------------------------------------------------
    def _record(self, config: dict[str, Any], loss: float, status: str) -> None:
        rows = [(group, row) for group, row in encode(self._groups[0], config) if group.dims]
        key = tuple((group.index, *row.tolist()) for group, row in rows)
        code = PENDING if status == "pending" else STATUS_CODES[status]
        if code == OK and not math.isfinite(loss):
            code = FAILED
        waiting = self._pending.get(key)
        if code != PENDING and waiting:
            trial = waiting.pop(0)
            self._losses[trial], self._codes[trial] = loss, code
            return
        trial = self._new_trial(loss, code)
        if code == PENDING:
            self._pending.setdefault(key, []).append(trial)
        for group, row in rows:
            self._rows[group.index].append(trial, row)

    def _new_trial(self, loss: float, code: int) -> int:
        if self._n_trials == len(self._losses):
            self._losses = np.concatenate([self._losses, np.empty_like(self._losses)])
            self._codes = np.concatenate([self._codes, np.empty_like(self._codes)])
        trial = self._n_trials
        self._losses[trial], self._codes[trial] = loss, code
        self._n_trials += 1
        return trial

    # -- proposing ----------------------------------------------------------------------
    def _propose(self, rng: np.random.Generator, allowed: frozenset[str] | None) -> dict[str, Any]:
        if self._n_trials < self.n_startup:
            return sample_restricted(self.space, rng, allowed, self._restricted)
        masks = {}
        if allowed is not None and self._algorithm_column is not None:
            node = self.space.params[self.space.algorithm_key]
            masks[self._algorithm_column] = np.array([n in allowed for n in node.names])
        return self._suggest_group(self._groups[0], rng, masks)

    def _suggest_group(self, group: Group, rng: np.random.Generator,
                       masks: Mapping[int, np.ndarray]) -> dict[str, Any]:
        row = self._choose(group, rng, masks) if group.dims else None
        values: dict[str, Any] = dict(group.constants)
        for j, (name, node, dim) in enumerate(zip(group.names, group.nodes, group.dims)):
            value = decode_value(node, dim, float(row[j]))
            if isinstance(node, Choice):
                value = {value: self._suggest_group(group.children[j][value], rng, {})}
            values[name] = value
        return {name: values[name] for name in group.order}

    def _choose(self, group: Group, rng: np.random.Generator,
                masks: Mapping[int, np.ndarray]) -> np.ndarray:
        rows = self._rows[group.index]
        losses = self._losses[rows.ids]
        good, bad = split(losses, self._codes[rows.ids])
        values = rows.values
        below = ParzenEstimator(values[good], group.dims, self.prior_weight,
                                good_weights(losses, good, bad))
        above = ParzenEstimator(values[bad], group.dims, self.prior_weight)
        return select(below, above, rng, self.n_candidates, masks)

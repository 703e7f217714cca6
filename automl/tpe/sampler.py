"""The tree-structured Parzen estimator sampler.

A suggestion walks the space top-down. At the root group (the top-level parameters,
including the algorithm choice and the preprocessing choices) it splits the trials into
good and bad, fits one :class:`~automl.tpe.parzen.ParzenEstimator` to each, draws
candidates for *all* the group's parameters jointly from the good mixture, and keeps
the one with the highest ``l(x) / g(x)``. Then it descends into the group of each option
taken, which is modelled only from the trials where that option was active, and so on.

Observations are cached per group as growing arrays, so a suggestion costs a few
vectorised passes over the trials of the groups it visits, and nothing is rebuilt from
dictionaries. At a group whose columns are all categorical (the root of the default
space), l and g are evaluated from counts of the group's rows on every subset of its
columns, kept as rows come and go (:mod:`~automl.tpe.counts`): the same mixtures, at a
cost that does not grow with the number of trials.

Pending configurations (suggested, not observed yet) sit in the history as bad trials
(a constant liar), so parallel workers are pushed away from each other's points.

Defaults, after Bergstra et al. (2011) and Watanabe (2023, "Tree-Structured Parzen
Estimator: Understanding Its Algorithm Components and Their Roles"):

* split: the good set is the best ``min(ceil(0.15 n), 25)`` successful trials of the
  whole history (linear gamma, capped; 0.15 rather than Optuna's and hyperopt's 0.1,
  measured in ``benchmarks/optimizer/RESULTS.md``); each group takes as good the good
  trials where it was active (Bergstra et al. 2011; Optuna's group mode), and a group
  where none was active falls back to the same split of its own trials;
* multivariate kernels within a group; each kernel's width, column by column, is the
  larger gap to its neighbouring observations (Bergstra et al. 2011; Optuna 5's default,
  also in its multivariate mode), clipped to ``[range / min(100, n + 2), range]``. It
  replaced Scott's rule ``0.2 * range * n ** (-1 / (d + 4))``, which left 3x the regret
  of Optuna's multivariate TPE on Hartmann-6 (``benchmarks/optimizer/RESULTS.md``);
* a prior component of weight 1 (uniform over categories, as wide as each range); good
  observations weighted by their improvement over the split threshold
  (:func:`~automl.tpe.split.good_weights`), bad ones uniformly;
* categorical kernels: Aitchison-Aitken with smoothing ``1 / sqrt(n + 1)``; on the
  options of a ``Choice`` it is ``0.75 k / sqrt(n + 1)`` for ``k`` options (the same
  share per option whatever ``k``), so that an algorithm is not abandoned too early;
* 24 candidates per group, 10 random startup trials; at ``Choice`` columns the
  log-ratio gets a bonus for rarely tried options
  (:func:`~automl.tpe.acquisition.count_bonus`, a UCB term) and one for option
  combinations whose best loss is close to the best of all
  (:func:`~automl.tpe.acquisition.branch_bonus`), so that a model with a narrow good
  region is not abandoned for one whose trials are good on average, and one for
  combinations that hold several branches (a model with a nested choice), explored as if
  each of their trials counted for a fraction of one
  (:func:`~automl.tpe.acquisition.paths_exploration`).

With ``joint_subtree=True`` a decision scores each candidate with its whole branch (see
:mod:`~automl.tpe.mixture`) instead of its own group's parameters. It is off by default:
it helps when the best branch needs the right choices at several levels, but it locks
onto the branch of the first good trials (see ``benchmarks/optimizer/RESULTS.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from automl.space import Choice, Space
from automl.tpe.acquisition import N_CANDIDATES, select, select_split
from automl.tpe.base import BaseSampler, sample_restricted
from automl.tpe.counts import CategoryCounts
from automl.tpe.history import Rows
from automl.tpe.mixture import TreeMixture
from automl.tpe.parzen import ParzenEstimator
from automl.tpe.split import FAILED, OK, PENDING, STATUS_CODES, good_weights, n_good, split
from automl.tpe.tally import ChoiceTally
from automl.tpe.tree import Group, build_groups, decode_value, encode, encode_value

__all__ = ["TPESampler", "N_STARTUP"]

#: Random (or portfolio) trials before the model takes over.
N_STARTUP = 10


class _Walk(NamedTuple):
    """What a proposal carries down the tree: its generator, the global split, and the
    rows of the groups it visits (in the order of :func:`~automl.tpe.tree.encode`)."""

    rng: np.random.Generator
    is_good: np.ndarray
    rows: list[tuple[Group, list[float]]]


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
    joint_subtree : bool, default=False
        Score the candidates of a group with the density of the whole branch they
        activate (:class:`~automl.tpe.mixture.TreeMixture`), not only of the group's own
        parameters. Experimental: better on deeply nested problems, much worse when the
        first good branch is a trap.

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
                 n_candidates: int = N_CANDIDATES, prior_weight: float = 1.0,
                 joint_subtree: bool = False) -> None:
        super().__init__(space, seed, startup_configs)
        for label, value, least in (("n_startup", n_startup, 0), ("n_candidates", n_candidates, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{label} must be an integer >= {least}; got {value!r}.")
        if isinstance(prior_weight, bool) or not isinstance(prior_weight, (int, float)) \
                or not prior_weight > 0:
            raise ValueError(f"prior_weight must be a positive number; got {prior_weight!r}.")
        self.n_startup, self.n_candidates = n_startup, n_candidates
        self.prior_weight = float(prior_weight)
        self.joint_subtree = bool(joint_subtree)
        self._groups = build_groups(space)
        self._rows = [Rows(len(g.dims)) for g in self._groups]
        self._tallies = [ChoiceTally(g) if g.children else None for g in self._groups]
        self._counts = [CategoryCounts(g.dims) if CategoryCounts.fits(g.dims) else None
                        for g in self._groups]
        self._losses = np.empty(64)
        self._codes = np.empty(64, dtype=np.int8)
        self._live = np.zeros(64, dtype=bool)  # recorded and not discarded, by trial id
        self._n_trials = 0  # trial ids handed out
        self._n_live = 0  # trials recorded and not discarded
        self._n_finished = 0  # live trials with a result (not pending)
        self._pending: dict[tuple, list[int]] = {}
        self._suggested: dict[tuple, tuple[list, tuple]] = {}  # _frozen(config) -> _encode
        self._good = np.zeros(64, dtype=bool)  # the global split, by trial id (_global_good)
        self._good_kept: tuple[int, float] | None = None  # (good set size, worst good loss)
        self._walked: tuple[dict, list] | None = None  # the last proposal and its rows
        root = self._groups[0]
        key = space.algorithm_key
        self._algorithm_column = root.columns[root.names.index(key)] if key in root.names \
            and isinstance(space.params[key], Choice) else None

    # -- history ------------------------------------------------------------------------
    def _encode(self, config: Mapping[str, Any]) -> tuple[list[tuple[Group, list[float]]], tuple]:
        """The rows of the groups a configuration visits, and a hashable key of them."""
        rows = [(group, row) for group, row in encode(self._groups[0], config) if group.dims]
        return rows, tuple((group.index, *row) for group, row in rows)

    def _record_observed(self, config: Mapping[str, Any], loss: float, status: str) -> None:
        """An exact copy of a suggested configuration is valid and already encoded."""
        known = self._suggested.pop(_frozen(config), None)
        if known is None:
            self.space.validate(config)
        self._record(config, loss, status, known)

    def _record(self, config: Mapping[str, Any], loss: float, status: str,
                known: tuple[list, tuple] | None = None) -> None:
        if known is None and self._walked is not None and self._walked[0] is config:
            rows = self._walked[1]  # the suggestion just made: its rows were written then
            known = rows, tuple((group.index, *row) for group, row in rows)
        self._walked = None
        rows, key = known or self._encode(config)
        code = PENDING if status == "pending" else STATUS_CODES[status]
        if code == OK and not math.isfinite(loss):
            code = FAILED
        if code != PENDING:
            self._n_finished += 1
        elif (frozen := _frozen(config)) is not None:
            self._suggested[frozen] = rows, key
        waiting = self._pending.get(key)
        if code != PENDING and waiting:
            trial = waiting.pop(0)
            self._losses[trial], self._codes[trial] = loss, code
        else:
            trial = self._new_trial(loss, code)
            if code == PENDING:
                self._pending.setdefault(key, []).append(trial)
            for group, row in rows:
                tally, counts = self._tallies[group.index], self._counts[group.index]
                self._rows[group.index].append(trial, row, tally.add(row) if tally else 0)
                if counts is not None:
                    counts.add(row)
        self._keep_good(code, loss)

    def _discard(self, config: dict[str, Any]) -> bool:
        rows, key = self._encode(config)
        waiting = self._pending.get(key)
        if not waiting:
            return False
        self._suggested.pop(_frozen(config), None)
        trial = waiting.pop(0)
        for group, row in rows:
            if self._rows[group.index].remove(trial):
                for kept in (self._tallies[group.index], self._counts[group.index]):
                    if kept is not None:
                        kept.remove(row)
        self._live[trial] = False
        self._n_live -= 1
        self._good_kept = None
        return True

    def _new_trial(self, loss: float, code: int) -> int:
        if self._n_trials == len(self._losses):
            self._losses = np.concatenate([self._losses, np.empty_like(self._losses)])
            self._codes = np.concatenate([self._codes, np.empty_like(self._codes)])
            self._live = np.concatenate([self._live, np.zeros_like(self._live)])
            self._good = np.concatenate([self._good, np.zeros_like(self._good)])
        trial = self._n_trials
        self._losses[trial], self._codes[trial] = loss, code
        self._live[trial] = True
        self._good[trial] = False
        self._n_trials += 1
        self._n_live += 1
        return trial

    def _keep_good(self, code: int, loss: float) -> None:
        """Whether the global split survives a recorded trial: it does when the good set
        was full and keeps its size, and the trial cannot enter it (pending, failed, or a
        loss above the worst good one: ties rank by trial id, so strictly above)."""
        if self._good_kept is None:
            return
        size, worst = self._good_kept
        if n_good(self._n_finished) != size or (code == OK and not loss > worst):
            self._good_kept = None

    def _forget_caches(self) -> None:
        """Drop what is kept between calls (encodings of pending suggestions, the global
        split), so the next call recomputes it: the tests check that this changes nothing."""
        self._suggested.clear()
        self._good_kept = None

    # -- proposing ----------------------------------------------------------------------
    def _propose(self, rng: np.random.Generator, allowed: frozenset[str] | None) -> dict[str, Any]:
        if self._n_live < self.n_startup:
            return sample_restricted(self.space, rng, allowed, self._restricted)
        masks = {}
        if allowed is not None and self._algorithm_column is not None:
            node = self.space.params[self.space.algorithm_key]
            masks[self._algorithm_column] = np.array([n in allowed for n in node.names])
        walk = _Walk(rng, self._global_good(), [])
        config = self._suggest_group(self._groups[0], walk, masks)
        self._walked = config, walk.rows
        return config

    def _global_good(self) -> np.ndarray:
        """Flags, by trial id, of the good trials of the whole history (kept between
        suggestions while no recorded trial can change them, see :meth:`_keep_good`)."""
        if self._good_kept is None:
            trials = self._live[:self._n_trials].nonzero()[0]
            losses, codes = self._losses[trials], self._codes[trials]
            good, _ = split(losses, codes)
            self._good[:self._n_trials] = False
            self._good[trials[good]] = True
            usable = (codes == OK) & np.isfinite(losses)  # else split ranks pruned trials
            if good.size and good.size == n_good(self._n_finished) and usable.any():
                self._good_kept = good.size, float(losses[good].max())
        return self._good[:self._n_trials]

    def _suggest_group(self, group: Group, walk: _Walk,
                       masks: Mapping[int, np.ndarray]) -> dict[str, Any]:
        if not group.dims:
            return self._values(group, group.dims, None, walk, [])
        row = self._choose(group, walk.rng, masks, walk.is_good)
        encoded = [0.0] * len(group.dims)
        walk.rows.append((group, encoded))  # before the groups below, as ``encode``
        return self._values(group, group.dims, row, walk, encoded)

    def _values(self, group: Group, dims: Sequence[Any], row: np.ndarray | None, walk: _Walk,
                encoded: list[float]) -> dict[str, Any]:
        """The configuration of a group (``dims``, ``row``: its host's), descending; its
        row as :func:`~automl.tpe.tree.encode` writes it goes to ``encoded``."""
        values: dict[str, Any] = dict(group.constants)
        for name, node, column in zip(group.names, group.nodes, group.columns):
            value = decode_value(node, dims[column], float(row[column]))
            encoded[column] = encode_value(node, value)
            if isinstance(node, Choice):
                value = {value: self._suggest_group(group.children[column][value], walk, {})}
            values[name] = value
        for name, (option, inlined) in group.inlined.items():
            values[name] = {option: self._values(inlined, dims, row, walk, encoded)}
        return {name: values[name] for name in group.order}

    def _choose(self, group: Group, rng: np.random.Generator, masks: Mapping[int, np.ndarray],
                is_good: np.ndarray) -> np.ndarray:
        rows = self._rows[group.index]
        losses = self._losses[rows.ids]
        good_here = is_good[rows.ids]
        if good_here.any():  # the globally good trials that visited this group
            good, bad = good_here.nonzero()[0], (~good_here).nonzero()[0]
        else:
            good, bad = split(losses, self._codes[rows.ids])
        weights = good_weights(losses, good, bad)
        if self.joint_subtree:
            below = TreeMixture(group, self._rows, rows.ids[good], self.prior_weight, weights)
            above = TreeMixture(group, self._rows, rows.ids[bad], self.prior_weight)
            return select(below, above, rng, self.n_candidates, masks)
        values, counted = rows.values, self._counts[group.index]
        if counted is None:
            pair = ParzenEstimator.stacked([(values[good], weights), (values[bad], None)],
                                           group.dims, self.prior_weight)
            densities = None
        else:  # l and g by counts (g: the group's rows, less the good ones); l samples
            pair = ParzenEstimator.stacked([(values[good], weights)], group.dims,
                                           self.prior_weight)
            densities = (counted.weighted(values[good], weights, self.prior_weight),
                         counted.mixture(values[good], self.prior_weight))
        tally = self._tallies[group.index]
        if tally is None:
            return select_split(pair, rng, self.n_candidates, masks, densities=densities)
        usable = (self._codes[rows.ids] == OK) & np.isfinite(losses)
        return select_split(pair, rng, self.n_candidates, masks, tally.counts,
                            tally.branches(values, losses, usable, rows.tags), densities)


def _frozen(config: Any) -> tuple | None:
    """A hashable copy of a nested configuration of plain values, exact to the type and
    the bit (floats by their hex form), or None for anything else."""
    if type(config) is not dict:
        return None
    out = []
    for name, value in config.items():
        kind = type(value)
        if kind is dict:
            value = _frozen(value)
            if value is None:
                return None
        elif kind is float:
            value = value.hex()
        elif kind not in _PLAIN:
            return None
        out.append((name, kind, value))
    return tuple(out)


_PLAIN = frozenset([str, int, bool, type(None)])

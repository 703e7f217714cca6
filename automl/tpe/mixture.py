"""Parzen mixtures over a whole subtree of the space, so a choice is scored with its branch.

A decision at a group ``G`` (see :mod:`~automl.tpe.tree`) uses the trials where ``G``
was active. Each of them is one component of a :class:`TreeMixture`, a distribution
over ``G``'s whole subtree: in every group ``D`` of the subtree that the trial visited,
the product kernel centred on the trial's values in ``D``; in every group it did not
visit, the prior of ``D``. A prior component (the prior everywhere) completes the
mixture. Sampling a component draws ``G``'s row from its kernel and then descends,
drawing each chosen option's group from the same component (its kernel there, or the
prior if the trial took another option), so a candidate is a whole branch; its density
is a product over the groups it visits inside each component.

Scoring candidates with ``l(x) / g(x)`` over the subtree then weighs an option of a
``Choice`` by how good and how unexplored the candidate's own hyperparameters are: a
good trial on a rarely chosen algorithm pulls candidates towards its neighbourhood,
where the many bad trials elsewhere in that algorithm's space give little density.

Examples
--------
>>> import numpy as np
>>> from automl.space import Choice, Float, Space
>>> from automl.tpe.history import Rows
>>> from automl.tpe.tree import build_groups
>>> groups = build_groups(Space({"m": Choice({"a": {"x": Float(0, 1)}, "b": None})}))
>>> history = [Rows(len(g.dims)) for g in groups]
>>> history[0].append(0, np.array([0.0])); history[1].append(0, np.array([0.3]))
>>> history[0].append(1, np.array([1.0]))
>>> mixture = TreeMixture(groups[0], history, np.array([0, 1]))
>>> candidates = mixture.sample(np.random.default_rng(0), 8)
>>> mixture.log_pdf(candidates).shape
(8,)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from automl.tpe.history import Rows
from automl.tpe.parzen import ParzenEstimator, logsumexp, pick
from automl.tpe.tree import Group

__all__ = ["Candidates", "TreeMixture"]


@dataclass
class Candidates:
    """Points drawn from a :class:`TreeMixture`: whole branches of one subtree.

    Attributes
    ----------
    root : Group
        The group the subtree hangs from; every candidate has a row there.
    components : ndarray of int
        The mixture component each candidate was drawn from.
    rows : dict
        Group index -> (group, indices of the candidates active in it, their rows).
    """

    root: Group
    components: np.ndarray
    rows: dict[int, tuple[Group, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.components)

    def __getitem__(self, i: int) -> np.ndarray:
        """The row of candidate ``i`` in the root group."""
        return self.rows[self.root.index][2][i]


class TreeMixture:
    """One component per trial over a group's subtree, plus the prior.

    Parameters
    ----------
    group : Group
        The group whose subtree is modelled.
    history : sequence of Rows
        The observed rows of every group of the space, by group index.
    trials : array of int
        Increasing ids of the trials forming the components (all active in ``group``).
    prior_weight : float, default=1.0
        Weight of the prior component relative to one trial of weight one.
    weights : array, optional
        Relative weights of the trials (default: all one).
    """

    def __init__(self, group: Group, history: Sequence[Rows], trials: np.ndarray,
                 prior_weight: float = 1.0, weights: np.ndarray | None = None) -> None:
        self.group, self.trials = group, np.asarray(trials, dtype=np.int64)
        self._history = history
        n = len(self.trials)
        mixture = np.ones(n + 1)
        if weights is not None:
            mixture[:n] = weights
        mixture[n] = prior_weight if n else 1.0
        self.weights = mixture / mixture.sum()
        self._log_weights = np.log(self.weights)
        self._parts: dict[int, tuple[ParzenEstimator, np.ndarray]] = {}

    def _part(self, group: Group) -> tuple[ParzenEstimator, np.ndarray]:
        """The kernels of one group and, per mixture component, the index of its kernel."""
        part = self._parts.get(group.index)
        if part is None:
            rows = self._history[group.index]
            at = np.minimum(np.searchsorted(rows.ids, self.trials), max(rows.n - 1, 0))
            present = rows.ids[at] == self.trials if rows.n else np.zeros(len(self.trials), bool)
            kept = at[present]
            local = np.full(len(self.weights), len(kept))
            local[:-1][present] = np.arange(len(kept))
            part = (ParzenEstimator(rows.values[kept], group.dims), local)
            self._parts[group.index] = part
        return part

    def sample(self, rng: np.random.Generator, size: int,
               allowed: Mapping[int, np.ndarray] | None = None) -> Candidates:
        """Draw ``size`` whole branches, each from one component chosen by weight.

        ``allowed`` maps a categorical column of the root group to a boolean mask of
        permitted categories; the mixture is then conditioned on them.
        """
        estimator, local = self._part(self.group)
        weights = self.weights * estimator.allowed_mass(allowed)[local]
        candidates = Candidates(self.group, pick(rng, weights, size))
        self._descend(self.group, np.arange(size), rng, candidates, allowed)
        return candidates

    def _descend(self, group: Group, members: np.ndarray, rng: np.random.Generator,
                 candidates: Candidates, allowed: Mapping[int, np.ndarray] | None) -> None:
        estimator, local = self._part(group)
        points = estimator.sample_components(rng, local[candidates.components[members]], allowed)
        candidates.rows[group.index] = (group, members, points)
        for column, options in group.children.items():
            taken = points[:, column]
            for k, child in enumerate(options.values()):
                chosen = members[taken == k]
                if chosen.size and child.dims:
                    self._descend(child, chosen, rng, candidates, None)

    def log_pdf(self, candidates: Candidates) -> np.ndarray:
        """Log-density of each candidate branch under the mixture."""
        joint = np.zeros((len(candidates), len(self.weights)))
        for group, members, points in candidates.rows.values():
            estimator, local = self._part(group)
            joint[members] += estimator.log_kernels(points)[:, local]
        return logsumexp(joint + self._log_weights)

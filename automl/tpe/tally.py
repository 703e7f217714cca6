"""What the sampler counts of a group's ``Choice`` columns, kept as rows come and go.

The exploration bonuses of a decision at a group with ``Choice`` columns need the
trials of each option (:func:`~automl.tpe.acquisition.count_bonus`), the option
combination of every row and, for few possible combinations, the trials of each
combination and the branches each one holds (:func:`~automl.tpe.acquisition.branches`).
They depend on the group's rows only, so a :class:`ChoiceTally` updates them when a row
is added or removed instead of recounting every row at every decision; the numbers are
the ones a recount gives.

Examples
--------
>>> from automl.space import Choice, Space
>>> from automl.tpe.tree import build_groups
>>> root = build_groups(Space({"m": Choice({"a": {"k": Choice({"x": None, "y": None})},
...                                         "b": None})}))[0]
>>> tally = ChoiceTally(root)
>>> tally.add([0.0]), tally.add([1.0]), tally.add([0.0])
(0, 1, 0)
>>> tally.counts, tally.trials.tolist(), tally.products.tolist()
({0: [2, 1]}, [2, 1], [2.0, 1.0])
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from automl.tpe.acquisition import _DENSE, Branches, branches, path_products
from automl.tpe.tree import Group, leaf_paths

__all__ = ["ChoiceTally", "option_paths"]


def option_paths(group: Group) -> list[np.ndarray] | None:
    """Per ``Choice`` column of a group, the branches below each option
    (:func:`~automl.tpe.tree.leaf_paths`) relative to the column's fewest, so that
    options holding as many branches as each other are explored alike; None when they
    all do."""
    paths = [np.array([leaf_paths(child) for child in options.values()], dtype=float)
             for options in group.children.values()]
    relative = [p / p.min() for p in paths]
    return relative if any((p > 1).any() for p in relative) else None


class ChoiceTally:
    """Trials per option of each ``Choice`` column of a group, and per combination.

    Parameters
    ----------
    group : Group
        A group with at least one ``Choice`` column.

    Attributes
    ----------
    counts : dict
        Column -> trials (rows) per option.
    trials : ndarray or None
        Rows per combination (``options @ radix``), for a dense table of combinations
        whose options hold different numbers of branches (else None).
    products : ndarray or None
        Alongside ``trials``: :func:`~automl.tpe.acquisition.path_products`.
    """

    def __init__(self, group: Group) -> None:
        self.columns = list(group.children)
        self.n_choices = [group.dims[c].n_choices for c in self.columns]
        self._radix = list(accumulate([1, *self.n_choices[:-1]], operator.mul))
        self.counts = {c: [0] * k for c, k in zip(self.columns, self.n_choices)}
        self.paths = option_paths(group)
        dense = self.paths is not None and math.prod(self.n_choices) <= _DENSE
        self.trials = np.zeros(math.prod(self.n_choices), dtype=np.int64) if dense else None
        self.products = path_products(self.paths) if dense else None

    def add(self, row: Sequence[float]) -> int:
        """Count a row; returns its combination."""
        return self._count(row, 1)

    def remove(self, row: Sequence[float]) -> None:
        """Forget a row counted before."""
        self._count(row, -1)

    def _count(self, row: Sequence[float], step: int) -> int:
        key = 0
        for column, radix in zip(self.columns, self._radix):
            option = int(row[column])
            self.counts[column][option] += step
            key += option * radix
        if self.trials is not None:
            self.trials[key] += step
        return key

    def branches(self, values: np.ndarray, losses: np.ndarray, usable: np.ndarray,
                 every: np.ndarray) -> Branches:
        """:func:`~automl.tpe.acquisition.branches` of the counted rows (``values``, with
        their ``losses``, the ``usable`` ones flagged, and ``every`` row's combination)."""
        return branches(values, self.columns, self.n_choices, losses, usable, self.paths,
                        every=every, trials=self.trials, products=self.products)

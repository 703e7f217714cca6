"""Random search with the samplers' ask/tell interface: the baseline TPE must beat.

Examples
--------
>>> from automl.space import Choice, Float, Space
>>> space = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": None})})
>>> sampler = RandomSampler(space, seed=0)
>>> config = sampler.suggest(allowed=["b"])
>>> config
{'model': {'b': {}}}
>>> sampler.observe(config, 0.5)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from automl.space import Space
from automl.tpe.base import BaseSampler, sample_restricted

__all__ = ["RandomSampler"]


class RandomSampler(BaseSampler):
    """Uniform draws from the space's prior, after an optional portfolio.

    Parameters
    ----------
    space : Space
    seed : int, optional
        Same seed + same sequence of calls -> same suggestions.
    startup_configs : sequence of dict, optional
        Configurations suggested first, in order (a portfolio).
    """

    def __init__(self, space: Space, *, seed: int | None = None,
                 startup_configs: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(space, seed, startup_configs)
        self.n_observed = 0
        self._pending: Counter[tuple] = Counter()

    def _propose(self, rng: np.random.Generator, allowed: frozenset[str] | None) -> dict[str, Any]:
        return sample_restricted(self.space, rng, allowed, self._restricted)

    def _key(self, config: dict[str, Any]) -> tuple:
        return tuple(sorted(self.space.flatten(config).items()))

    def _take(self, key: tuple) -> bool:
        """Drop one pending entry with this key; False if there is none."""
        if not self._pending.get(key):
            return False
        self._pending[key] -= 1
        if not self._pending[key]:
            del self._pending[key]
        return True

    def _record(self, config: dict[str, Any], loss: float, status: str) -> None:
        if status == "pending":
            self._pending[self._key(config)] += 1
            return
        self.n_observed += 1
        self._take(self._key(config))

    def _discard(self, config: dict[str, Any]) -> bool:
        return self._take(self._key(config))

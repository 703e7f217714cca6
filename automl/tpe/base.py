"""What every sampler shares: seeding, the startup portfolio, ``allowed``, checking input.

Examples
--------
>>> from automl.space import Choice, Float, Space
>>> space = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": None})})
>>> check_allowed(space, ["b"])
frozenset({'b'})
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from automl.exceptions import InvalidConfigurationError
from automl.space import Choice, Space

__all__ = ["STATUSES", "BaseSampler", "check_allowed", "sample_restricted"]

#: Trial statuses accepted by ``observe``; anything but "ok" counts as bad.
STATUSES = ("ok", "error", "timeout", "memout", "crashed", "pruned")


def check_allowed(space: Space, allowed: Collection[str] | None) -> frozenset[str] | None:
    """Validate ``allowed`` (algorithm names) against the space's algorithm choice."""
    if allowed is None:
        return None
    node = space.params.get(space.algorithm_key)
    if not isinstance(node, Choice):
        raise ValueError(
            f"allowed={allowed!r} restricts the algorithm, but this space has no algorithm "
            f"choice {space.algorithm_key!r}; pass allowed=None.")
    names = frozenset([allowed] if isinstance(allowed, str) else allowed)
    unknown = sorted(names - set(node.options))
    if unknown or not names:
        raise ValueError(
            f"allowed must name at least one algorithm among {node.names}; got {sorted(names)}"
            f"{f' (unknown: {unknown})' if unknown else ''}.")
    return names


def sample_restricted(space: Space, rng: np.random.Generator,
                      allowed: frozenset[str] | None, cache: dict) -> dict[str, Any]:
    """A draw from the prior, among the ``allowed`` algorithms only (if given)."""
    if allowed is None:
        return space.sample(rng)
    if allowed not in cache:
        cache[allowed] = space.restrict(include=sorted(allowed))
    return cache[allowed].sample(rng)


def _entropy(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}.")
    return int(seed)


class BaseSampler:
    """Ask/tell plumbing; subclasses implement ``_propose``, ``_record`` and ``_discard``."""

    def __init__(self, space: Space, seed: int | None,
                 startup_configs: Sequence[Mapping[str, Any]] | None) -> None:
        if not isinstance(space, Space):
            raise TypeError(f"space must be an automl.space.Space; got {type(space).__name__}.")
        self.space = space
        self._entropy = _entropy(seed)
        self._queue = [self._checked(c, f"startup_configs[{i}]")
                       for i, c in enumerate(startup_configs or [])]
        self._n_suggested = 0
        self._restricted: dict = {}

    def _checked(self, config: Any, what: str) -> dict[str, Any]:
        try:
            self.space.validate(config)
        except InvalidConfigurationError as exc:
            raise InvalidConfigurationError(f"{what} is not in the space: {exc}") from None
        return copy.deepcopy(dict(config))

    def suggest(self, allowed: Collection[str] | None = None) -> dict[str, Any]:
        """The next configuration to evaluate (remembered as pending until observed).

        Parameters
        ----------
        allowed : collection of str, optional
            Algorithm names (options of the space's algorithm choice) to draw among.
        """
        names = check_allowed(self.space, allowed)
        rng = np.random.default_rng(
            np.random.SeedSequence(self._entropy, spawn_key=(self._n_suggested,)))
        self._n_suggested += 1
        config = self._next_startup(names)
        if config is None:
            config = self._propose(rng, names)
        self._record(config, math.nan, "pending")
        return config

    def _next_startup(self, allowed: frozenset[str] | None) -> dict[str, Any] | None:
        for i, config in enumerate(self._queue):
            if allowed is None or self.space.choice(config) in allowed:
                return self._queue.pop(i)
        return None

    def observe(self, config: Mapping[str, Any], loss: float | None, status: str = "ok") -> None:
        """Record the result of a configuration (suggested before or not).

        Parameters
        ----------
        config : dict
            A nested configuration of the space.
        loss : float or None
            Lower is better; NaN, inf or None for a trial that produced none.
        status : str, default="ok"
            One of :data:`STATUSES`; anything but "ok" counts as bad.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {status!r}.")
        if loss is None:
            loss = math.nan
        if isinstance(loss, (bool, np.bool_)) or not isinstance(loss, numbers.Real):
            raise TypeError(f"loss must be a real number (or None/NaN); got {loss!r}.")
        self._record_observed(config, float(loss), status)

    def discard(self, config: Mapping[str, Any]) -> bool:
        """Forget one pending entry of ``config`` (suggested and not observed yet).

        A resumed search replays the suggestions of the interrupted run; a replayed
        suggestion that will never be evaluated is discarded, so it does not stay in the
        history as a constant-liar entry forever. The oldest pending entry of an equal
        configuration goes first.

        Parameters
        ----------
        config : dict
            A nested configuration of the space.

        Returns
        -------
        bool
            True if a pending entry was forgotten, False if ``config`` had none.

        Examples
        --------
        >>> from automl.space import Float, Space
        >>> from automl.tpe import RandomSampler
        >>> sampler = RandomSampler(Space({"x": Float(0, 1)}), seed=0)
        >>> config = sampler.suggest()
        >>> sampler.discard(config), sampler.discard(config)
        (True, False)
        """
        self.space.validate(config)
        return self._discard(dict(config))

    def _record_observed(self, config: Mapping[str, Any], loss: float, status: str) -> None:
        """Check an observed configuration, then record it (a subclass may skip the check
        for an exact copy of one it suggested, valid by construction)."""
        self.space.validate(config)
        self._record(config, loss, status)

    def _propose(self, rng: np.random.Generator,
                 allowed: frozenset[str] | None) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _discard(self, config: dict[str, Any]) -> bool:  # pragma: no cover
        raise NotImplementedError

    def _record(self, config: dict[str, Any], loss: float, status: str) -> None:  # pragma: no cover
        raise NotImplementedError

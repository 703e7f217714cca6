"""Per-trial seeds derived from one run seed, so every trial is reproducible from its record.

A search draws one run seed from its ``random_state``; trial ``i`` then uses
``trial_seed(run_seed, i)`` for everything random inside the trial (cross-validation
shuffling, the model's own ``random_state``). The derivation goes through
:class:`numpy.random.SeedSequence` with the trial number as spawn key, so it is the same
seed that ``SeedSequence(run_seed).spawn(i + 1)[i]`` would give, independent of how many
trials ran in parallel or in which order they finished.

Examples
--------
>>> trial_seed(42, 0) == trial_seed(42, 0)
True
>>> trial_seed(42, 0) != trial_seed(42, 1)
True
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["trial_seed", "trial_rng"]


def _check_seed(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative integer; got {value!r}. "
            "Draw one integer run seed from random_state before deriving trial seeds."
        )
    return int(value)


def trial_seed(run_seed: int, trial_id: int) -> int:
    """Return the seed of trial ``trial_id`` of a run seeded with ``run_seed``.

    Parameters
    ----------
    run_seed : int
        The run's seed (non-negative integer).
    trial_id : int
        The trial number (0, 1, 2, ...).

    Returns
    -------
    int
        A seed in ``[0, 2**32)``, valid as any scikit-learn ``random_state``.

    Examples
    --------
    >>> seed = trial_seed(0, 3)
    >>> 0 <= seed < 2**32
    True
    """
    entropy = _check_seed(run_seed, "run_seed")
    key = _check_seed(trial_id, "trial_id")
    sequence = np.random.SeedSequence(entropy, spawn_key=(key,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def trial_rng(run_seed: int, trial_id: int) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` seeded with :func:`trial_seed`.

    Parameters
    ----------
    run_seed : int
        The run's seed (non-negative integer).
    trial_id : int
        The trial number.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> float(trial_rng(1, 2).random()) == float(trial_rng(1, 2).random())
    True
    """
    return np.random.default_rng(trial_seed(run_seed, trial_id))

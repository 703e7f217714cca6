"""Exceptions raised by automl.

Every error subclasses a built-in exception type (``ValueError``, ``RuntimeError``)
so that callers who do not know about automl can still catch it.
"""

from __future__ import annotations

__all__ = [
    "SpaceDefinitionError",
    "InvalidConfigurationError",
    "NoSuccessfulTrialError",
    "IncompatibleJournalError",
]


class SpaceDefinitionError(ValueError):
    """A search space was declared wrongly (for example ``low > high``)."""


class InvalidConfigurationError(ValueError):
    """A configuration does not belong to its search space.

    The message names the parameter path, the value received and what was expected.
    """


class NoSuccessfulTrialError(RuntimeError):
    """Every trial of a search failed, so there is no model to return."""


class IncompatibleJournalError(ValueError):
    """A trial journal was written for other data or another search space."""

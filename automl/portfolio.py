"""The built-in portfolio: configurations known to do well across many datasets.

``search_spaces/portfolio.json`` holds one ordered list of configurations of the default
space per kind of task (``classification``, ``regression``), chosen greedily so that
together they do well over many datasets (built by ``benchmarks/portfolio/build.py``;
its README records how). The list is stored in the order the search evaluates it:
greedily by the mean regret each entry removes per CPU second, so that a short budget
gets the most per second spent (this beat cheapest-first in the build's
leave-one-dataset-out check); TPE goes on with their results as history.

At load time every entry is checked against the space actually searched: entries whose
algorithm the space does not have (``include``/``exclude``) are left out silently;
entries whose algorithm is there but whose configuration no longer validates (the space
evolved, or the user changed ranges) are skipped with one warning.

Examples
--------
>>> from search_spaces import default_space
>>> space = default_space("binary")
>>> configs = load_portfolio(space, "binary")
>>> len(configs) > 0 and all(space.is_valid(c) for c in configs)
True
>>> only = default_space("binary").restrict(include=["logreg"])
>>> {only.choice(c) for c in load_portfolio(only, "binary")} <= {"logreg"}
True
"""

from __future__ import annotations

import json
import os
import warnings
from importlib import resources
from typing import Any

from automl.exceptions import InvalidConfigurationError
from automl.space import Space

__all__ = ["load_portfolio", "portfolio_entries"]

_KINDS = {"binary": "classification", "multiclass": "classification",
          "regression": "regression"}


def _kind(task: str) -> str:
    if task not in _KINDS:
        raise ValueError(f"task must be one of {sorted(_KINDS)}; got {task!r}.")
    return _KINDS[task]


def portfolio_entries(task: str, path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The raw entries (``algorithm``, ``config``, ``seconds``, ...) stored for ``task``.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    path : str or PathLike, optional
        A portfolio JSON file; default the built-in ``search_spaces/portfolio.json``.

    Examples
    --------
    >>> entries = portfolio_entries("regression")
    >>> sorted(entries[0])[:3]
    ['algorithm', 'config', 'mean_regret']
    """
    kind = _kind(task)
    if path is None:
        text = resources.files("search_spaces").joinpath("portfolio.json").read_text("utf-8")
        where = "the built-in search_spaces/portfolio.json"
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        where = os.fspath(path)
    data = json.loads(text)
    entries = data.get(kind) if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "config" in e
                                                for e in entries):
        raise ValueError(f"{where} must hold a list of entries with a 'config' under "
                         f"{kind!r}; got {type(entries).__name__}. Rebuild it with "
                         "benchmarks/portfolio/build.py.")
    return entries


def load_portfolio(space: Space, task: str, path: str | os.PathLike | None = None,
                   warn: bool = True) -> list[dict[str, Any]]:
    """The portfolio configurations valid in ``space``, in the file's order.

    Parameters
    ----------
    space : Space
        The space searched (possibly restricted or user-modified).
    task : {"binary", "multiclass", "regression"}
    path : str or PathLike, optional
        A portfolio JSON file; default the built-in one.
    warn : bool, default True
        Warn when entries do not validate. Meant for the default space, where that means
        the portfolio is stale; a user's own space is expected to reject some entries.

    Returns
    -------
    list of dict
        Nested configurations in the order stored (the order of evaluation).

    Warns
    -----
    UserWarning
        If ``warn`` and entries of algorithms the space has do not validate; they are
        skipped either way.

    Examples
    --------
    >>> from search_spaces import default_space
    >>> space = default_space("regression")
    >>> all(space.is_valid(c) for c in load_portfolio(space, "regression"))
    True
    """
    entries = portfolio_entries(task, path)
    algorithms = set(space.algorithms)
    kept, invalid = [], []
    for entry in entries:
        config = entry["config"]
        if _algorithm(space, config) not in algorithms:
            continue
        try:
            space.validate(config)
        except InvalidConfigurationError as exc:
            invalid.append(str(exc))
            continue
        kept.append(config)
    if invalid and warn:
        warnings.warn(f"{len(invalid)} of {len(entries)} portfolio configurations do not fit "
                      f"the search space and were skipped (first: {invalid[0]}). Rebuild the "
                      "portfolio with benchmarks/portfolio/build.py if the default space "
                      "changed.", UserWarning, stacklevel=2)
    return kept


def _algorithm(space: Space, config: Any) -> str | None:
    """The algorithm an entry names, without validating the rest of it."""
    choice = config.get(space.algorithm_key) if isinstance(config, dict) else None
    if isinstance(choice, dict) and len(choice) == 1:
        return next(iter(choice))
    return None

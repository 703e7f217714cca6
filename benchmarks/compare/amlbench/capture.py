"""For the probes in ``probes/`` (run in ours' environment): keep what ours' search was
given and what it returned, for the probe to look into after ``fit``."""

from __future__ import annotations

from typing import Any


def capture_search() -> dict[str, Any]:
    """Wrap ``automl.estimators.run_search``; after each fit the returned dict holds the
    search's ``data`` (its TrialData) and ``result`` (its SearchResult)."""
    import automl.estimators as estimators

    captured: dict[str, Any] = {}
    run_search = estimators.run_search

    def _capture(*args: Any, **kwargs: Any) -> Any:
        captured["data"] = args[0]
        captured["result"] = run_search(*args, **kwargs)
        return captured["result"]

    estimators.run_search = _capture
    return captured

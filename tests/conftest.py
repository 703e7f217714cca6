"""Fixtures shared by the tests of the search loop."""

from __future__ import annotations

import importlib
import time

import pytest

from automl.workers import WorkerPool


def _warm_up(module: str) -> None:
    """Import the test module (its estimators are unpickled from it), then hold the worker
    long enough that the other worker takes the other warm-up task."""
    importlib.import_module(module)
    time.sleep(0.5)


@pytest.fixture(scope="module")
def warm_pool(request):
    """One pool for the module, its workers started (and the test module imported in
    them) before any test's clock runs: a first unpickling that imports the test module
    took 0.45 s on a loaded machine, enough to push a 0.6 s fold past a 1 s cap."""
    pool = WorkerPool(2, 1, None, preload=("automl.evaluate",))
    for _ in range(2):
        pool.submit(_warm_up, request.module.__name__)
    done = []
    while len(done) < 2:
        done += pool.wait(timeout=120)

    class Borrowed:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return pool

        def __exit__(self, *exc):
            return None

    yield Borrowed
    pool.shutdown()

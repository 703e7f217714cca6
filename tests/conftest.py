"""Fixtures shared by the tests of the search loop."""

from __future__ import annotations

import time

import pytest

from automl.workers import WorkerPool


@pytest.fixture(scope="module")
def warm_pool():
    """One pool for the module, its workers started before any test's clock runs."""
    pool = WorkerPool(2, 1, None, preload=("automl.evaluate",))
    for _ in range(2):
        pool.submit(time.sleep, 0.5)
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

"""A test double for the worker pool: runs each task in this process, at submit time.

Starting worker processes costs seconds per fit; tests of the estimator contract, the
journal and Ctrl-C handling swap this in through ``automl.estimators._pool_factory``.
A task that raises ``Exception`` becomes an "error" result, as in a worker; a
``KeyboardInterrupt`` propagates, as Ctrl-C would in the parent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from automl.workers import TaskResult


class InProcessPool:
    """The WorkerPool interface of docs/CONTRACTS.md, running each task at submit time."""

    def __init__(self, n_workers: int, threads_per_worker: int = 1,
                 memory_limit_mb: float | None = None, *, preload: tuple = ()) -> None:
        self.n_workers = n_workers
        self._finished: list[TaskResult] = []
        self._next_id = 0

    def __enter__(self) -> InProcessPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def n_running(self) -> int:
        return 0

    @property
    def n_free(self) -> int:
        return self.n_workers

    def submit(self, fn: Callable[..., Any], *args: Any, time_limit: float | None = None,
               **kwargs: Any) -> int:
        task_id, self._next_id = self._next_id, self._next_id + 1
        start = time.perf_counter()
        try:
            value, status, error = fn(*args, **kwargs), "ok", None
        except Exception as exc:  # a failing trial is a result, as in a worker
            value, status, error = None, "error", f"{type(exc).__name__}: {exc}"
        self._finished.append(TaskResult(task_id, status, value, error,
                                         time.perf_counter() - start))
        return task_id

    def wait(self, timeout: float | None = None) -> list[TaskResult]:
        finished, self._finished = self._finished, []
        return finished

    def shutdown(self) -> None:
        self._finished = []

"""A fault-isolating pool of long-lived worker processes that runs trials.

Each task runs in a worker process that is reused from task to task. A task that runs past
its time limit or above the memory limit is stopped by killing its worker, which the pool
replaces at once; a task that raises is reported with its error; a task that kills its own
worker (``os._exit``, a signal, a segfault) is reported as crashed. No task can break the
pool, and every submitted task gets exactly one :class:`TaskResult`.

Design, in the spirit of loky: workers run the stdlib-only script
``automl/_worker_main.py``, each in its own process group. By default a fork server (the
"zygote", :mod:`automl._zygote`), itself a fresh interpreter started with ``subprocess``,
imports the preload modules once and forks the workers, so that a worker (or a replacement)
starts in milliseconds; otherwise each worker is a fresh interpreter. Nothing forks the
parent, which may hold OpenMP or BLAS threads, and the user's ``__main__`` is never
re-imported, so scripts need no ``if __name__ == "__main__"`` guard and notebooks work. Tasks travel pickled with
cloudpickle (functions defined in ``__main__`` or in test modules are fine). A monitor
thread in the parent waits on the result pipes with :func:`multiprocessing.connection.wait`,
reads every result as soon as it arrives (large results never stall a worker), enforces
time and memory limits, and replaces lost workers. Workers die with the parent: each
watches a pipe whose write end only the parent holds. POSIX only.

Examples
--------
>>> with WorkerPool(n_workers=2) as pool:
...     ids = [pool.submit(pow, 2, k, time_limit=10) for k in range(3)]
...     results = []
...     while len(results) < len(ids):
...         results += pool.wait(timeout=30)
>>> sorted(r.value for r in results)
[1, 2, 4]
"""

from __future__ import annotations

import math
import numbers
import pickle
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from automl._pool import PoolCore, Task
from automl._worker_main import format_error, load_cloudpickle

__all__ = ["START_METHODS", "STATUSES", "TaskResult", "WorkerPool"]

#: Every status a :class:`TaskResult` can have.
STATUSES = ("ok", "error", "timeout", "memout", "crashed")
#: The ways a :class:`WorkerPool` can start its worker processes.
START_METHODS = ("forkserver", "subprocess")


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one task.

    Attributes
    ----------
    task_id : int
        The id :meth:`WorkerPool.submit` returned.
    status : str
        One of ``"ok"``, ``"error"``, ``"timeout"``, ``"memout"``, ``"crashed"``.
    value : object
        The task's return value when ``status == "ok"``, else None.
    error : str or None
        For a failure: ``"Type: message"`` then a short traceback, or what stopped the task.
    duration : float
        Wall-clock seconds from the start of the task's clock (see
        :meth:`WorkerPool.submit`) to its result.

    Examples
    --------
    >>> TaskResult(0, "ok", 42, None, 0.1).value
    42
    """

    task_id: int
    status: str
    value: Any
    error: str | None
    duration: float


def _check_count(name: str, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _check_limit(name: str, value: Any, unit: str) -> float | None:
    if value is None:
        return None
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be None or a positive number of {unit}; got {value!r}.")
    return float(value)


class WorkerPool:
    """Run tasks in long-lived worker processes, isolating each task's failures.

    Parameters
    ----------
    n_workers : int
        Number of worker processes, i.e. of tasks running at once.
    threads_per_worker : int, default=1
        Cap on the native thread pools (OpenMP, BLAS, ...) inside each worker, set through
        the environment before the worker imports anything and with threadpoolctl.
    memory_limit_mb : float or None, default=None
        Resident memory (MB) a worker may use while it runs a task; above it the task is
        stopped with status ``"memout"``. Checked every 0.05 s.
    preload : sequence of str, default=()
        Modules each worker imports before it takes its first task (e.g.
        ``("numpy", "pandas", "sklearn")``), so that the imports run while the caller
        is still busy (preparing data, say) instead of inside the first tasks. A task
        that waits for a starting worker has its clock running all the same (see
        :meth:`submit`).
    start_method : {"forkserver", "subprocess"}, default="forkserver"
        How worker processes start. ``"forkserver"``: one helper process (a fresh
        interpreter, like a worker) imports the preload modules once and forks every
        worker from there, so further workers and replacements after a timeout or a crash
        start in milliseconds instead of re-importing. ``"subprocess"``: each worker is a
        fresh interpreter that imports the preload modules itself. The pool falls back to
        ``"subprocess"`` by itself where the fork server cannot work (not Linux, the
        helper died, or a preloaded module started a thread, which makes forking unsafe).

    Attributes
    ----------
    n_running : int
        Tasks submitted whose result is not produced yet (queued or running).
    n_free : int
        ``n_workers - n_running`` (at least 0): tasks that can start right away.

    Notes
    -----
    Tasks beyond ``n_workers`` wait in a queue, their clocks not running (see
    :meth:`submit`). Each result is read in a background thread the moment it
    arrives and kept until :meth:`wait` returns it. Tasks still running or queued at
    :meth:`shutdown` get no result. POSIX only.

    Examples
    --------
    >>> import os
    >>> with WorkerPool(n_workers=1) as pool:
    ...     ok = pool.submit(sum, [1, 2, 3])
    ...     bad = pool.submit(int, "x")
    ...     dead = pool.submit(os._exit, 3)
    ...     results = []
    ...     while len(results) < 3:
    ...         results += pool.wait(timeout=30)
    >>> [r.status for r in sorted(results, key=lambda r: r.task_id)]
    ['ok', 'error', 'crashed']
    """

    def __init__(self, n_workers: int, threads_per_worker: int = 1,
                 memory_limit_mb: float | None = None, *, preload: Sequence[str] = (),
                 start_method: str = "forkserver") -> None:
        self.n_workers = _check_count("n_workers", n_workers)
        self.threads_per_worker = _check_count("threads_per_worker", threads_per_worker)
        self.memory_limit_mb = _check_limit("memory_limit_mb", memory_limit_mb, "megabytes")
        if isinstance(preload, str) or not all(isinstance(name, str) for name in preload):
            raise ValueError(f"preload must be a sequence of module names; got {preload!r}.")
        if start_method not in START_METHODS:
            raise ValueError(f"start_method must be one of {START_METHODS}; got {start_method!r}.")
        self.preload = tuple(preload)
        self.start_method = start_method
        self._core = PoolCore(self.n_workers, self.threads_per_worker, self.memory_limit_mb,
                               self.preload, fork_server=start_method == "forkserver")
        self._next_id = 0
        self._id_lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, self._core.shutdown)

    def __repr__(self) -> str:
        return (f"WorkerPool(n_workers={self.n_workers}, threads_per_worker="
                f"{self.threads_per_worker}, memory_limit_mb={self.memory_limit_mb}, "
                f"start_method={self.start_method!r})")

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def n_running(self) -> int:
        """Tasks submitted whose result is not produced yet (queued or running)."""
        with self._core.lock:
            return self._core.unfinished

    @property
    def n_free(self) -> int:
        """How many more tasks would start at once: ``max(0, n_workers - n_running)``."""
        return max(0, self.n_workers - self.n_running)

    def submit(self, fn: Callable[..., Any], *args: Any, time_limit: float | None = None,
               **kwargs: Any) -> int:
        """Queue ``fn(*args, **kwargs)`` to run in a worker; return its task id.

        Parameters
        ----------
        fn : callable
            Pickled with cloudpickle, like ``args`` and ``kwargs``.
        time_limit : float or None
            Seconds the task may take. Its clock starts when it gets one of the
            ``n_workers`` slots: at once if ``n_free > 0`` at submission, else when an
            earlier task finishes. Time spent waiting for a (replacement) worker process
            to start counts, so a limit taken from a deadline keeps that deadline. Past
            the limit the worker is killed and the task gets status ``"timeout"``.

        Returns
        -------
        int
            The task id, which its :class:`TaskResult` carries.

        Examples
        --------
        >>> with WorkerPool(1) as pool:
        ...     task_id = pool.submit(max, 1, 5, time_limit=10)
        ...     [(r.task_id == task_id, r.value) for r in pool.wait(timeout=30)]
        [(True, 5)]
        """
        core = self._core
        if self._closed:
            raise RuntimeError("This WorkerPool was shut down; create a new pool to submit tasks.")
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {fn!r} of type {type(fn).__name__}.")
        limit = _check_limit("time_limit", time_limit, "seconds")
        try:
            payload = load_cloudpickle().dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(
                f"The task {fn!r} or its arguments could not be pickled ({type(exc).__name__}: "
                f"{exc}); pass only objects that cloudpickle can serialise (no open files, locks, "
                "sockets or generators)."
            ) from exc
        with self._id_lock:
            task_id, self._next_id = self._next_id, self._next_id + 1
        task = Task(task_id, payload, limit)
        with core.lock:
            if core.broken is not None:
                raise RuntimeError(f"This WorkerPool is broken: {core.broken}")
            if core.unfinished < self.n_workers:
                task.start_clock(time.monotonic())
            core.pending.append(task)
            core.unfinished += 1
        core.wake()
        return task_id

    def wait(self, timeout: float | None = None) -> list[TaskResult]:
        """Return the tasks finished since the last call, waiting for at least one.

        Parameters
        ----------
        timeout : float or None
            Longest wait in seconds (a negative one counts as 0); None waits until a task
            finishes. Returns an empty list at once when no task is queued or running, and
            after ``timeout`` when none finished.

        Returns
        -------
        list of TaskResult
            In the order the tasks finished.

        Examples
        --------
        >>> with WorkerPool(1) as pool:
        ...     pool.wait(timeout=0.1)
        []
        """
        core = self._core
        with core.lock:
            if core.unfinished == 0 and core.finished.empty():
                return []
        try:
            finished = [core.finished.get(timeout=None if timeout is None else max(timeout, 0.0))]
        except queue.Empty:
            return []
        while not core.finished.empty():
            finished.append(core.finished.get())
        return [self._result(*item) for item in finished]

    @staticmethod
    def _result(task: Task, status: str, value: bytes | None, error: str | None,
                duration: float) -> TaskResult:
        if value is None:
            return TaskResult(task.task_id, status, None, error, duration)
        try:
            return TaskResult(task.task_id, status, pickle.loads(value), error, duration)
        except Exception as exc:  # noqa: BLE001 - reported as the task's error
            return TaskResult(task.task_id, "error", None,
                              "The task's return value could not be unpickled in the parent. "
                              + format_error(exc), duration)

    def shutdown(self) -> None:
        """Kill every worker, reap it and close its pipes; idempotent.

        Tasks still queued or running get no result; finished ones can still be collected
        with :meth:`wait`.

        Examples
        --------
        >>> pool = WorkerPool(1)
        >>> pool.shutdown()
        >>> pool.n_running
        0
        """
        self._closed = True
        self._finalizer()
        with self._core.lock:
            self._core.unfinished = 0

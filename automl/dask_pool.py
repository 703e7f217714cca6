"""Run trials on a Dask cluster with the bookkeeping of the local WorkerPool.

:class:`DaskPool` has exactly the interface of :class:`automl.workers.WorkerPool`
(``submit``/``wait``/``n_running``/``n_free``/``shutdown``, a context manager) and sends
each task as one future to a ``dask.distributed`` :class:`~distributed.Client`: the one
given, or the one the user made active (see :func:`active_dask_client`).

What happens to a task:

* It starts on a worker thread, which tells the pool it started (an event on a topic of
  this pool): time limits count from that moment (or from submission while it waits).
* Returned value: status ``"ok"``; raised exception: status ``"error"`` with the
  formatted traceback.
* Its worker dies (``os._exit``, segfault, the nanny killing it over its memory limit):
  status ``"crashed"``. Dask's scheduler would run the task again on another worker (up
  to ``distributed.scheduler.allowed-failures`` times, then raise ``KilledWorker``), so
  each task first claims a ``distributed.Event`` named after it on the scheduler (two
  round trips); a re-run finds the claim and returns at once without calling the
  function. A trial is therefore not re-run; only if its worker dies in the instant
  between checking and setting the claim can it run once more (never twice).
* Past its time limit: status ``"timeout"`` and the future is cancelled. Dask cannot
  interrupt Python code running in a worker thread: cancelling releases the task on the
  scheduler and discards its result, but the thread keeps computing until the function
  returns (its worker is then free again). Per-trial checks inside the trial (``should_stop``)
  end it sooner.

Dask is an optional extra: ``pip install 'automl[dask]'``.

Examples
--------
>>> from distributed import Client, LocalCluster              # doctest: +SKIP
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
>>> with DaskPool(client=client) as pool:                      # doctest: +SKIP
...     task = pool.submit(sum, [1, 2, 3], time_limit=10)
...     [r.value for r in pool.wait(timeout=30)]
[6]
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from automl._worker_main import format_error
from automl.workers import TaskResult

__all__ = ["DaskPool", "active_dask_client"]

_POLL = 0.02  # seconds between checks of the futures while waiting
_TOPIC = "automl-dask-pool-"
_RERUN = ("the Dask worker running this task died; the scheduler sent it to another worker, "
          "which did not run it again (automl does not re-run a trial silently)")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "Running trials on Dask needs dask.distributed, which is not installed. "
            "Install the extra: pip install 'automl[dask]'."
        ) from exc
    return distributed


def active_dask_client() -> Any:
    """The Dask client the user asked automl to use, or None.

    The user asks by making joblib's Dask backend active, for example with
    ``joblib.parallel_config(backend="dask")`` after creating a ``distributed.Client``.
    The client is the backend's own, else distributed's default client. Outside a Dask
    backend this returns None without importing Dask.

    Returns
    -------
    distributed.Client or None

    Examples
    --------
    >>> active_dask_client() is None   # joblib's default backend is loky
    True
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if "dask" not in type(backend).__name__.lower():
        return None
    client = getattr(backend, "client", None)
    if client is not None:
        return client
    distributed = _import_distributed()
    try:
        return distributed.default_client()
    except ValueError:
        return None


def _run_task(token: str, topic: str, threads: int, preload: tuple[str, ...],
              fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[str, Any, str | None, float]:
    """Run on a Dask worker: refuse a re-run, announce the start, cap threads, catch errors."""
    from distributed import Event, get_worker
    from threadpoolctl import threadpool_limits

    for module in preload:
        importlib.import_module(module)
    claim = Event(token)
    if claim.is_set():  # an earlier run of this task lost its worker
        return "crashed", None, _RERUN, 0.0
    claim.set()
    worker = get_worker()
    worker.log_event(topic, {"token": token, "worker": worker.address})
    start = time.perf_counter()
    try:
        with threadpool_limits(limits=threads):
            value = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the task's error is its result
        return "error", None, format_error(exc), time.perf_counter() - start
    return "ok", value, None, time.perf_counter() - start


@dataclass
class _DaskTask:
    future: Any
    token: str
    time_limit: float | None
    submitted: float
    started: float | None = None
    worker: str | None = None


class DaskPool:
    """A pool of trial slots on a Dask cluster, with the WorkerPool interface.

    Parameters
    ----------
    n_workers : int or None, default=None
        How many tasks run at once (``n_free`` is counted from it). None or a value
        below 1 means the cluster's total number of worker threads.
    threads_per_worker : int, default=1
        Native thread pools (OpenMP, BLAS) are capped to this inside each task.
    memory_limit_mb : float or None, default=None
        Not enforced per task: the cluster's worker memory limit applies (the nanny
        restarts a worker that exceeds it, and its task is recorded "crashed").
    preload : sequence of str, default=()
        Modules each task imports before running (already-imported ones cost nothing).
    client : distributed.Client, optional
        The cluster to use; default :func:`active_dask_client`.

    Raises
    ------
    ImportError
        dask.distributed is not installed (the ``automl[dask]`` extra).
    ValueError
        No client was given and none is active.

    Examples
    --------
    >>> import joblib
    >>> from distributed import Client
    >>> client = Client("tcp://scheduler:8786")                    # doctest: +SKIP
    >>> with joblib.parallel_config(backend="dask"), DaskPool() as pool:  # doctest: +SKIP
    ...     pool.n_workers == sum(client.nthreads().values())
    True
    """

    def __init__(self, n_workers: int | None = None, threads_per_worker: int = 1,
                 memory_limit_mb: float | None = None, *, preload: Sequence[str] = (),
                 client: Any = None) -> None:
        _import_distributed()
        if isinstance(preload, str) or not all(isinstance(name, str) for name in preload):
            raise ValueError(f"preload must be a sequence of module names; got {preload!r}.")
        client = active_dask_client() if client is None else client
        if client is None:
            raise ValueError(
                "DaskPool needs a dask.distributed Client; none was given and none is "
                "active. Create one (distributed.Client('tcp://scheduler:8786')) and pass "
                "client=..., or run inside joblib.parallel_config(backend='dask').")
        if n_workers is None or n_workers < 1:
            n_workers = max(1, sum(client.nthreads().values()))
        self.client = client
        self.n_workers = int(n_workers)
        self.threads_per_worker = max(1, int(threads_per_worker))
        self.memory_limit_mb = memory_limit_mb
        self.preload = tuple(preload)
        self._topic = _TOPIC + uuid.uuid4().hex
        self._lock = threading.Lock()
        self._tasks: dict[int, _DaskTask] = {}
        self._by_token: dict[str, _DaskTask] = {}
        self._done: list[TaskResult] = []
        self._next_id = 0
        self._closed = False
        client.subscribe_topic(self._topic, self._on_event)

    def __repr__(self) -> str:
        return f"DaskPool(n_workers={self.n_workers}, client={self.client!r})"

    def __enter__(self) -> "DaskPool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def n_running(self) -> int:
        """Tasks submitted whose result has not been returned by :meth:`wait` yet."""
        return len(self._tasks)

    @property
    def n_free(self) -> int:
        """How many more tasks would start at once: ``max(0, n_workers - n_running)``."""
        return max(0, self.n_workers - self.n_running)

    def submit(self, fn: Callable[..., Any], *args: Any, time_limit: float | None = None,
               **kwargs: Any) -> int:
        """Send ``fn(*args, **kwargs)`` to the cluster; return its task id.

        Parameters
        ----------
        fn : callable
            Must be importable on the workers (install automl there) or cloudpickle-able.
        time_limit : float or None
            Seconds the task may run once started (waiting to start counts until then).

        Returns
        -------
        int
        """
        if self._closed:
            raise RuntimeError("This DaskPool was shut down; create a new pool to submit tasks.")
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {fn!r} of type {type(fn).__name__}.")
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds or None; "
                             f"got {time_limit!r}.")
        task_id, self._next_id = self._next_id, self._next_id + 1
        token = f"automl-task-{self._topic[len(_TOPIC):]}-{task_id}"
        future = self.client.submit(_run_task, token, self._topic, self.threads_per_worker,
                                    self.preload, fn, args, kwargs, key=token, pure=False,
                                    retries=0)
        task = _DaskTask(future, token, time_limit, time.monotonic())
        with self._lock:
            self._tasks[task_id] = task
            self._by_token[token] = task
        return task_id

    def _on_event(self, event: tuple[float, dict]) -> None:
        """Called by the client (its own thread) when a task starts on a worker."""
        message = event[1]
        with self._lock:
            task = self._by_token.get(message.get("token"))
            if task is None:
                return
            if task.started is None:
                task.started, task.worker = time.monotonic(), message.get("worker")

    def wait(self, timeout: float | None = None) -> list[TaskResult]:
        """Return the tasks finished since the last call, waiting for at least one.

        Parameters
        ----------
        timeout : float or None
            Longest wait in seconds; None waits until a task finishes. Returns an empty
            list at once when no task is running, and after ``timeout``.

        Returns
        -------
        list of TaskResult
        """
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self._collect()
            if self._done or not self._tasks:
                break
            left = _POLL if end is None else min(_POLL, end - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        done, self._done = self._done, []
        return done

    def _collect(self) -> None:
        now = time.monotonic()
        with self._lock:
            tasks = list(self._tasks.items())
        for task_id, task in tasks:
            outcome = self._outcome(task, now)
            if outcome is not None:
                status, value, error, duration = outcome
                with self._lock:
                    del self._tasks[task_id]
                    del self._by_token[task.token]
                self._release_claim(task.token)
                self._done.append(TaskResult(task_id, status, value, error, duration))

    def _outcome(self, task: _DaskTask, now: float) -> tuple[str, Any, str | None, float] | None:
        elapsed = now - (task.submitted if task.started is None else task.started)
        if task.future.done():
            return self._finished(task, elapsed)
        if task.time_limit is not None and elapsed > task.time_limit:
            task.future.cancel()
            where = "it had not started" if task.started is None else "it was still running"
            return ("timeout", None, f"stopped after its time limit of {task.time_limit:.3g} s "
                    f"({where}; Dask cannot interrupt a running task, whose result is "
                    "discarded)", elapsed)
        return None

    def _release_claim(self, token: str) -> None:
        """Delete the task's claim Event on the scheduler (it only guards re-runs)."""
        from distributed import Event

        try:
            Event(token, client=self.client).clear()
        except (OSError, TimeoutError):  # connection lost: a leftover flag is harmless
            pass

    @staticmethod
    def _finished(task: _DaskTask, elapsed: float) -> tuple[str, Any, str | None, float]:
        status = task.future.status
        if status == "finished":
            try:
                return task.future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. the value cannot be unpickled
                return "error", None, format_error(exc), elapsed
        if status == "error":
            exc = task.future.exception()
            if type(exc).__name__ == "KilledWorker":
                return "crashed", None, f"the Dask worker running this task died ({exc})", elapsed
            return "error", None, format_error(exc), elapsed
        return "crashed", None, f"the Dask future ended with status {status!r}", elapsed

    def shutdown(self) -> None:
        """Cancel every unfinished task of this pool and stop listening; idempotent.

        The client and its cluster are the user's and stay up; tasks still running get
        no result (see the module notes on what cancelling does on Dask).
        """
        if self._closed:
            return
        self._closed = True
        with self._lock:
            futures = [task.future for task in self._tasks.values()]
            tokens = list(self._by_token)
            self._tasks.clear()
            self._by_token.clear()
        if self.client.status != "running":  # the user closed the client first
            return
        if futures:
            self.client.cancel(futures, force=True)
        for token in tokens:
            self._release_claim(token)
        self.client.unsubscribe_topic(self._topic)

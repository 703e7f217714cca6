"""Internals of :mod:`automl.workers`: the parent's handle on a worker process (a fresh
subprocess, or a process forked by the zygote of :mod:`automl._zygote`) and the monitor
thread that dispatches tasks, reads results, enforces limits and replaces lost workers.

Examples
--------
>>> _describe_exit(-9)
'killed by signal SIGKILL'
"""

from __future__ import annotations

import math
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_ready
from typing import Any

from automl._worker_main import format_error
from automl._zygote import Zygote

#: Environment variables that size native thread pools; each worker gets them set.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "LOKY_MAX_CPU_COUNT",
)
#: Workers that die before becoming ready, in a row, before the pool gives up.
MAX_START_FAILURES = 3
#: Seconds between two memory checks of a busy worker (when a memory limit is set).
MEMORY_POLL_INTERVAL = 0.05
#: Longest sleep of the monitor thread between two looks at the workers.
IDLE_POLL_INTERVAL = 0.5
#: Seconds a worker may take to start (and import the preload modules) before it is killed.
START_TIMEOUT = 120.0
_WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker_main.py")


@dataclass
class Task:
    """A submitted task: its pickled call, its limit, and when its clock started.

    The clock starts when the task gets one of the pool's ``n_workers`` slots (see
    :meth:`automl.workers.WorkerPool.submit`), not when a worker process picks it up.
    """

    task_id: int
    payload: bytes
    time_limit: float | None
    clock_start: float = math.nan
    deadline: float = math.inf

    def start_clock(self, now: float) -> None:
        """Start counting the task's time (and set its deadline) from ``now``."""
        self.clock_start = now
        if self.time_limit is not None:
            self.deadline = now + self.time_limit


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class _Subprocess:
    """A worker started as a fresh interpreter, a child of the parent (no fork server)."""

    never_started = False
    lost = None

    def __init__(self, threads: int, alive_fd: int, task_fd: int, result_fd: int) -> None:
        env = dict(os.environ, **{name: str(threads) for name in THREAD_ENV_VARS})
        command = [sys.executable, _WORKER_SCRIPT, str(task_fd), str(result_fd), str(alive_fd),
                   str(os.getpid())]
        self.popen = subprocess.Popen(
            command, pass_fds=(task_fd, result_fd, alive_fd), env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.pid: int | None = self.popen.pid

    def has_exited(self) -> bool:
        """Whether the process ended (it stays a zombie: the pid is not reaped here)."""
        try:
            return os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def kill_group(self) -> None:
        """SIGKILL the worker and whatever its task started (safe: the worker is not reaped yet)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> int:
        """Reap the worker; return its exit code."""
        return self.popen.wait()


class _Worker:
    """The parent's handle on one worker process (used by the monitor thread only).

    ``start(task_fd, result_fd)`` starts the process (a :class:`_Subprocess` or a
    :class:`~automl._zygote.ZygoteProcess`) that serves those two pipe ends.
    """

    def __init__(self, start: Callable[[int, int], Any], init_message: bytes) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        try:
            self.process = start(task_r, result_w)
        except BaseException:
            for fd in (task_w, result_r):
                os.close(fd)
            raise
        finally:
            os.close(task_r)
            os.close(result_w)
        self.tasks = Connection(task_w, readable=False)
        self.results = Connection(result_r, writable=False)
        self.ready = False
        self.launched = time.monotonic()
        self.task: Task | None = None
        self.tasks.send_bytes(init_message)

    def has_exited(self) -> bool:
        """Whether the process ended (it is not reaped before :meth:`kill`)."""
        return self.process.has_exited()

    def rss_mb(self) -> float:
        """Resident memory of the worker in MB (psutil if importable, else /proc); 0 if gone."""
        pid = self.process.pid
        if pid is None:
            return 0.0
        try:
            import psutil
        except ImportError:
            try:
                with open(f"/proc/{pid}/statm") as statm:
                    return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
            except (OSError, ValueError, IndexError):
                return 0.0
        try:
            return psutil.Process(pid).memory_info().rss / 2**20
        except psutil.Error:
            return 0.0

    def kill_group(self) -> None:
        """SIGKILL the worker and whatever its task started (the worker is not reaped yet)."""
        self.process.kill_group()

    def kill(self) -> str:
        """Kill the worker's process group, reap the worker, close its pipes; describe its exit."""
        self.process.kill_group()
        returncode = self.process.wait()
        self.tasks.close()
        self.results.close()
        if returncode is not None:
            return _describe_exit(returncode)
        return self.process.lost or "it had not started yet"


class PoolCore:
    """The workers, the task queues and the monitor thread that drives them.

    Kept apart from :class:`~automl.workers.WorkerPool` so that the thread holds no
    reference to the pool object, which can then be garbage-collected (its finalizer
    calls :meth:`shutdown`).
    """

    def __init__(self, n_workers: int, threads: int, memory_limit_mb: float | None,
                 preload: Sequence[str], fork_server: bool = True) -> None:
        self.n_workers, self.threads, self.memory_limit_mb = n_workers, threads, memory_limit_mb
        self.lock = threading.Lock()
        self.pending: deque[Task] = deque()
        self.finished: queue.SimpleQueue[tuple[Task, str, bytes | None, str | None, float]] = (
            queue.SimpleQueue()
        )
        self.unfinished = 0
        self.closing = False
        self.broken: str | None = None
        self.start_failures = 0
        self.alive_r, self.alive_w = os.pipe()
        self.wake_r, wake_w = os.pipe()
        self.wake_w: int | None = wake_w
        self.wake_lock = threading.Lock()
        os.set_blocking(self.wake_w, False)
        self.init_message = pickle.dumps(
            {"sys_path": list(sys.path), "preload": list(preload), "threads": threads}
        )
        self.workers: list[_Worker] = []
        self.zygote: Zygote | None = None
        try:
            if fork_server:
                self.zygote = self._start_zygote(preload)
            for _ in range(n_workers):
                self.workers.append(self._new_worker())
        except BaseException:
            self._cleanup()
            raise
        self.thread = threading.Thread(target=self._run, name="automl-worker-pool", daemon=True)
        self.thread.start()

    # -- called from any thread ---------------------------------------------------------

    def wake(self) -> None:
        """Interrupt the monitor thread's wait (after a submission or for shutdown)."""
        with self.wake_lock:
            if self.wake_w is None:
                return
            try:
                os.write(self.wake_w, b"\0")
            except BlockingIOError:  # the pipe is full: the monitor is already awake
                pass

    def shutdown(self) -> None:
        """Ask the monitor thread to kill every worker, and wait for it unless called from it."""
        self.closing = True
        self.wake()
        if threading.current_thread() is not self.thread:
            self.thread.join()

    # -- starting workers (the constructor, then the monitor thread) --------------------

    def _start_zygote(self, preload: Sequence[str]) -> Zygote | None:
        """Start the fork server; None (plain subprocess workers) where it cannot start."""
        env = dict(os.environ, **{name: "1" for name in THREAD_ENV_VARS})
        init = {"sys_path": list(sys.path), "preload": list(preload),
                "worker_env": {name: str(self.threads) for name in THREAD_ENV_VARS}}
        try:
            return Zygote(env, self.alive_r, init)
        except OSError:
            return None

    def _new_worker(self) -> _Worker:
        """A worker forked by the zygote while it works, else a fresh subprocess."""
        if self.zygote is not None and self.zygote.usable:
            try:
                return _Worker(self.zygote.spawn, self.init_message)
            except OSError:  # the zygote is gone: fall back to a plain subprocess
                pass
        return _Worker(partial(_Subprocess, self.threads, self.alive_r), self.init_message)

    # -- the monitor thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.closing:
                self._dispatch()
                self._poll(self._next_timeout())
                self._enforce_limits()
        except BaseException as exc:  # noqa: BLE001 - the pool must report, not vanish
            self._break(f"The worker pool's monitor thread failed. {format_error(exc)}")
        finally:
            self._cleanup()

    def _finish(self, task: Task, status: str, value: bytes | None, error: str | None) -> None:
        now = time.monotonic()
        duration = 0.0 if math.isnan(task.clock_start) else now - task.clock_start
        self.finished.put((task, status, value, error, duration))
        with self.lock:
            self.unfinished -= 1
            waiting = [t for t in self.pending if math.isnan(t.clock_start)]
            if waiting:  # the slot this task held passes to the oldest waiting task
                waiting[0].start_clock(now)

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not worker.ready or worker.task is not None:
                continue
            with self.lock:
                if not self.pending:
                    return
                task = self.pending.popleft()
            if math.isnan(task.clock_start):
                task.start_clock(time.monotonic())
            worker.task = task
            try:
                worker.tasks.send_bytes(pickle.dumps((task.task_id, task.payload)))
            except OSError:  # the worker died before it got the whole task: run it elsewhere
                worker.task = None
                with self.lock:
                    self.pending.appendleft(task)

    def _next_timeout(self) -> float:
        busy = [w.task for w in self.workers if w.task is not None]
        timeout = IDLE_POLL_INTERVAL
        if busy and self.memory_limit_mb is not None:
            timeout = MEMORY_POLL_INTERVAL
        with self.lock:
            deadlines = [task.deadline for task in (*busy, *self.pending)]
        return max(min([timeout, *(d - time.monotonic() for d in deadlines)]), 0.0)

    def _poll(self, timeout: float) -> None:
        by_connection = {worker.results: worker for worker in self.workers}
        watched: list[Any] = [*by_connection, self.wake_r]
        zygote = self.zygote if self.zygote is not None and self.zygote.alive else None
        if zygote is not None:
            watched.append(zygote)
        ready_list = wait_for_ready(watched, timeout)
        if zygote in ready_list:  # first: a worker's exit status, or the zygote's death
            zygote.pump()
        for ready in ready_list:
            if ready is zygote:
                continue
            if ready == self.wake_r:
                os.read(self.wake_r, 65536)
            else:
                self._read(by_connection[ready])
        for worker in list(self.workers):
            if worker in self.workers and worker.has_exited():
                worker.kill_group()  # a survivor of the group could hold the pipe open
                self._read(worker)  # take what the worker sent before it died
                if worker in self.workers:
                    self._lose(worker)

    def _read(self, worker: _Worker) -> None:
        try:
            while worker.results.poll():
                message = pickle.loads(worker.results.recv_bytes())
                if message == "ready":
                    worker.ready = True
                    self.start_failures = 0
                    continue
                _, status, error, has_value = message
                value = worker.results.recv_bytes() if has_value else None
                task, worker.task = worker.task, None
                self._finish(task, status, value, error)
        except (EOFError, OSError):
            self._lose(worker)

    def _lose(self, worker: _Worker) -> None:
        exit_text = self._remove(worker)
        if worker.task is not None:
            self._finish(worker.task, "crashed", None,
                         "The worker process died while running the task "
                         f"({exit_text}); see the worker's stderr for details.")
        elif not worker.ready and not worker.process.never_started:
            self.start_failures += 1
            if self.start_failures >= MAX_START_FAILURES:
                self._break(
                    f"{MAX_START_FAILURES} worker processes in a row died while starting "
                    f"(last: {exit_text}); see their stderr above. Check the "
                    "preload modules and that the Python environment works, then make a new pool."
                )
                return
        self._replace()

    def _stop(self, worker: _Worker, status: str, error: str) -> None:
        task = worker.task
        self._remove(worker)
        self._finish(task, status, None, error)
        self._replace()

    def _remove(self, worker: _Worker) -> str:
        self.workers.remove(worker)
        return worker.kill()

    def _replace(self) -> None:
        if not self.closing and self.broken is None:
            self.workers.append(self._new_worker())

    def _enforce_limits(self) -> None:
        now = time.monotonic()
        for worker in [w for w in self.workers if not w.ready]:
            if now - worker.launched > START_TIMEOUT:
                self._lose(worker)
        with self.lock:
            expired = [task for task in self.pending if now >= task.deadline]
            for task in expired:
                self.pending.remove(task)
        for task in expired:
            self._finish(task, "timeout", None,
                         f"The task's time limit of {task.time_limit:g} s ran out while it waited "
                         "for a worker process to start; give it a larger time_limit.")
        for worker in [w for w in self.workers if w.task is not None]:
            task = worker.task
            if worker.results.poll():  # a result (or the worker's death) came first
                self._read(worker)
            elif now >= task.deadline:
                self._stop(worker, "timeout",
                           f"The task exceeded its time limit of {task.time_limit:g} s and was "
                           "stopped; give it a larger time_limit if it needs more time.")
            elif self.memory_limit_mb is not None:
                rss = worker.rss_mb()
                if rss > self.memory_limit_mb:
                    self._stop(worker, "memout",
                               f"The task used {rss:.0f} MB of resident memory, above the limit "
                               f"of {self.memory_limit_mb:g} MB, and was stopped; raise "
                               "memory_limit_mb or make the task lighter.")

    def _break(self, reason: str) -> None:
        self.closing = True
        with self.lock:
            self.broken = reason
            tasks = [*self.pending, *(w.task for w in self.workers if w.task is not None)]
            self.pending.clear()
        for worker in self.workers:
            worker.task = None
        for task in tasks:
            self._finish(task, "crashed", None, reason)

    def _cleanup(self) -> None:
        for worker in self.workers:
            worker.kill_group()  # all at once, then reap them one by one
        for worker in self.workers:
            worker.kill()
        self.workers = []
        if self.zygote is not None:
            self.zygote.close()
        with self.wake_lock:
            wake_w, self.wake_w = self.wake_w, None
        for fd in (self.alive_r, self.alive_w, self.wake_r, wake_w):
            if fd is not None:
                os.close(fd)

"""The process that runs tasks for :class:`automl.workers.WorkerPool`.

:class:`~automl.workers.WorkerPool` starts this file as a script in a fresh interpreter
(``python _worker_main.py TASK_FD RESULT_FD ALIVE_FD PARENT_PID``), so the user's
``__main__`` is never re-imported and no threaded parent is forked. The file imports only
the standard library at the top; heavy modules arrive with the tasks (or with the optional
preload list).

Protocol, over two pipes wrapped in :class:`multiprocessing.connection.Connection`:

* parent -> worker, first message: ``pickle({"sys_path", "preload", "threads"})``;
  then one message per task: ``pickle((task_id, payload))`` where ``payload`` is
  ``cloudpickle((fn, args, kwargs))``.
* worker -> parent: ``pickle("ready")`` once started; then per task
  ``pickle((task_id, status, error, has_value))``, followed, when ``has_value``, by one
  message holding ``cloudpickle(value)``.

A third descriptor, ``ALIVE_FD``, is the read end of a pipe whose write end only the
parent holds: it reaches end-of-file when the parent dies, and a watchdog thread then
kills this worker's process group (the worker and anything its task started).

Examples
--------
>>> cloudpickle = load_cloudpickle()
>>> pickle.loads(cloudpickle.dumps(lambda x: x + 1))(1)
2
"""

import sys

if __name__ == "__main__":
    # Run as a script, the automl/ directory is sys.path[0]: drop it so that none of our
    # module names can shadow a standard-library module in this process.
    import os.path as _osp

    if sys.path and sys.path[0] == _osp.dirname(_osp.abspath(__file__)):
        del sys.path[0]

import contextlib
import faulthandler
import importlib
import os
import pickle
import select
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any, ContextManager

#: Frames of the task's own traceback kept in an error report.
TRACEBACK_FRAMES = 5
#: Longest error report sent back, in characters.
MAX_ERROR_CHARS = 4000
#: Seconds between two checks that the parent is still alive.
PARENT_CHECK_INTERVAL = 1.0


def load_cloudpickle() -> ModuleType:
    """Return the standalone ``cloudpickle`` if installed, else joblib's vendored copy.

    Examples
    --------
    >>> hasattr(load_cloudpickle(), "dumps")
    True
    """
    try:
        import cloudpickle
    except ImportError:
        from joblib.externals import cloudpickle
    return cloudpickle


def format_error(exc: BaseException) -> str:
    """Describe an exception as ``"Type: message"``, a blank line, then a short traceback.

    Examples
    --------
    >>> format_error(ValueError("bad value")).splitlines()[0]
    'ValueError: bad value'
    """
    frames = traceback.format_exception(
        type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES
    )
    report = f"{type(exc).__name__}: {exc}\n\n{''.join(frames)}"
    if len(report) > MAX_ERROR_CHARS:
        report = report[: MAX_ERROR_CHARS - 15] + "\n[... cut ...]"
    return report


def _thread_limits(threads: int) -> ContextManager[Any]:
    """Cap the native thread pools already loaded (threadpoolctl), if threadpoolctl exists."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def run_task(payload: bytes, threads: int) -> tuple[str, bytes | None, str | None]:
    """Unpickle and run one task; return ``(status, pickled value or None, error or None)``.

    A task's exception (even ``SystemExit``) is reported, never raised: it is the task's
    failure, not the worker's.

    Examples
    --------
    >>> payload = load_cloudpickle().dumps((divmod, (7, 2), {}))
    >>> status, value, error = run_task(payload, threads=1)
    >>> status, pickle.loads(value), error
    ('ok', (3, 1), None)
    """
    try:
        fn, args, kwargs = pickle.loads(payload)
        with _thread_limits(threads):
            value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        return "error", None, format_error(exc.with_traceback(exc.__traceback__.tb_next))
    try:
        return "ok", load_cloudpickle().dumps(value, protocol=pickle.HIGHEST_PROTOCOL), None
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        return "error", None, "The task's return value could not be pickled. " + format_error(exc)


def _watch_parent(alive_fd: int, parent_pid: int) -> None:
    """Kill this worker (and its process group) once the parent process is gone."""
    while True:
        readable, _, _ = select.select([alive_fd], [], [], PARENT_CHECK_INTERVAL)
        if readable or os.getppid() != parent_pid:
            break
    if os.getpgid(0) == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def main(argv: list[str]) -> None:
    """Serve tasks until the task pipe closes (see the module docstring for the protocol)."""
    task_fd, result_fd, alive_fd, parent_pid = (int(arg) for arg in argv[1:5])
    faulthandler.enable()  # a segfaulting task leaves its traceback on stderr
    threading.Thread(
        target=_watch_parent, args=(alive_fd, parent_pid), name="parent-watch", daemon=True
    ).start()
    tasks = Connection(task_fd, writable=False)
    results = Connection(result_fd, readable=False)
    init = pickle.loads(tasks.recv_bytes())
    sys.path[:] = init["sys_path"]
    for module in init["preload"]:
        importlib.import_module(module)
    results.send_bytes(pickle.dumps("ready"))
    while True:
        try:
            task_id, payload = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        status, value, error = run_task(payload, init["threads"])
        results.send_bytes(pickle.dumps((task_id, status, error, value is not None)))
        if value is not None:
            results.send_bytes(value)


if __name__ == "__main__":
    main(sys.argv)

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

Run as ``python _worker_main.py zygote CONTROL_FD ALIVE_FD PARENT_PID``, the script is
instead the pool's fork server (the "zygote", see :mod:`automl._zygote`): it imports the
preload modules once, then forks workers that serve exactly as above, each in its own
session, and reports their exits over the control socket.

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
import socket
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
#: Longest message on the zygote's control socket (the first one carries ``sys.path``).
MAX_CONTROL_MESSAGE = 1 << 20


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


def serve(task_fd: int, result_fd: int, alive_fd: int, parent_pid: int) -> None:
    """Serve tasks until the task pipe closes (see the module docstring for the protocol)."""
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


def _exit_code(info: os.waitid_result) -> int:
    """A ``Popen.returncode`` from a :func:`os.waitid` result (negative: killed by a signal)."""
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _thread_count() -> int:
    """Threads of this process, native ones included (Linux ``/proc``)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _flush_std_streams() -> None:
    """Flush ``sys.stdout`` and ``sys.stderr`` if they exist and are open."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()


def _ignore_signal(signum: int, frame: Any) -> None:
    """A no-op handler: SIGCHLD only has to wake the zygote through its wakeup fd."""


class _Zygote:
    """The fork server's loop: fork a worker per request, report each worker's exit.

    Single-threaded by design (a fork copies only the calling thread): it waits with
    :func:`select.select` on the control socket, on the parent's alive pipe and on a
    wakeup pipe that SIGCHLD writes to. A worker stays a zombie after it exits, its exit
    reported, until the parent asks to release it, so that the parent can kill the
    worker's process group without the pid being recycled meanwhile.
    """

    def __init__(self, control: socket.socket, alive_fd: int, parent_pid: int,
                 worker_env: dict[str, str]) -> None:
        self.control, self.alive_fd, self.parent_pid = control, alive_fd, parent_pid
        self.worker_env, self.pid = worker_env, os.getpid()
        self.children: dict[int, bool] = {}  # pid -> whether its exit was reported
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.signal(signal.SIGCHLD, _ignore_signal)
        signal.set_wakeup_fd(self.wake_w)

    def send(self, message: tuple) -> None:
        self.control.send(pickle.dumps(message))

    def serve(self) -> None:
        """Handle requests until the parent closes the control socket or dies."""
        try:
            self.send(("ready", self.pid))
            while True:
                watched = [self.control, self.alive_fd, self.wake_r]
                readable, _, _ = select.select(watched, [], [], PARENT_CHECK_INTERVAL)
                if self.alive_fd in readable or os.getppid() != self.parent_pid:
                    return
                if self.wake_r in readable:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 4096):
                            pass
                self.report_exits()
                if self.control in readable and not self.handle_request():
                    return
        except OSError:  # the parent is gone (broken control socket)
            return
        finally:
            self.kill_children()

    def handle_request(self) -> bool:
        """Handle one message from the parent; False at end-of-file."""
        data, fds, _, _ = socket.recv_fds(self.control, MAX_CONTROL_MESSAGE, 2)
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        kind, argument = pickle.loads(data)
        if kind == "spawn":
            self.spawn(argument, fds)
        elif kind == "release" and self.children.get(argument):
            os.waitpid(argument, 0)
            del self.children[argument]
        return True

    def spawn(self, request: int, fds: list[int]) -> None:
        """Fork a worker that serves the task and result pipes ``fds``; report its pid."""
        try:
            threads = _thread_count()
            if threads != 1:
                raise RuntimeError(f"the fork server runs {threads} threads (a preloaded module "
                                   "started them), so forking it is unsafe")
            _flush_std_streams()  # else the child would print the buffered text again
            pid = os.fork()
            if pid == 0:
                self.become_worker(*fds)
        except (OSError, RuntimeError) as exc:
            self.send(("refused", request, f"{type(exc).__name__}: {exc}"))
            return
        finally:
            for fd in fds:
                os.close(fd)
        self.children[pid] = False
        self.send(("spawned", request, pid))

    def become_worker(self, task_fd: int, result_fd: int) -> None:
        """In the forked child: drop the zygote's state and serve tasks; never returns."""
        code = 1
        try:
            os.setsid()  # its own process group, which a timeout kills as a whole
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            os.environ.update(self.worker_env)
            numpy = sys.modules.get("numpy")
            if numpy is not None:  # else every worker would draw the zygote's random numbers
                numpy.random.seed()
            serve(task_fd, result_fd, self.alive_fd, self.pid)
            code = 0
        except (BrokenPipeError, EOFError):  # the parent dropped this worker before it started
            code = 0
        except BaseException:  # noqa: BLE001 - reported on stderr; the parent sees the exit
            traceback.print_exc()
        finally:
            _flush_std_streams()
            os._exit(code)

    def report_exits(self) -> None:
        """Tell the parent about every worker that exited (it stays a zombie until released)."""
        for pid, reported in self.children.items():
            if not reported:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                if info is not None:
                    self.children[pid] = True
                    self.send(("exited", pid, _exit_code(info)))

    def kill_children(self) -> None:
        """SIGKILL every worker's process group and reap the workers."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


def zygote_main(control_fd: int, alive_fd: int, parent_pid: int) -> None:
    """Import the preload modules once, then fork workers on request (see :mod:`automl._zygote`).

    The first message on the control socket is ``pickle({"sys_path", "preload",
    "worker_env"})``. Nothing but imports runs here: no numerical code, no thread.
    """
    control = socket.socket(fileno=control_fd)
    init = pickle.loads(control.recv(MAX_CONTROL_MESSAGE))
    sys.path[:] = init["sys_path"]
    try:
        for module in init["preload"]:
            importlib.import_module(module)
        load_cloudpickle()  # every worker's first task needs it (and threadpoolctl)
        with contextlib.suppress(ImportError):
            importlib.import_module("threadpoolctl")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            control.send(pickle.dumps(("failed", format_error(exc))))
        raise
    _Zygote(control, alive_fd, parent_pid, init["worker_env"]).serve()
    os._exit(0)  # its workers are dead; skip tearing down the imported modules (slow)


def main(argv: list[str]) -> None:
    """Run as a worker (``TASK_FD RESULT_FD ALIVE_FD PARENT_PID``) or as the fork server
    (``zygote CONTROL_FD ALIVE_FD PARENT_PID``)."""
    if argv[1] == "zygote":
        zygote_main(*(int(arg) for arg in argv[2:5]))
    else:
        serve(*(int(arg) for arg in argv[1:5]))


if __name__ == "__main__":
    main(sys.argv)

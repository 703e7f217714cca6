"""The parent's side of the worker pool's fork server (the "zygote").

Starting a worker as a fresh interpreter that imports scikit-learn and pandas costs seconds
of CPU. The zygote pays that once: it is started like a worker (a fresh interpreter from
``subprocess``, in its own session, nothing inherited from the user's process), imports
the preload modules, then forks a worker on each request. A forked worker shares the
imported modules copy-on-write, so every further worker, and every replacement after a
timeout or a crash, starts in milliseconds.

Safety: the user's process is never forked, only the zygote, which runs imports and no
numerical code. Its native thread pools are sized to one thread through the environment
before anything is imported (each worker then sets its own cap), and before each fork it
checks in ``/proc/self/task`` that it still has a single thread; if it does not (a
preloaded module started a thread) it refuses to fork and the pool starts plain
subprocess workers instead.

Control protocol over a ``SOCK_SEQPACKET`` Unix socket pair, one pickled tuple a message:

* parent -> zygote: first ``{"sys_path", "preload", "worker_env"}``; then
  ``("spawn", request)`` carrying the worker's task-read and result-write descriptors
  (``SCM_RIGHTS``), and ``("release", pid)`` to reap a worker whose exit was reported.
* zygote -> parent: ``("ready", pid)`` or ``("failed", error)`` after the imports;
  ``("spawned", request, pid)`` or ``("refused", request, reason)``; and
  ``("exited", pid, returncode)`` when a worker ends (negative: killed by that signal).

The workers are the zygote's children, not the parent's: the parent learns their exit
status from the zygote, and kills their process groups itself (``os.killpg``, safe
because an exited worker stays a zombie until the parent releases it). Linux only.

Examples
--------
>>> ZygoteProcess(None).has_exited()
False
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import time

from automl._worker_main import MAX_CONTROL_MESSAGE

#: Seconds the parent waits for the zygote to report that a killed worker exited.
EXIT_REPORT_TIMEOUT = 5.0
#: Seconds the zygote gets to kill its workers and exit after the control socket closes.
CLOSE_TIMEOUT = 1.0
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker_main.py")


class ZygoteProcess:
    """The parent's handle on one worker the zygote forks: a small ``Popen`` look-alike.

    Attributes
    ----------
    pid : int or None
        None until the zygote reports the fork (and again after the worker is released).
    returncode : int or None
        Set when the zygote reports the worker's exit.
    lost : str or None
        Why the worker never started (the zygote refused or died) or why its exit status
        cannot be known (the zygote died first).
    """

    def __init__(self, zygote: Zygote | None) -> None:
        self.zygote = zygote
        self.pid: int | None = None
        self.returncode: int | None = None
        self.lost: str | None = None
        self.abandoned = False
        self.forked = False

    @property
    def never_started(self) -> bool:
        """Whether no worker process was ever forked for this handle."""
        return not self.forked and self.lost is not None

    def has_exited(self) -> bool:
        """Whether the worker ended (or can no longer be followed)."""
        return self.returncode is not None or self.lost is not None

    def kill_group(self) -> None:
        """SIGKILL the worker's process group (the worker and whatever its task started)."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def wait(self) -> int | None:
        """Wait until the worker's exit is reported, release it, return its return code.

        None when the status cannot be known (see :attr:`lost`); a worker not forked yet
        is abandoned: the zygote's client kills it as soon as it is forked.
        """
        if self.pid is None:
            self.zygote.pump()  # was it forked, or did the zygote die, meanwhile?
        if self.pid is None:
            self.abandoned = True
            return None
        self.zygote.wait_for_exit(self)
        self.zygote.release(self)
        return self.returncode


class Zygote:
    """Start the fork server and talk to it (from one thread at a time).

    Parameters
    ----------
    env : dict
        The zygote's environment (thread caps set before it imports anything).
    alive_fd : int
        Read end of the pipe whose write end only the parent holds.
    init : dict
        ``{"sys_path", "preload", "worker_env"}``, the zygote's first message.

    Raises
    ------
    OSError
        If the platform has no ``fork`` or the zygote process cannot be started.
    """

    def __init__(self, env: dict[str, str], alive_fd: int, init: dict) -> None:
        if not sys.platform.startswith("linux"):
            raise OSError(f"the fork server needs Linux; this is {sys.platform}")
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, WORKER_SCRIPT, "zygote", str(theirs.fileno()), str(alive_fd),
                   str(os.getpid())]
        try:
            self.popen = subprocess.Popen(
                command, pass_fds=(theirs.fileno(), alive_fd), env=env,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        except BaseException:
            self.control.close()
            raise
        finally:
            theirs.close()
        self.state = "starting"  # then "ready", "retired" (forks no more) or "dead"
        self.reason: str | None = None
        self._next_request = 0
        self._waiting: dict[int, ZygoteProcess] = {}
        self._children: dict[int, ZygoteProcess] = {}
        try:
            self._send(pickle.dumps(init))
        except OSError:
            self.close()
            raise

    @property
    def usable(self) -> bool:
        """Whether new workers can be asked of the zygote."""
        return self.state in ("starting", "ready")

    @property
    def alive(self) -> bool:
        """Whether the control socket is open (the monitor waits on it then)."""
        return self.state != "dead"

    def fileno(self) -> int:
        """The control socket, for :func:`multiprocessing.connection.wait`."""
        return self.control.fileno()

    def spawn(self, task_fd: int, result_fd: int) -> ZygoteProcess:
        """Ask for a worker serving these pipe ends (sent along, the caller closes its copies).

        Raises
        ------
        OSError
            If the request cannot be sent; the zygote is then considered dead.
        """
        process = ZygoteProcess(self)
        request, self._next_request = self._next_request, self._next_request + 1
        self._waiting[request] = process
        try:
            socket.send_fds(self.control, [pickle.dumps(("spawn", request))],
                            [task_fd, result_fd])
        except OSError as exc:
            del self._waiting[request]
            self._die(f"the fork server could not be reached ({exc})")
            raise
        return process

    def pump(self) -> None:
        """Handle every message the zygote has sent so far, without blocking."""
        while self.alive and select.select([self.control], [], [], 0)[0]:
            self._receive()
        if self.alive and self.popen.poll() is not None:
            while self.alive:  # it has ended: its last messages, then end-of-file
                self._receive()

    def wait_for_exit(self, process: ZygoteProcess) -> None:
        """Block until the zygote reports ``process``'s exit (or cannot any more)."""
        deadline = time.monotonic() + EXIT_REPORT_TIMEOUT
        while not process.has_exited():
            left = deadline - time.monotonic()
            if left <= 0 or not self.alive:
                process.lost = process.lost or "the fork server did not report its exit"
                return
            if select.select([self.control], [], [], left)[0]:
                self._receive()

    def release(self, process: ZygoteProcess) -> None:
        """Let the zygote reap an exited worker; its pid may be recycled afterwards."""
        pid, process.pid = process.pid, None
        if self._children.pop(pid, None) is not None and self.alive and process.lost is None:
            try:
                self._send(pickle.dumps(("release", pid)))
            except OSError as exc:
                self._die(f"the fork server could not be reached ({exc})")

    def close(self) -> None:
        """Stop the zygote and every worker it still has; leave no process behind."""
        if self.alive and self.state != "starting":
            with contextlib.suppress(OSError):
                self.control.shutdown(socket.SHUT_WR)  # the zygote kills its workers, exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=CLOSE_TIMEOUT)
        if self.popen.poll() is None:  # still importing, or stuck
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.pump()  # workers it forked but had not reported yet: killed below
        self._die("the fork server was closed")
        self.control.close()

    # -- internals ------------------------------------------------------------------------

    def _send(self, message: bytes) -> None:
        self.control.send(message)

    def _receive(self) -> None:
        try:
            data = self.control.recv(MAX_CONTROL_MESSAGE)
        except OSError:
            data = b""
        if not data:
            self._die(f"the fork server exited ({self._exit_text()})")
            return
        kind, *args = pickle.loads(data)
        getattr(self, f"_on_{kind}")(*args)

    def _on_ready(self, pid: int) -> None:
        self.state = "ready"

    def _on_failed(self, error: str) -> None:
        self._die(f"the fork server could not import the preload modules: {error}")

    def _on_spawned(self, request: int, pid: int) -> None:
        process = self._waiting.pop(request)
        process.pid, process.forked = pid, True
        self._children[pid] = process
        if process.abandoned:
            process.kill_group()

    def _on_refused(self, request: int, reason: str) -> None:
        self._waiting.pop(request).lost = f"the fork server refused to fork: {reason}"
        self.state, self.reason = "retired", reason

    def _on_exited(self, pid: int, returncode: int) -> None:
        process = self._children[pid]
        process.returncode = returncode
        if process.abandoned:
            self.release(process)

    def _die(self, reason: str) -> None:
        """The zygote is gone: no worker's exit can be learnt any more; kill its orphans."""
        if self.alive:
            self.state, self.reason = "dead", reason
        for process in self._waiting.values():
            process.lost = reason
        for process in self._children.values():
            if process.returncode is None:
                process.kill_group()
                process.lost = f"exit status unknown: {reason}"
        self._waiting.clear()

    def _exit_text(self) -> str:
        code = self.popen.poll()
        return "still running" if code is None else f"return code {code}"

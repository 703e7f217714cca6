"""Tests of automl.workers: results, limits, crashes, thread caps and clean shutdown."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from automl.workers import START_METHODS, STATUSES, TaskResult, WorkerPool

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- tasks (module level: they must travel to the workers by cloudpickle) ---------------


def sleep_and_return(seconds: float, value: object = None) -> object:
    time.sleep(seconds)
    return value


def raise_value_error(text: str) -> None:
    raise ValueError(text)


def hog_memory(chunk_mb: int = 32, n_chunks: int = 40) -> int:
    blocks = []
    for _ in range(n_chunks):
        blocks.append(b"\1" * (chunk_mb * 2**20))  # written, so resident
        time.sleep(0.02)
    return len(blocks)


def kill_self_with(how: str) -> None:
    if how == "exit":
        os._exit(7)
    elif how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        ctypes.string_at(0)  # segfault


def pid_and_parent() -> tuple[int, int]:
    time.sleep(0.3)  # long enough for every worker to take one
    return os.getpid(), os.getppid()


def random_draw() -> tuple[int, int]:
    import numpy

    time.sleep(0.3)
    return os.getpid(), int(numpy.random.randint(2**62))


def start_grandchild_and_hang(pid_file: str) -> None:
    child = subprocess.Popen(["sleep", "1000"])
    with open(pid_file, "w") as file:
        file.write(str(child.pid))
    time.sleep(1000)


def thread_report() -> tuple[dict[str, str], list[int]]:
    import numpy  # noqa: F401 - loads the BLAS library inside the worker
    from threadpoolctl import threadpool_info

    env = {name: os.environ.get(name, "") for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return env, [pool["num_threads"] for pool in threadpool_info()]


def collect(pool: WorkerPool, n: int, timeout: float = 30.0) -> dict[int, TaskResult]:
    """Wait until ``n`` results arrived; return them by task id."""
    results: dict[int, TaskResult] = {}
    deadline = time.monotonic() + timeout
    while len(results) < n:
        assert time.monotonic() < deadline, f"only {len(results)} of {n} results in {timeout} s"
        for result in pool.wait(timeout=1.0):
            assert result.task_id not in results, "a task was reported twice"
            results[result.task_id] = result
    return results


def warm_up(pool: WorkerPool) -> None:
    """Return once every worker has started and run a task."""
    for _ in range(pool.n_workers):
        pool.submit(sleep_and_return, 0.1)
    collect(pool, pool.n_workers)


def own_children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- results --------------------------------------------------------------------------


def test_ok_results_come_back_with_their_ids():
    offset = 10
    with WorkerPool(2) as pool:
        ids = {pool.submit(pow, 2, k): 2**k for k in range(5)}
        ids[pool.submit(lambda x: x + offset, 5)] = 15  # a closure, pickled by value
        ids[pool.submit(sleep_and_return, 0.0, value={"a": [1]})] = {"a": [1]}
        results = collect(pool, len(ids))
    assert set(results) == set(ids)
    for task_id, expected in ids.items():
        assert results[task_id].status == "ok"
        assert results[task_id].value == expected
        assert results[task_id].error is None
        assert results[task_id].duration >= 0


def test_error_reports_type_message_and_traceback():
    with WorkerPool(1) as pool:
        pool.submit(raise_value_error, "bad value 42")
        (result,) = collect(pool, 1).values()
    assert result.status == "error" and result.value is None
    assert result.error.splitlines()[0] == "ValueError: bad value 42"
    assert "Traceback" in result.error and "raise_value_error" in result.error
    assert "run_task" not in result.error  # the worker's own frame is left out


def test_unpicklable_return_value_is_an_error():
    with WorkerPool(1) as pool:
        pool.submit(threading.Lock)
        (result,) = collect(pool, 1).values()
    assert result.status == "error"
    assert "could not be pickled" in result.error


def test_large_result_is_read_while_the_parent_is_busy():
    size = 8 * 2**20  # 128 times a pipe's buffer: the worker would block if nobody read
    with WorkerPool(1) as pool:
        warm_up(pool)
        pool.submit(bytes, size)
        time.sleep(1.0)  # the parent does not call wait() meanwhile
        (result,) = collect(pool, 1).values()
    assert result.status == "ok" and len(result.value) == size
    assert result.duration < 0.8, "the result stayed stuck in the pipe"


# --- limits and crashes ----------------------------------------------------------------


def test_task_past_its_time_limit_is_stopped_and_the_pool_goes_on():
    limit = 1.0
    with WorkerPool(1) as pool:
        warm_up(pool)
        start = time.monotonic()
        stuck = pool.submit(sleep_and_return, 1000, time_limit=limit)
        (result,) = collect(pool, 1).values()
        elapsed = time.monotonic() - start
        follow_up = pool.submit(sleep_and_return, 0.0, value="next")
        after = collect(pool, 1)
    assert result.task_id == stuck and result.status == "timeout"
    assert limit <= elapsed <= limit + 1.5
    assert limit <= result.duration <= limit + 1.5
    assert "time limit of 1 s" in result.error
    assert after[follow_up].status == "ok" and after[follow_up].value == "next"


def test_memory_hog_is_stopped_as_memout():
    with WorkerPool(1, memory_limit_mb=150) as pool:
        hog = pool.submit(hog_memory)
        light = pool.submit(sum, [1, 2])
        results = collect(pool, 2)
    assert results[hog].status == "memout"
    assert "above the limit of 150 MB" in results[hog].error
    assert results[light].status == "ok" and results[light].value == 3


@pytest.mark.parametrize("how", ["exit", "sigkill", "segfault"])
def test_task_that_kills_its_worker_costs_only_itself(how):
    with WorkerPool(2) as pool:
        others = [pool.submit(sleep_and_return, 0.3, value=k) for k in range(3)]
        crasher = pool.submit(kill_self_with, how)
        results = collect(pool, 4)
        later = pool.submit(sleep_and_return, 0.0, value="alive")
        results.update(collect(pool, 1))
    assert results[crasher].status == "crashed"
    expected = {"exit": "exit code 7", "sigkill": "SIGKILL", "segfault": "SIGSEGV"}[how]
    assert expected in results[crasher].error
    assert [results[k].value for k in others] == [0, 1, 2]
    assert results[later].value == "alive"


def test_workers_that_cannot_start_break_the_pool_with_a_clear_error():
    with WorkerPool(1, preload=("automl_no_such_module_xyz",)) as pool:
        task = pool.submit(int)
        (result,) = collect(pool, 1).values()
        assert result.task_id == task and result.status == "crashed"
        assert "died while starting" in result.error
        with pytest.raises(RuntimeError, match="broken"):
            pool.submit(int)


# --- scheduling ------------------------------------------------------------------------


def test_tasks_run_in_parallel_on_all_workers():
    n, seconds = 2, 1.0
    with WorkerPool(n) as pool:
        warm_up(pool)
        start = time.monotonic()
        for _ in range(n):
            pool.submit(sleep_and_return, seconds)
        assert pool.n_running == n and pool.n_free == 0
        results = collect(pool, n)
        wall = time.monotonic() - start
        assert pool.n_running == 0 and pool.n_free == n
    assert all(r.status == "ok" for r in results.values())
    assert wall < seconds * n * 0.8, f"{n} tasks of {seconds} s took {wall:.2f} s"


def test_more_tasks_than_workers_queue_and_all_finish():
    with WorkerPool(2) as pool:
        ids = [pool.submit(sleep_and_return, 0.05, value=k) for k in range(9)]
        assert pool.n_running == 9 and pool.n_free == 0
        results = collect(pool, 9)
    assert [results[i].value for i in ids] == list(range(9))


def test_a_queued_task_starts_its_clock_only_when_it_gets_a_slot():
    with WorkerPool(1) as pool:
        warm_up(pool)
        first = pool.submit(sleep_and_return, 0.6, value="first")
        queued = pool.submit(sleep_and_return, 0.0, value="queued", time_limit=0.4)
        results = collect(pool, 2)
    assert results[first].status == "ok"
    assert results[queued].status == "ok" and results[queued].value == "queued"
    assert results[queued].duration < 0.4


def test_waiting_for_a_starting_worker_counts_against_the_time_limit(tmp_path, monkeypatch):
    (tmp_path / "automl_test_slow_import.py").write_text("import time\ntime.sleep(1.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the workers get the parent's sys.path
    with WorkerPool(1, preload=("automl_test_slow_import",)) as pool:
        start = time.monotonic()
        short = pool.submit(sleep_and_return, 0.0, time_limit=0.5)
        (result,) = collect(pool, 1).values()
        elapsed = time.monotonic() - start
        longer = pool.submit(sleep_and_return, 0.0, value="ran", time_limit=30)
        later = collect(pool, 1)
    assert result.task_id == short and result.status == "timeout"
    assert "waited for a worker process to start" in result.error
    assert 0.5 <= elapsed < 1.4  # stopped at its limit, before the worker was ready
    assert later[longer].status == "ok" and later[longer].value == "ran"


def test_wait_returns_empty_after_its_timeout_or_at_once_when_idle():
    with WorkerPool(1) as pool:
        start = time.monotonic()
        assert pool.wait(timeout=None) == []  # nothing submitted: no blocking
        assert time.monotonic() - start < 0.5
        pool.submit(sleep_and_return, 5)
        start = time.monotonic()
        assert pool.wait(timeout=0.3) == []
        assert 0.3 <= time.monotonic() - start < 1.0


def test_many_small_tasks_have_low_overhead():
    n = 200
    with WorkerPool(1) as pool:
        warm_up(pool)
        start = time.monotonic()
        for k in range(n):
            pool.submit(abs, -k)
            (result,) = collect(pool, 1).values()
            assert result.value == k
        per_task = (time.monotonic() - start) / n
    print(f"round trip per small task: {per_task * 1000:.2f} ms")
    assert per_task < 0.05


@pytest.mark.parametrize("threads", [1, 2])
def test_native_thread_pools_are_capped_in_the_worker(threads):
    with WorkerPool(1, threads_per_worker=threads, preload=("numpy",)) as pool:
        pool.submit(thread_report)
        (result,) = collect(pool, 1).values()
    env, thread_counts = result.value
    assert env == {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    assert thread_counts and all(count == threads for count in thread_counts)


# --- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_workers": 0}, "n_workers must be a positive integer; got 0"),
     ({"n_workers": 1, "threads_per_worker": 1.5}, "threads_per_worker"),
     ({"n_workers": 1, "memory_limit_mb": -5}, "memory_limit_mb must be None or a positive"),
     ({"n_workers": 1, "start_method": "fork"}, "start_method must be one of")],
)
def test_bad_pool_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WorkerPool(**kwargs)


def test_bad_submissions_are_rejected():
    with WorkerPool(1) as pool:
        with pytest.raises(ValueError, match="time_limit must be None or a positive"):
            pool.submit(int, time_limit=0)
        with pytest.raises(TypeError, match="could not be pickled"):
            pool.submit(len, threading.Lock())
        with pytest.raises(TypeError, match="fn must be callable"):
            pool.submit("not a function")
        assert pool.n_running == 0
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(int)
    assert set(STATUSES) == {"ok", "error", "timeout", "memout", "crashed"}


# --- clean shutdown --------------------------------------------------------------------


def worker_pids(pool: WorkerPool) -> dict[int, int]:
    """The pid of each worker, mapped to its parent's pid."""
    ids = [pool.submit(pid_and_parent) for _ in range(pool.n_workers)]
    results = collect(pool, len(ids))
    return dict(results[i].value for i in ids)


def test_shutdown_leaves_no_child_process():
    before = own_children()
    pool = WorkerPool(2)
    pids = worker_pids(pool)
    assert len(pids) == 2 and pids.keys() <= own_children()
    pool.submit(sleep_and_return, 1000)
    pool.shutdown()
    pool.shutdown()  # idempotent
    assert own_children() <= before
    assert all(is_gone(pid) for pid in pids)


def test_keyboard_interrupt_in_the_with_block_kills_the_workers():
    before = own_children()
    with pytest.raises(KeyboardInterrupt):
        with WorkerPool(2) as pool:
            pool.submit(sleep_and_return, 1000)
            raise KeyboardInterrupt
    assert own_children() <= before


def test_garbage_collected_pool_kills_its_workers():
    before = own_children()
    pool = WorkerPool(1)
    pids = worker_pids(pool)
    del pool
    gc.collect()
    assert wait_until(lambda: own_children() <= before)
    assert all(is_gone(pid) for pid in pids)


POOL_SCRIPT = textwrap.dedent("""
    import os
    from automl.workers import WorkerPool

    print("top-level ran")

    def triple(x):
        return 3 * x

    with WorkerPool(2) as pool:
        pool.submit(triple, 14)
        results = []
        while not results:
            results = pool.wait(timeout=30)
    print("result", results[0].status, results[0].value)
""")


@pytest.mark.parametrize("mode", ["script", "stdin"])
def test_pool_works_without_main_guard_from_a_script_or_interactive_code(tmp_path, mode):
    env = dict(os.environ, PYTHONPATH=REPO)
    if mode == "script":
        path = tmp_path / "user_script.py"
        path.write_text(POOL_SCRIPT)
        command, stdin = [sys.executable, str(path)], None
    else:  # like a notebook: __main__ has no file
        command, stdin = [sys.executable, "-"], POOL_SCRIPT
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top-level ran", "result ok 42"]


def test_workers_die_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import os, signal, time
        from automl.workers import WorkerPool
        pool = WorkerPool(2)
        for _ in range(2):
            pool.submit(lambda: time.sleep(0.3) or (os.getpid(), os.getppid()))
        pids = []
        while len(pids) < 2:
            pids += [r.value for r in pool.wait(timeout=30)]
        pool.submit(time.sleep, 1000)
        time.sleep(0.3)
        print(os.getpid(), *{pid for pair in pids for pid in pair}, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=REPO))
    assert done.returncode == -signal.SIGKILL, done.stderr
    parent, *pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 3 and parent not in pids  # two workers and the zygote that forked them
    assert wait_until(lambda: all(is_gone(pid) for pid in pids), timeout=5.0)


# --- the fork server (zygote) ----------------------------------------------------------


def write_module(directory, name: str, body: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_workers_are_forked_by_one_zygote_that_imports_the_preload_once(tmp_path, monkeypatch):
    log = tmp_path / "imports.log"
    name = write_module(tmp_path, "automl_test_counted_import", f"""
        with open({str(log)!r}, "a") as log:
            log.write("imported\\n")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with WorkerPool(2, preload=(name,)) as pool:
        first = worker_pids(pool)
        pool.submit(kill_self_with, "exit")
        collect(pool, 1)
        workers = first | worker_pids(pool)
        zygotes = set(workers.values())
        assert len(zygotes) == 1 and os.getpid() not in zygotes
        assert zygotes <= own_children()
    assert len(workers) == 3  # two workers, then one replacement
    assert log.read_text() == "imported\n"


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_replacement_after_a_crash_starts_much_faster_than_a_fresh_worker(
        tmp_path, monkeypatch, start_method):
    import_seconds = 1.5  # a sleep: the same on a loaded machine
    name = write_module(tmp_path, "automl_test_slow_preload", f"""
        import time
        time.sleep({import_seconds})
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    start = time.monotonic()
    with WorkerPool(1, preload=(name,), start_method=start_method) as pool:
        pool.submit(int)
        collect(pool, 1)
        fresh = time.monotonic() - start
        pool.submit(kill_self_with, "sigkill")
        (crash,) = collect(pool, 1).values()
        start = time.monotonic()
        pool.submit(int)
        (after,) = collect(pool, 1).values()
        replacement = time.monotonic() - start
    print(f"{start_method}: fresh {fresh:.3f} s, replacement {replacement:.3f} s")
    assert crash.status == "crashed" and after.status == "ok"
    assert fresh >= import_seconds
    if start_method == "forkserver":
        assert replacement < fresh / 4
    else:  # the measure can tell: a fresh interpreter imports the module again
        assert replacement >= import_seconds


def test_a_timeout_kills_the_processes_the_task_started(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    with WorkerPool(1) as pool:
        warm_up(pool)
        pool.submit(start_grandchild_and_hang, str(pid_file), time_limit=2.0)
        (result,) = collect(pool, 1).values()
        assert result.status == "timeout"
        grandchild = int(pid_file.read_text())
        assert wait_until(lambda: is_gone(grandchild), timeout=2.0)


def test_the_pool_falls_back_to_subprocess_workers_when_the_zygote_dies():
    before = own_children()
    with WorkerPool(1) as pool:
        ((_, zygote),) = worker_pids(pool).items()
        hanging = pool.submit(sleep_and_return, 1000)
        time.sleep(0.3)
        os.kill(zygote, signal.SIGKILL)
        (lost,) = collect(pool, 1).values()
        ((worker, parent),) = worker_pids(pool).items()
    assert lost.task_id == hanging and lost.status == "crashed"
    assert "fork server" in lost.error
    assert parent == os.getpid() != zygote
    assert own_children() <= before and is_gone(worker)


def test_a_zygote_with_a_thread_refuses_to_fork_and_the_pool_uses_subprocesses(
        tmp_path, monkeypatch):
    name = write_module(tmp_path, "automl_test_threaded_import", """
        import threading, time
        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with WorkerPool(2, preload=(name,)) as pool:
        found = worker_pids(pool)
        pool.submit(raise_value_error, "still isolated")
        (error,) = collect(pool, 1).values()
    assert set(found.values()) == {os.getpid()}
    assert error.status == "error" and "still isolated" in error.error


def test_forked_workers_draw_different_random_numbers():
    with WorkerPool(2, preload=("numpy",)) as pool:
        ids = [pool.submit(random_draw) for _ in range(2)]
        results = collect(pool, 2)
    (pid_a, draw_a), (pid_b, draw_b) = (results[i].value for i in ids)
    assert pid_a != pid_b and draw_a != draw_b


def test_the_pool_falls_back_to_subprocess_workers_when_the_zygote_cannot_start(
        tmp_path, monkeypatch):
    name = write_module(tmp_path, "automl_test_fails_in_the_zygote", """
        import os
        if os.environ["OMP_NUM_THREADS"] == "1":  # the zygote imports with one thread
            raise ImportError("only the zygote fails")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with WorkerPool(2, threads_per_worker=2, preload=(name,)) as pool:
        found = worker_pids(pool)
    assert len(found) == 2 and set(found.values()) == {os.getpid()}

"""Tests for automl.dask_pool on a small two-worker LocalCluster."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from automl import dask_pool
from automl.dask_pool import DaskPool, active_dask_client


def square(x: float) -> float:
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def nap(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def die_first_time(marker: str) -> str:
    """Kill the worker process the first time; count every run in the marker file."""
    with open(marker, "a") as handle:
        handle.write("run\n")
    if Path(marker).read_text().count("run") == 1:
        os._exit(1)
    return "re-run finished"


def native_threads() -> int:
    from threadpoolctl import threadpool_info
    return max((info["num_threads"] for info in threadpool_info()), default=1)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client
    cluster.close()


def collect(pool: DaskPool, n: int, timeout: float = 30.0) -> dict:
    results, end = {}, time.monotonic() + timeout
    while len(results) < n and time.monotonic() < end:
        for result in pool.wait(timeout=1.0):
            results[result.task_id] = result
    assert len(results) == n, f"only {len(results)} of {n} tasks came back"
    return results


def test_ok_error_and_timeout_tasks(client):
    with DaskPool(2, client=client) as pool:
        assert pool.n_workers == 2 and pool.n_free == 2
        ok = pool.submit(square, 3.0, time_limit=20)
        bad = pool.submit(fail, "bad value", time_limit=20)
        assert pool.n_running == 2 and pool.n_free == 0
        results = collect(pool, 2)
        slow = pool.submit(nap, 1.2, 1, time_limit=0.3)
        results.update(collect(pool, 1))
    assert (results[ok].status, results[ok].value, results[ok].error) == ("ok", 9.0, None)
    assert results[bad].status == "error" and results[bad].value is None
    assert results[bad].error.startswith("ValueError: bad value")
    assert results[slow].status == "timeout" and "time limit" in results[slow].error
    assert results[slow].duration >= 0.3  # "timeout", not "ok": it did not wait for the nap
    time.sleep(1.0)  # the cancelled task still occupies its worker thread until it returns


def test_wait_returns_at_once_when_idle_and_after_timeout(client):
    with DaskPool(1, client=client) as pool:
        started = time.monotonic()
        assert pool.wait(timeout=5) == [] and pool.wait(timeout=None) == []
        assert time.monotonic() - started < 0.5
        task = pool.submit(nap, 0.8, 7)
        assert pool.wait(timeout=0.1) == []
        assert [(r.task_id, r.value) for r in collect(pool, 1).values()] == [(task, 7)]


def test_a_dying_worker_costs_only_its_task(client, tmp_path):
    with DaskPool(2, client=client) as pool:
        killer = pool.submit(die_first_time, str(tmp_path / "marker"), time_limit=30)
        others = [pool.submit(nap, 0.3, i, time_limit=30) for i in range(4)]
        results = collect(pool, 5, timeout=45)
    assert results[killer].status == "crashed" and results[killer].value is None
    assert "worker running this task died" in results[killer].error
    assert "did not run it again" in results[killer].error  # allowed-failures > 0: caught
    assert [(results[t].status, results[t].value) for t in others] == [("ok", i) for i in range(4)]
    assert (tmp_path / "marker").read_text().count("run") == 1  # never run a second time
    client.wait_for_workers(2, timeout=30)


def test_native_threads_are_capped_and_modules_preloaded(client):
    with DaskPool(2, threads_per_worker=1, preload=("json",), client=client) as pool:
        pool.submit(native_threads)
        (result,) = collect(pool, 1).values()
    assert result.status == "ok" and result.value == 1


def test_the_active_client_is_found_through_joblib(client):
    import joblib
    client.wait_for_workers(2, timeout=30)
    assert active_dask_client() is None
    with joblib.parallel_config(backend="dask", scheduler_host=client.scheduler.address):
        found = active_dask_client()
        assert found is not None and found.scheduler.address == client.scheduler.address
        with DaskPool() as pool:
            assert pool.n_workers == sum(client.nthreads().values()) == 2
            pool.submit(square, 2.0)
            assert [r.value for r in collect(pool, 1).values()] == [4.0]
    assert active_dask_client() is None


def test_shutdown_cancels_and_refuses_new_work(client):
    pool = DaskPool(2, client=client)
    pool.submit(nap, 0.5, 1)
    pool.shutdown()
    pool.shutdown()
    assert pool.n_running == 0 and pool.wait(timeout=0.1) == []
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(square, 1.0)
    time.sleep(0.6)


def test_bad_arguments_are_refused(client):
    with DaskPool(1, client=client) as pool:
        with pytest.raises(TypeError, match="callable"):
            pool.submit(42)
        with pytest.raises(ValueError, match="time_limit"):
            pool.submit(square, 1.0, time_limit=-1)
    with pytest.raises(ValueError, match="preload"):
        DaskPool(1, preload="json", client=client)


def test_no_client_is_a_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="needs a dask.distributed Client"):
        DaskPool(1)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"automl\[dask\]"):
        dask_pool._import_distributed()

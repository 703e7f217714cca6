"""AutoClassifier on a two-worker Dask LocalCluster, one worker killed mid-trial."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB

from automl import AutoClassifier
from automl.journal import EVENTS
from automl.space import Choice, Component, Constant, Float, Space

distributed = pytest.importorskip("distributed")


class NappingNB(GaussianNB):
    """GaussianNB whose fit takes a while and leaves a mark: ``<folder>/<pid>``."""

    def __init__(self, var_smoothing: float = 1e-9, nap: float = 0.3,
                 folder: str | None = None) -> None:
        super().__init__(var_smoothing=var_smoothing)
        self.nap = nap
        self.folder = folder

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NappingNB:
        if self.folder is not None:
            Path(self.folder, str(os.getpid())).touch()
        time.sleep(self.nap)
        return super().fit(X, y, sample_weight=sample_weight)


def napping_space(folder: str) -> Space:
    return Space({"model": Choice({"napping_nb": Component(NappingNB, {
        "var_smoothing": Float(1e-10, 1e-6, log=True), "folder": Constant(folder)})})})


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client
    cluster.close()


def finished_count(folder: Path) -> int:
    path = folder / EVENTS
    return path.read_bytes().count(b'"event":"finished"') if path.exists() else 0


def kill_a_worker_mid_trial(client: Any, storage: Path, marks: Path) -> dict:
    """Once three trials are journaled, SIGKILL a worker process that is inside a fit."""
    worker_pids = set(client.run(os.getpid).values())
    killed: dict = {}

    def run() -> None:
        end = time.monotonic() + 120
        while finished_count(storage) < 3 and time.monotonic() < end:
            time.sleep(0.02)
        for mark in marks.iterdir():
            mark.unlink()
        while "pid" not in killed and time.monotonic() < end:
            busy = [int(m.name) for m in marks.iterdir() if int(m.name) in worker_pids]
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.update(pid=busy[0], finished_before=finished_count(storage))
            time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    killed["thread"] = thread
    return killed


def test_a_worker_killed_mid_trial_costs_only_its_trial(client, tmp_path):
    import joblib
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    X = pd.DataFrame(X, columns=list("abcd"))
    marks, storage = tmp_path / "marks", tmp_path / "run"
    marks.mkdir()
    client.wait_for_workers(2, timeout=60)
    killed = kill_a_worker_mid_trial(client, storage, marks)
    clf = AutoClassifier(time_budget=None, n_trials=10, n_jobs=2, cv=3, random_state=0,
                         search_space=napping_space(str(marks)), ensemble=False,
                         storage=str(storage))
    with joblib.parallel_config(backend="dask", scheduler_host=client.scheduler.address):
        clf.fit(X, y)
    killed["thread"].join(timeout=5)
    assert "pid" in killed, "no worker was caught inside a fit"
    statuses = [t["status"] for t in clf.trials_]
    assert sorted(t["trial_id"] for t in clf.trials_) == list(range(10))
    assert statuses.count("crashed") == 1 and statuses.count("ok") == 9, statuses
    crashed = next(t for t in clf.trials_ if t["status"] == "crashed")
    assert "worker" in crashed["error"] and "died" in crashed["error"]
    lines = [json.loads(line) for line in (storage / EVENTS).read_bytes().splitlines()]
    ends = [e["trial_id"] for e in lines if e["event"] == "finished"]
    assert sorted(ends) == list(range(10))  # every trial journaled once, the crashed one too
    assert clf.predict_proba(X).shape == (120, 2) and np.isfinite(clf.best_score_)
    client.wait_for_workers(2, timeout=60)  # the nanny replaced the dead worker


def test_dask_and_local_workers_give_the_same_trials(client, tmp_path):
    import joblib
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=120, n_features=4, random_state=1)
    settings = dict(time_budget=None, n_trials=6, n_jobs=1, cv=3, random_state=2,
                    include=["naive_bayes", "lda", "logreg"], ensemble=False)
    local = AutoClassifier(**settings).fit(X, y)
    client.wait_for_workers(2, timeout=60)
    with joblib.parallel_config(backend="dask", scheduler_host=client.scheduler.address):
        on_dask = AutoClassifier(**settings).fit(X, y)
    keys = ("trial_id", "config", "status", "fold_scores", "seed")
    assert [[t[k] for k in keys] for t in on_dask.trials_] == \
        [[t[k] for k in keys] for t in local.trials_]
    assert np.array_equal(on_dask.predict_proba(X), local.predict_proba(X))

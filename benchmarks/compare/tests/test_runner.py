"""The runner: hard kill of the whole process tree, resumable JSON lines, one real job."""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from amlbench import runner
from amlbench.data import Dataset, stratified_split
from amlbench.systems import SYSTEMS


def test_supervise_kills_the_child_and_its_workers_at_the_deadline(tmp_path):
    code = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print('started', flush=True); time.sleep(60)")
    start = time.perf_counter()
    rc, wall, peak = runner.supervise([sys.executable, "-c", code], tmp_path,
                                      dict(os.environ), deadline=1.5)
    assert rc is None and 1.5 <= wall < 10 and peak > 1
    time.sleep(0.3)
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if p.info["cmdline"] and "time.sleep(60)" in " ".join(p.info["cmdline"])]
    assert leftovers == []
    assert time.perf_counter() - start < 15


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    """An environment folder whose 'baselines' interpreter is the current Python."""
    env = tmp_path / "envs" / "baselines"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    (env / ".ok").touch()
    monkeypatch.setattr(runner, "ENVS", tmp_path / "envs")
    return tmp_path


@pytest.fixture
def dataset(tmp_path) -> Dataset:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["p", "q"], 60),
                       "label": rng.choice(["a", "b", "c"], 60)})
    df.to_csv(tmp_path / "toy.csv", index=False)
    return Dataset("toy", tmp_path / "toy.csv", "label", "multiclass", 60, 3, ("c",))


def test_run_all_records_once_and_resumes(fake_env, dataset):
    results = fake_env / "results.jsonl"
    jobs = runner.plan(["prior", "automl"], {"toy": dataset}, [0], 5)
    ran = runner.run_all(jobs, {"toy": dataset}, results, workroot=fake_env / "work")
    assert ran == 1  # automl's environment is absent from the fake folder: skipped
    rec = json.loads(results.read_text())
    y = pd.read_csv(dataset.path)["label"].to_numpy()
    assert rec["status"] == "ok" and rec["system"] == "prior"
    assert rec["n_test"] == len(stratified_split(y, 0)[1])
    # the prior's log loss is the entropy of the training class frequencies
    assert 0.9 < rec["score"] < 1.2 and rec["peak_rss_mb"] > 0
    assert runner.run_all(jobs, {"toy": dataset}, results, workroot=fake_env / "work") == 0
    assert not (fake_env / "work" / "5s" / "prior" / "toy-0").exists()


def test_a_failing_system_is_recorded_as_an_error(fake_env, dataset, monkeypatch):
    broken = SYSTEMS["prior"].__class__("broken", "baselines", "prior:NoSuchAdapter")
    monkeypatch.setitem(SYSTEMS, "broken", broken)
    results = fake_env / "results.jsonl"
    runner.run_all(runner.plan(["broken"], {"toy": dataset}, [0], 5), {"toy": dataset},
                   results, workroot=fake_env / "work")
    rec = json.loads(results.read_text())
    assert rec["status"] == "error" and "NoSuchAdapter" in rec["error"]
    assert runner.done_keys(results, retry_failed=True) == set()


def test_the_installed_snapshot_s_commit_is_recorded_when_given(fake_env, dataset):
    jobs = runner.plan(["prior"], {"toy": dataset}, [0], 5)
    given, default = fake_env / "given.jsonl", fake_env / "default.jsonl"
    runner.run_all(jobs, {"toy": dataset}, given, workroot=fake_env / "work", commit="abc1234")
    runner.run_all(jobs, {"toy": dataset}, default, workroot=fake_env / "work")
    assert json.loads(given.read_text())["repo_commit"] == "abc1234"
    assert json.loads(default.read_text())["repo_commit"] == runner.repo_commit()

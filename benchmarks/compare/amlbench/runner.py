"""Run (system, dataset, split, budget) jobs, one at a time, each in a child process of
the system's own environment, with a hard wall-clock kill; append one JSON line per job.

Runs in the harness environment. Jobs already in the results file are skipped, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psutil

from amlbench.data import Dataset, write_job_files
from amlbench.scoring import score
from amlbench.systems import SYSTEMS, System

HERE = Path(__file__).resolve().parents[1]
ENVS = HERE / ".envs"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One benchmark job.

    Examples
    --------
    >>> Job("prior", "wine", 0, 60.0).key
    ('prior', 'wine', 0, 60.0)
    """

    system: str
    dataset: str
    split: int
    budget: float

    @property
    def key(self) -> tuple:
        """The identity under which the job is recorded (and skipped when resuming)."""
        return (self.system, self.dataset, int(self.split), float(self.budget))


def done_keys(results: Path, retry_failed: bool = False) -> set:
    """Keys of the jobs recorded in ``results`` (only successful ones if ``retry_failed``)."""
    if not results.exists():
        return set()
    keys = set()
    for line in results.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if retry_failed and rec["status"] != "ok":
            continue
        keys.add(Job(rec["system"], rec["dataset"], rec["split"], rec["budget"]).key)
    return keys


def env_python(system: System, envs: Path | None = None) -> Path | None:
    """The system's environment's interpreter (under ``envs``, default ``.envs/``), or
    None if its setup did not finish."""
    envs = ENVS if envs is None else envs
    if not (envs / system.env / ".ok").exists():
        return None
    return envs / system.env / "bin" / "python"


def child_environment(system: System, cores: int) -> dict:
    """The child's environment variables: ``amlbench`` importable, thread caps set
    (or, for Dask-based systems, removed)."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(HERE)
    if system.cap_threads:
        env.update({k: str(cores) for k in THREAD_VARS})
    return env


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def kill_group(pgid: int) -> None:
    """Kill the child's whole process group (workers included); ignore if gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def supervise(cmd: list, cwd: Path, env: dict, deadline: float) -> tuple:
    """Run ``cmd`` in its own session; kill it at ``deadline`` seconds.

    Returns (return code or None if killed, wall seconds, peak tree RSS in MB).
    """
    start = time.perf_counter()
    with open(cwd / "child.log", "wb") as log:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    proc, peak, code = psutil.Process(popen.pid), 0, None
    while True:
        try:
            peak = max(peak, tree_rss(proc))
        except psutil.NoSuchProcess:
            pass
        code = popen.poll()
        if code is not None or time.perf_counter() - start > deadline:
            break
        time.sleep(0.25)
    wall = time.perf_counter() - start
    kill_group(popen.pid)
    popen.wait()
    return code, wall, peak / 2**20


def repo_commit() -> str | None:
    """The repository's HEAD commit (ours is installed editable from it), if git answers."""
    try:
        out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def execute(job: Job, ds: Dataset, workroot: Path, cores: int, kill_factor: float,
            kill_margin: float, commit: str | None = None) -> dict:
    """Run one job end to end and return its result record (``repo_commit``: ``commit``,
    else this checkout's HEAD)."""
    system = SYSTEMS[job.system]
    python = env_python(system)
    jobdir = workroot / f"{job.budget:g}s" / job.system / f"{job.dataset}-{job.split}"
    shutil.rmtree(jobdir, ignore_errors=True)
    y_test, classes, digest = write_job_files(ds, job.split, jobdir)
    spec = {"adapter": system.adapter, "task": ds.task, "metric": ds.metric,
            "budget": job.budget, "seed": job.split, "n_jobs": cores}
    (jobdir / "job.json").write_text(json.dumps(spec))
    deadline = job.budget * kill_factor + kill_margin
    code, wall, peak_mb = supervise([str(python), "-m", "amlbench.child", str(jobdir)],
                                    jobdir, child_environment(system, cores), deadline)
    record = {**dict(zip(("system", "dataset", "split", "budget"), job.key)),
              "seed": job.split, "task": ds.task, "metric": ds.metric, "cores": cores,
              "n_test": len(y_test), "split_digest": digest, "wall_time": round(wall, 2),
              "peak_rss_mb": round(peak_mb, 1), "kill_after": deadline,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "load_avg_1m": round(os.getloadavg()[0], 2), "repo_commit": commit or repo_commit()}
    record.update(outcome(code, jobdir, y_test, classes, ds.metric, job.budget))
    return record


def outcome(code: int | None, jobdir: Path, y_test, classes: list, metric: str,
            budget: float) -> dict:
    """Status, score, timings and error of a finished (or killed) child."""
    facts_file = jobdir / "child.json"
    facts = json.loads(facts_file.read_text()) if facts_file.exists() else {}
    if code is None:
        return {"status": "timeout", "score": None, "fit_time": None,
                "error": "killed at the wall-clock limit"}
    if facts.get("status") != "ok":
        log = (jobdir / "child.log").read_text(errors="replace")[-1500:]
        return {"status": "error", "score": None, "fit_time": None,
                "error": facts.get("error") or f"exit code {code}; log tail: {log}"}
    try:
        value = score(metric, y_test.to_numpy(), np.load(jobdir / "proba.npy"), classes)
    except ValueError as exc:
        return {"status": "error", "score": None, "fit_time": None, "error": str(exc)}
    return {"status": "ok", "score": value,
            "fit_time": round(facts["fit_time"], 2),
            "predict_time": round(facts["predict_time"], 3),
            "overrun": round(facts["fit_time"] / budget, 3),
            "version": facts["version"], "python": facts["python"], "error": None}


def plan(systems: list, datasets: dict, splits: list, budget: float) -> list:
    """Every job, dataset-major (so a partial run covers whole datasets first)."""
    return [Job(s, d, sp, float(budget)) for d in datasets for sp in splits for s in systems]


def run_all(jobs: list, datasets: dict, results: Path, *, cores: int = 2,
            kill_factor: float = 3.0, kill_margin: float = 60.0,
            retry_failed: bool = False, keep: bool = False,
            workroot: Path | None = None, commit: str | None = None) -> int:
    """Run the jobs not yet in ``results``, appending each record as it finishes.

    Jobs of a system whose environment is not set up are skipped and not recorded. Job
    folders go under ``workroot`` (default ``.work/``) and are deleted unless ``keep``.
    ``commit`` names the code installed in ours' environment when it is not this
    checkout (a snapshot installed non-editable); it is recorded as ``repo_commit``.
    Returns the number of jobs run.
    """
    done, ran = done_keys(results, retry_failed), 0
    results.parent.mkdir(parents=True, exist_ok=True)
    workroot = HERE / ".work" if workroot is None else workroot
    for job in jobs:
        if job.key in done:
            continue
        if env_python(SYSTEMS[job.system]) is None:
            print(f"skip {job.key}: environment '{SYSTEMS[job.system].env}' is not set up")
            continue
        rec = execute(job, datasets[job.dataset], workroot, cores, kill_factor, kill_margin,
                      commit)
        with open(results, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        ran += 1
        print(f"{rec['status']:7s} {job.system:13s} {job.dataset:14s} split={job.split} "
              f"score={rec['score']} fit={rec['fit_time']} wall={rec['wall_time']}", flush=True)
        if not keep:
            shutil.rmtree(workroot / f"{job.budget:g}s" / job.system /
                          f"{job.dataset}-{job.split}", ignore_errors=True)
    return ran

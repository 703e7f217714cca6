"""Resume as users meet it: AutoClassifier(storage=...) killed, restarted, replayed.

The kill tests run a driver (this file run as a script) in a subprocess: it imports
automl once, then forks one child per attempt; each child fits with the same storage
folder and is SIGKILLed by the driver at a random moment, or kills itself halfway through
writing a journal line or an array. By default trials run inside the searching process
(``InProcessPool``): starting worker processes costs seconds per fit, and the journal and
resume logic live in the searching process. The ``slow`` variants use the real workers.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl import AutoClassifier, estimators
from automl.exceptions import IncompatibleJournalError
from automl.journal import EVENTS, HEADER
from automl.seeding import trial_seed
from inprocess import InProcessPool

ALGORITHMS = ["naive_bayes", "lda", "logreg"]
SETTINGS = dict(time_budget=None, cv=3, include=ALGORITHMS, random_state=0, n_jobs=1)
THIS = Path(__file__).resolve()


def make_data(n_rows: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_rows, n_features=5, n_informative=3, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]), y


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimators, "_pool_factory", lambda: InProcessPool)


def events(folder: Path) -> list[dict]:
    """The complete lines of a journal (a torn last line is left out)."""
    path = folder / EVENTS
    if not path.exists():
        return []
    raw = path.read_bytes()
    return [json.loads(line) for line in raw[:raw.rfind(b"\n") + 1].splitlines()]


def finished(folder: Path) -> dict[int, str]:
    """trial_id -> the finished record as canonical JSON (NaN-safe comparison)."""
    return {e["trial_id"]: json.dumps(e, sort_keys=True)
            for e in events(folder) if e["event"] == "finished"}


def board(trials: list[dict]) -> list[tuple]:
    """What two runs must agree on: per trial, in order, its config, status and scores."""
    return [(t["trial_id"], json.dumps(t["config"], sort_keys=True), t["status"],
             json.dumps(t["fold_scores"]), t["seed"]) for t in trials]


# ---------------------------------------------------------------------------------------
# the driver: runs in a subprocess, forks one child per attempt


def _fit_in_child(storage: str, n_trials: int, workers: bool, self_kill: tuple[str, int] | None,
                  out: str | None) -> None:
    """Body of a forked child: fit with the storage; optionally die while writing."""
    from automl import journal as journal_module

    if not workers:
        estimators._pool_factory = lambda: InProcessPool
    if self_kill is not None:
        _arm_self_kill(journal_module, *self_kill)
    X, y = make_data()
    clf = AutoClassifier(n_trials=n_trials, storage=storage, **SETTINGS).fit(X, y)
    if out is not None:
        Path(out).write_text(json.dumps({"trials": board(clf.trials_),
                                         "proba": clf.predict_proba(X).tolist()}))


def _arm_self_kill(journal_module: Any, where: str, nth: int) -> None:
    """SIGKILL this process halfway through the nth journal line or array write."""
    calls = {"line": 0, "array": 0}
    real_write_all, real_atomic = journal_module._write_all, journal_module._atomic_write

    def write_all(fd: int, data: bytes) -> None:
        calls["line"] += 1
        if where == "line" and calls["line"] == nth:
            real_write_all(fd, data[:len(data) // 2])
            os.fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        real_write_all(fd, data)

    def atomic_write(target: Path, write: Any) -> None:
        if target.suffix == ".npy":
            calls["array"] += 1
            if where == "array" and calls["array"] == nth:
                tmp = target.with_name(f".{target.name}.{os.getpid()}.dead.tmp")
                tmp.write_bytes(b"\x93NUMPY half")
                os.kill(os.getpid(), signal.SIGKILL)
        real_atomic(target, write)

    journal_module._write_all, journal_module._atomic_write = write_all, atomic_write


def _descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int], wait: float) -> list[int]:
    import psutil

    end = time.monotonic() + wait
    while True:
        alive = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.1)


def _attempt(storage: str, n_trials: int, workers: bool, kill: dict) -> dict:
    """Fork a child that fits; kill it as ``kill`` says; report what happened."""
    before = finished(Path(storage))
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            self_kill = (kill["where"], kill["nth"]) if kill["where"] != "time" else None
            _fit_in_child(storage, n_trials, workers, self_kill, None)
        except BaseException:  # noqa: BLE001 - reported through the exit code
            import traceback
            traceback.print_exc()
            code = 3
        os._exit(code)
    children: list[int] = []
    status = None
    if kill["where"] == "time":  # a random moment after the child's first few journal events
        n_events, end = len(events(Path(storage))) + kill["after"], None
        while status is None and (end is None or time.monotonic() < end):
            if end is None and len(events(Path(storage))) >= n_events:
                end = time.monotonic() + kill["delay"]
            children = _descendants(pid) or children
            time.sleep(0.01)
            status = _exit_status(pid)
        if status is None:
            children = _descendants(pid) or children
            os.kill(pid, signal.SIGKILL)
    if status is None:
        status = os.waitpid(pid, 0)[1]
    raw = (Path(storage) / EVENTS).read_bytes() if (Path(storage) / EVENTS).exists() else b""
    return {"kill": kill, "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "torn": bool(raw) and not raw.endswith(b"\n"), "before": before,
            "after": finished(Path(storage)), "orphans": _alive(children, 10.0)}


def _exit_status(pid: int) -> int | None:
    """The wait status of child ``pid`` if it has ended (it is then reaped), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done else None


def _kill_plan(seed: int, n_time: int, max_delay: float) -> list[dict]:
    rng = random.Random(seed)
    plan = [{"where": "line", "nth": n} for n in (2, 3, 6)]  # mid "started" / "finished" lines
    plan += [{"where": "array", "nth": n} for n in (1, 3)]
    plan += [{"where": "time", "after": rng.randint(1, 3), "delay": rng.uniform(0.0, max_delay)}
             for _ in range(n_time)]
    rng.shuffle(plan)
    return plan


def _drive_kills(args: dict) -> dict:
    storage, n_trials, workers = args["storage"], args["n_trials"], args["workers"]
    attempts = [_attempt(storage, n_trials, workers, kill)
                for kill in _kill_plan(args["seed"], args["n_time"], args["max_delay"])]
    out = str(Path(storage).parent / "final.json")
    final = _attempt_to_end(storage, n_trials, workers, out)
    return {"attempts": attempts, "final": final, "result": json.loads(Path(out).read_text())}


def _attempt_to_end(storage: str, n_trials: int, workers: bool, out: str) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _fit_in_child(storage, n_trials, workers, None, out)
        except BaseException:  # noqa: BLE001 - reported through the exit code
            import traceback
            traceback.print_exc()
            code = 3
        os._exit(code)
    return os.waitpid(pid, 0)[1]


def _kill_after(storage: str, n_trials: int, workers: bool, n_finished: int) -> bool:
    """Fit in a child and SIGKILL it once ``n_finished`` trials are in the journal."""
    pid = os.fork()
    if pid == 0:
        try:
            _fit_in_child(storage, n_trials, workers, None, None)
        finally:
            os._exit(0)
    status = _exit_status(pid)
    while status is None and len(finished(Path(storage))) < n_finished:
        time.sleep(0.01)
        status = _exit_status(pid)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    return os.WIFSIGNALED(status)


def _drive_replay(args: dict) -> dict:
    """Two uninterrupted runs of 30, and one of 15, then 30 killed after 20, resumed."""
    root, workers = Path(args["root"]), args["workers"]
    codes = [_attempt_to_end(str(root / name), 30, workers, str(root / f"{name}.json"))
             for name in ("a", "b")]
    codes.append(_attempt_to_end(str(root / "c"), 15, workers, str(root / "c15.json")))
    killed = _kill_after(str(root / "c"), 30, workers, 20)
    codes.append(_attempt_to_end(str(root / "c"), 30, workers, str(root / "c.json")))
    runs = {name: json.loads((root / f"{name}.json").read_text()) for name in ("a", "b", "c")}
    return {"codes": codes, "killed": killed, "runs": runs,
            "c_events": [e for e in events(root / "c")]}


def run_driver(command: str, args: dict, timeout: float, scratch: Path) -> dict:
    """Run this file as the driver; its temporary files go to ``scratch`` (a SIGKILLed fit
    cannot remove its shared-data folder, which would otherwise pile up in /tmp)."""
    root = str(THIS.parents[1])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=path, TMPDIR=str(scratch))
    done = subprocess.run([sys.executable, str(THIS), command, json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# SIGKILL at random points


def check_kills(report: dict, n_trials: int) -> None:
    attempts = report["attempts"]
    assert sum(a["killed"] for a in attempts) >= 10, [a["kill"] for a in attempts]
    assert any(a["torn"] for a in attempts if a["kill"]["where"] == "line")
    final = report["result"]["trials"]
    assert report["final"] == 0
    kept: dict[int, str] = {}
    for attempt in attempts:  # nothing a killed run had finished is lost or changed
        assert attempt["exit"] in (None, 0), attempt
        assert attempt["orphans"] == [], attempt
        for trial_id, record in attempt["before"].items():
            assert attempt["after"][trial_id] == record
        kept.update(attempt["after"])
    ids = [t[0] for t in final]
    assert sorted(ids) == list(range(n_trials))  # the target, each trial once
    by_id = {t[0]: t for t in final}
    for trial_id, record in kept.items():
        stored = json.loads(record)
        assert by_id[int(trial_id)][1] == json.dumps(stored["config"], sort_keys=True)
        assert by_id[int(trial_id)][2] == stored["status"]


def test_sigkill_at_random_points_keeps_every_trial_and_reaches_the_target(tmp_path):
    storage = tmp_path / "run"
    report = run_driver("kills", {"storage": str(storage), "n_trials": 40, "workers": False,
                                  "seed": 11, "n_time": 8, "max_delay": 0.2}, timeout=300,
                        scratch=tmp_path / "tmp")
    check_kills(report, 40)
    lines = [e for e in events(storage) if e["event"] == "finished"]
    assert len(lines) == len({e["trial_id"] for e in lines})  # no record duplicated
    crashed = [t[0] for t in report["result"]["trials"] if t[2] == "crashed"]
    assert sorted([e["trial_id"] for e in lines] + crashed) == list(range(40))
    starts = [e["trial_id"] for e in events(storage) if e["event"] == "started"]
    assert max(starts.count(i) for i in range(40)) <= 2  # a trial is retried at most once
    assert not list(storage.rglob("*.tmp"))  # half-written arrays were cleared on resume


@pytest.mark.slow
def test_sigkill_with_worker_processes_leaves_no_orphans(tmp_path):
    storage = tmp_path / "run"
    report = run_driver("kills", {"storage": str(storage), "n_trials": 40, "workers": True,
                                  "seed": 5, "n_time": 6, "max_delay": 0.5}, timeout=900,
                        scratch=tmp_path / "tmp")
    check_kills(report, 40)


# ---------------------------------------------------------------------------------------
# determinism and replay


def check_replay(report: dict) -> None:
    assert report["codes"] == [0, 0, 0, 0] and report["killed"]
    a, b, c = (report["runs"][name] for name in ("a", "b", "c"))
    assert len(a["trials"]) == 30 and len({t[1] for t in a["trials"]}) > 10
    assert a == b  # same seed: same trials, same order, same scores, same predictions
    assert c["trials"] == a["trials"]  # 15 + 15 with a kill in between: the same 30
    assert np.allclose(c["proba"], a["proba"], rtol=0, atol=1e-12)
    starts = [e["trial_id"] for e in report["c_events"] if e["event"] == "started"]
    ends = [e["trial_id"] for e in report["c_events"] if e["event"] == "finished"]
    assert sorted(ends) == list(range(30))  # each trial recorded once
    assert sorted(set(starts)) == list(range(30)) and len(starts) <= 31  # one retry at most


def test_same_seed_same_leaderboard_and_15_kill_15_replays_30(tmp_path):
    check_replay(run_driver("replay", {"root": str(tmp_path), "workers": False}, timeout=400,
                            scratch=tmp_path / "tmp"))


@pytest.mark.slow
def test_replay_with_worker_processes(tmp_path):
    check_replay(run_driver("replay", {"root": str(tmp_path), "workers": True}, timeout=900,
                            scratch=tmp_path / "tmp"))


# ---------------------------------------------------------------------------------------
# resume in this process (trials in process too)


class Planted:
    """Unpickling this writes a file: the proof that something was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (Path(self.marker), "unpickled"))


def test_torn_record_stray_files_and_a_pickle_bomb_do_not_stop_resume(tmp_path, in_process):
    X, y = make_data()
    storage = tmp_path / "run"
    AutoClassifier(n_trials=5, storage=str(storage), **SETTINGS).fit(X, y)
    with open(storage / EVENTS, "ab") as handle:  # a record cut by a dying process
        handle.write(b'{"event":"finished","trial_id":5,"config":{"model":{"lda"')
    (storage / "notes.txt").write_text("mine")
    (storage / "arrays" / ".trial_000009.npy.123.abcd.tmp").write_bytes(b"half")
    marker = tmp_path / "marker"
    bomb = np.empty(1, dtype=object)
    bomb[0] = Planted(str(marker))
    ok_trial = next(e["trial_id"] for e in events(storage)
                    if e["event"] == "finished" and e["status"] == "ok")
    np.save(storage / "arrays" / f"trial_{ok_trial:06d}.npy", bomb, allow_pickle=True)
    pickle.loads(pickle.dumps(Planted(str(tmp_path / "check"))))  # the bomb does go off
    assert (tmp_path / "check").exists()

    clf = AutoClassifier(n_trials=8, storage=str(storage), **SETTINGS).fit(X, y)

    assert sorted(t["trial_id"] for t in clf.trials_) == list(range(8))
    assert not marker.exists()  # resume never unpickles
    assert (storage / "notes.txt").read_text() == "mine"
    assert not list(storage.rglob("*.tmp"))
    assert (storage / EVENTS).read_bytes().endswith(b"\n")
    assert clf.predict(X).shape == (len(y),)


def test_a_journal_of_other_data_or_another_space_is_refused(tmp_path, in_process):
    X, y = make_data()
    storage = str(tmp_path / "run")
    AutoClassifier(n_trials=2, storage=storage, **SETTINGS).fit(X, y)
    other = X.copy()
    other.iloc[0, 0] += 1.0
    with pytest.raises(IncompatibleJournalError, match=r"different: data \(hash\)"):
        AutoClassifier(n_trials=3, storage=storage, **SETTINGS).fit(other, y)
    narrower = dict(SETTINGS, include=["lda", "logreg"])
    with pytest.raises(IncompatibleJournalError, match="space .the search space.*new storage"):
        AutoClassifier(n_trials=3, storage=storage, **narrower).fit(X, y)
    with pytest.raises(IncompatibleJournalError, match="random_state .journal: 0, now: 1"):
        AutoClassifier(n_trials=3, storage=storage, **dict(SETTINGS, random_state=1)).fit(X, y)
    assert len(finished(Path(storage))) == 2  # the refused fits wrote nothing


def test_random_state_none_resumes_with_the_run_seed_of_the_journal(tmp_path, in_process):
    X, y = make_data()
    storage = tmp_path / "run"
    unseeded = dict(SETTINGS, random_state=None)
    AutoClassifier(n_trials=4, storage=str(storage), **unseeded).fit(X, y)
    run_seed = json.loads((storage / HEADER).read_text())["run_seed"]
    resumed = AutoClassifier(n_trials=8, storage=str(storage), **unseeded).fit(X, y)
    assert [t["seed"] for t in resumed.trials_] == [trial_seed(run_seed, i) for i in range(8)]
    seeded = dict(SETTINGS, random_state=run_seed)
    fresh = AutoClassifier(n_trials=8, storage=str(tmp_path / "fresh"), **seeded).fit(X, y)
    assert board(resumed.trials_) == board(fresh.trials_)  # same folds, same trials


def test_fitting_a_finished_journal_again_runs_no_trial(tmp_path, in_process):
    X, y = make_data()
    storage = tmp_path / "run"
    first = AutoClassifier(n_trials=4, storage=str(storage), **SETTINGS).fit(X, y)
    again = AutoClassifier(n_trials=4, storage=str(storage), **SETTINGS).fit(X, y)
    assert board(again.trials_) == board(first.trials_)
    assert len(events(storage)) == 8  # 4 started + 4 finished, nothing new
    assert math.isclose(again.best_score_, first.best_score_)


if __name__ == "__main__":  # the driver of the subprocess tests
    command, arguments = sys.argv[1], json.loads(sys.argv[2])
    drive = {"kills": _drive_kills, "replay": _drive_replay}[command]
    print(json.dumps(drive(arguments)))

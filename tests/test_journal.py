"""Tests for automl.journal (crash-safe trial journal) and automl.seeding."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.exceptions import IncompatibleJournalError
from automl.journal import EVENTS, Fingerprint, Journal, JournalCallback, make_fingerprint
from automl.seeding import trial_rng, trial_seed

REPO = Path(__file__).resolve().parents[1]
FP = Fingerprint(data={"shape": [10, 2]}, space="space-hash", task="binary", metric="roc_auc",
                 cv=5, random_state=0)


def record(trial_id: int, status: str = "ok") -> dict:
    loss = math.nan if status != "ok" else 1.0 / (trial_id + 2)
    return {"trial_id": trial_id, "config": {"model": {"m": {"x": trial_id}}}, "algorithm": "m",
            "status": status, "loss": loss, "score": -loss, "fold_scores": [0.5, 0.25],
            "duration": 0.01 * trial_id, "error": None if status == "ok" else "boom",
            "seed": trial_seed(0, trial_id), "started_at": 1.0e9 + trial_id}


def same(a: dict, b: dict) -> bool:
    """Record equality that treats NaN as equal to NaN."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# --- append / load -----------------------------------------------------------------------

def test_records_round_trip_in_order(tmp_path):
    written = [record(i, "ok" if i % 3 else "error") for i in range(6)]
    with Journal(tmp_path, FP) as journal:
        for rec in written:
            journal.record_started(rec["trial_id"], rec["config"], rec["seed"])
            journal.record_finished(rec)
    with Journal(tmp_path, FP) as journal:
        state = journal.load()
    assert len(state.records) == 6
    assert all(same(a, b) for a, b in zip(state.records, written))
    assert math.isnan(state.records[0]["loss"])
    assert state.next_trial_id == 6 and state.retry == [] and state.crashed == []


def test_numpy_scalars_are_stored_as_plain_json(tmp_path):
    rec = record(0)
    rec.update(trial_id=np.int64(0), loss=np.float32(0.5), fold_scores=np.array([0.5, 0.5]))
    with Journal(tmp_path, FP) as journal:
        journal.record_finished(rec)
        loaded = journal.load().records[0]
    assert loaded["trial_id"] == 0 and loaded["loss"] == 0.5 and loaded["fold_scores"] == [0.5, 0.5]


def test_a_trial_is_recorded_once(tmp_path):
    with Journal(tmp_path, FP) as journal:
        journal.record_finished(record(0))
        with pytest.raises(ValueError, match="already has a finished record"):
            journal.record_finished(record(0))
        with pytest.raises(ValueError, match="already finished"):
            journal.record_started(0, {}, 1)
        with pytest.raises(ValueError, match="missing"):
            journal.record_finished({"trial_id": 1})


def test_started_but_unfinished_trials_are_crashed_and_retried_at_most_once(tmp_path):
    with Journal(tmp_path, FP) as journal:
        journal.record_started(0, {"a": 0}, 11, algorithm="m")
        journal.record_finished(record(0))
        journal.record_started(1, {"a": 1}, 12, algorithm="m")  # the process "dies" here
    with Journal(tmp_path, FP) as journal:
        state = journal.load()
        assert [r["trial_id"] for r in state.records] == [0]
        assert [(r["trial_id"], r["status"], r["algorithm"]) for r in state.crashed] == [(1, "crashed", "m")]
        assert [(p.trial_id, p.config, p.seed, p.attempts) for p in state.retry] == [(1, {"a": 1}, 12, 1)]
        assert state.next_trial_id == 2
        journal.record_started(1, {"a": 1}, 12)  # the retry dies too
    with Journal(tmp_path, FP) as journal:
        state = journal.load()
        with pytest.raises(ValueError, match="retried at most once"):
            journal.record_started(1, {"a": 1}, 12)
    assert state.retry == []
    assert [(r["trial_id"], r["status"]) for r in state.records] == [(0, "ok"), (1, "crashed")]
    assert "attempt 2 of 2" in state.records[1]["error"]


# --- damaged folders ---------------------------------------------------------------------

def test_torn_last_record_and_stray_files_are_survived(tmp_path):
    with Journal(tmp_path, FP) as journal:
        for i in range(3):
            journal.record_finished(record(i))
    events = tmp_path / EVENTS
    complete = events.read_bytes()
    with open(events, "ab") as handle:  # a half-written record: partial JSON, no newline
        handle.write(json.dumps({"event": "finished", **record(3)}).encode()[:57])
    (tmp_path / "notes.txt").write_text("stray")
    (tmp_path / "arrays").mkdir()
    (tmp_path / "arrays" / "random.bin").write_bytes(b"\x00\x01")
    (tmp_path / "subfolder").mkdir()
    with Journal(tmp_path, FP) as journal:
        state = journal.load()
        assert [r["trial_id"] for r in state.records] == [0, 1, 2]
        assert events.read_bytes() == complete  # the torn tail was cut off the file
        journal.record_finished(record(3))
        assert [r["trial_id"] for r in journal.load().records] == [0, 1, 2, 3]
    assert (tmp_path / "notes.txt").read_text() == "stray"


def test_the_cut_is_reported(tmp_path):
    with Journal(tmp_path, FP) as journal:
        journal.record_finished(record(0))
    with open(tmp_path / EVENTS, "ab") as handle:
        handle.write(b'{"event": "fini')
    with Journal(tmp_path, FP) as journal:
        assert journal.load().cut_bytes == len(b'{"event": "fini')  # cut when opened
    assert (tmp_path / EVENTS).read_bytes().endswith(b"\n")


def test_garbage_and_duplicate_lines_are_skipped(tmp_path):
    with Journal(tmp_path, FP) as journal:
        journal.record_finished(record(0))
    line = (tmp_path / EVENTS).read_bytes()
    with open(tmp_path / EVENTS, "ab") as handle:
        handle.write(b"not json at all\n" + line + b'{"event": "other", "trial_id": 5}\n'
                     + b'{"event": "finished", "trial_id": 6, "status": "ok"}\n')
    with Journal(tmp_path, FP) as journal:
        with pytest.warns(RuntimeWarning, match=r"lines \[2, 4, 5\] are not journal events"):
            state = journal.load()
    assert [r["trial_id"] for r in state.records] == [0]


# --- fingerprint -------------------------------------------------------------------------

def frame(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"num": rng.normal(size=30), "cat": rng.choice(["a", "b"], size=30)})
    return X, rng.integers(0, 2, size=30)


def test_fingerprint_is_stable_and_sees_changes():
    X, y = frame()
    base = make_fingerprint(X, y, space={"s": 1}, task="binary", metric="roc_auc", cv=5,
                            random_state=0)
    assert make_fingerprint(X.copy(), y.copy(), space={"s": 1}, task="binary",
                            metric="roc_auc", cv=5, random_state=0) == base
    changed = X.copy()
    changed.loc[3, "num"] += 1.0
    assert base.differences(make_fingerprint(changed, y, space={"s": 1}, task="binary",
                            metric="roc_auc", cv=5, random_state=0)) == ["data (hash)"]
    fewer = base.differences(make_fingerprint(X.iloc[:20], y[:20], space={"s": 1}, task="binary",
                             metric="roc_auc", cv=5, random_state=0))[0]
    assert "shape: journal [30, 2], now [20, 2]" in fewer
    renamed = X.rename(columns={"num": "other"})
    assert "columns" in base.differences(make_fingerprint(renamed, y, space={"s": 1},
                                         task="binary", metric="roc_auc", cv=5,
                                         random_state=0))[0]
    other = make_fingerprint(X, y, space={"s": 2}, task="multiclass", metric="roc_auc", cv=3,
                             random_state=0)
    assert [d.split(" ")[0] for d in base.differences(other)] == ["space", "task", "cv"]
    assert Fingerprint.from_dict(base.to_dict()) == base


class Splitter:
    def __init__(self, n_splits: int) -> None:
        self.n_splits = n_splits

    def __repr__(self) -> str:
        return f"Splitter(n_splits={self.n_splits})"


def test_fingerprint_accepts_arrays_and_objects():
    fp = make_fingerprint(np.arange(12.0).reshape(4, 3), [0, 1, 0, 1], space={}, task="binary",
                          cv=Splitter(3), metric=math.sqrt, random_state=np.int64(3))
    json.dumps(fp.to_dict())
    assert fp.data["shape"] == [4, 3] and fp.random_state == 3
    assert fp.cv == "Splitter(n_splits=3)" and fp.metric == "math.sqrt"
    generators = [make_fingerprint(np.eye(2), [0, 1], space={}, task="binary",
                                   random_state=np.random.default_rng(s)) for s in (0, 1)]
    assert generators[0] == generators[1] and generators[0].random_state == "Generator"
    assert make_fingerprint(np.eye(4), [0, 1, 0, 1], space={}, task="binary",
                            cv=Splitter(5)).differences(
        make_fingerprint(np.eye(4), [0, 1, 0, 1], space={}, task="binary", cv=Splitter(3))
    ) == ["cv (journal: 'Splitter(n_splits=5)', now: 'Splitter(n_splits=3)')"]


def test_a_journal_of_another_run_is_refused(tmp_path):
    X, y = frame(0)
    fp = make_fingerprint(X, y, space={"s": 1}, task="binary", metric="roc_auc", random_state=0)
    with Journal(tmp_path, fp) as journal:
        journal.record_finished(record(0))
    X2, y2 = frame(1)
    other = make_fingerprint(X2, y2, space={"s": 2}, task="binary", metric="roc_auc",
                             random_state=0)
    with pytest.raises(IncompatibleJournalError, match=r"data \(hash\).*space.*new storage folder"):
        Journal(tmp_path, other)
    with Journal(tmp_path, fp) as journal:  # the refused attempt released the lock
        assert len(journal.load().records) == 1


def test_unreadable_header_or_headless_events_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / EVENTS).write_text('{"event": "finished", "trial_id": 0}\n')
    with pytest.raises(IncompatibleJournalError, match="no header.json"):
        Journal(tmp_path / "a", FP)
    with Journal(tmp_path / "b", FP):
        pass
    (tmp_path / "b" / "header.json").write_text("{broken")
    with pytest.raises(IncompatibleJournalError, match="cannot be read"):
        Journal(tmp_path / "b", FP)


# --- arrays ------------------------------------------------------------------------------

def test_arrays_round_trip_without_pickle(tmp_path):
    oof = np.random.default_rng(0).random((20, 3))
    with Journal(tmp_path, FP) as journal:
        path = journal.save_array(4, oof)
        np.testing.assert_array_equal(journal.load_array(4), oof)
        np.testing.assert_array_equal(journal.load_array(4), np.load(path))
        with pytest.raises(TypeError, match="object dtype"):
            journal.save_array(5, np.array([{"a": 1}], dtype=object))
        with pytest.raises(FileNotFoundError, match="trial 5"):
            journal.load_array(5)
        np.save(journal.array_path(6), np.array([{"evil": 1}], dtype=object), allow_pickle=True)
        with pytest.raises(ValueError, match="allow_pickle"):
            journal.load_array(6)  # a pickled file is never unpickled


def test_a_failed_array_write_leaves_the_old_array_and_no_temporary(tmp_path, monkeypatch):
    with Journal(tmp_path, FP) as journal:
        journal.save_array(0, np.zeros(5))

        def broken_save(handle, values, allow_pickle):
            handle.write(b"partial")
            raise OSError("disk full")

        monkeypatch.setattr(np, "save", broken_save)
        with pytest.raises(OSError, match="disk full"):
            journal.save_array(0, np.ones(5))
        monkeypatch.undo()
        np.testing.assert_array_equal(journal.load_array(0), np.zeros(5))
    assert sorted(p.name for p in (tmp_path / "arrays").iterdir()) == ["trial_000000.npy"]


def test_leftover_temporaries_are_removed_on_open(tmp_path):
    with Journal(tmp_path, FP):
        pass
    (tmp_path / "arrays").mkdir()
    leftover = tmp_path / "arrays" / ".trial_000001.npy.123.abcd.tmp"
    leftover.write_bytes(b"x")
    with Journal(tmp_path, FP):
        assert not leftover.exists()


# --- search callback ---------------------------------------------------------------------

class FakeResult:
    def __init__(self, oof):
        self.oof = oof


def test_the_callback_writes_arrays_before_records(tmp_path):
    from automl.space import Choice, Component, Float, Space
    space = Space({"model": Choice({"m": Component("sklearn.linear_model.Ridge",
                                                   {"alpha": Float(0.1, 1.0)})})})
    oof = np.linspace(0, 1, 12).reshape(6, 2)
    with Journal(tmp_path, FP) as journal:
        callback = JournalCallback(journal, space=space)
        for trial_id, status in ((0, "ok"), (1, "error")):
            callback.on_trial_start(trial_id, {"model": {"m": {"alpha": 0.5}}}, 3)
            callback.on_trial_end(record(trial_id, status), FakeResult(oof) if status == "ok" else None)
        callback.on_trial_start(2, {"model": {"m": {"alpha": 0.2}}}, 4)
        state = journal.load()
        np.testing.assert_array_equal(journal.load_array(0), oof)
        with pytest.raises(FileNotFoundError):
            journal.load_array(1)
    assert [r["status"] for r in state.records] == ["ok", "error"]
    assert [(r["trial_id"], r["algorithm"]) for r in state.crashed] == [(2, "m")]


# --- lock and lifecycle ------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="the folder lock uses flock")
def test_one_writer_per_folder(tmp_path):
    first = Journal(tmp_path, FP)
    with pytest.raises(RuntimeError, match="in use by another search"):
        Journal(tmp_path, FP)
    first.close()
    first.close()
    with pytest.raises(RuntimeError, match="closed"):
        first.record_finished(record(0))
    with Journal(tmp_path, FP) as journal:
        journal.record_finished(record(0))


# --- SIGKILL at random points ------------------------------------------------------------

CHILD = textwrap.dedent("""
    import math, os, signal, sys, time
    import numpy as np
    import automl.journal as jm
    from automl.seeding import trial_seed

    # Ctrl-C as a user at a terminal has it: a job started in the background by a shell
    # (CI runners, nohup) inherits SIGINT ignored, and Python then keeps ignoring it.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    folder, target, slow = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "slow"
    if slow:  # simulate a write the kernel tears: half a line, a pause, the rest
        def torn_write(fd, data):
            half = len(data) // 2
            os.write(fd, data[:half]); time.sleep(0.05); os.write(fd, data[half:])
        jm._write_all = torn_write
    fp = jm.Fingerprint(data={"shape": [10, 2]}, space="space-hash", task="binary",
                        metric="roc_auc", cv=5, random_state=0)
    with jm.Journal(folder, fp) as journal:
        print("ready", flush=True)
        while True:
            state = journal.load()
            if len(state.records) >= target:
                break
            if state.retry:
                pending = state.retry[0]
                tid, config, seed = pending.trial_id, pending.config, pending.seed
            else:
                tid = state.next_trial_id
                config, seed = {"model": {"m": {"x": tid}}}, trial_seed(0, tid)
            journal.record_started(tid, config, seed, algorithm="m")
            journal.save_array(tid, np.full(50, float(tid)))
            journal.record_finished({"trial_id": tid, "config": config, "algorithm": "m",
                "status": "ok", "loss": 1.0 / (tid + 2), "score": -1.0 / (tid + 2),
                "fold_scores": [0.5] * 40, "duration": 0.0, "error": None, "seed": seed,
                "started_at": time.time()})
            with open(os.path.join(folder, "acknowledged.txt"), "a") as ack:
                ack.write(f"{tid}\\n"); ack.flush(); os.fsync(ack.fileno())
""")


def run_child(folder: Path, target: int, slow: bool, kill_after: float | None,
              sig: int = signal.SIGKILL) -> bool:
    """Run the writer; signal it after ``kill_after`` s. True if the signal ended it.

    A fast machine may let the writer reach its target before the signal lands: then it
    must have exited cleanly, and False is returned.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(target),
                              "slow" if slow else "fast"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env)
    try:
        assert child.stdout.readline().strip() == b"ready"
        if kill_after is None:
            assert child.wait(timeout=120) == 0
            return False
        time.sleep(kill_after)
        if child.poll() is None:
            child.send_signal(sig)
        code = child.wait(timeout=10)
        assert code in (0, -sig), f"the writer ended with {code}"
        return code != 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def check_consistent(folder: Path) -> tuple[list[dict], int]:
    with Journal(folder, FP) as journal:
        state = journal.load()
        ids = [r["trial_id"] for r in state.records]
        assert len(ids) == len(set(ids)), "a record was duplicated"
        ack_file = folder / "acknowledged.txt"
        acknowledged = {int(t) for t in ack_file.read_text().split()} if ack_file.exists() else set()
        assert acknowledged <= set(ids), "a record that was written durably was lost"
        for rec in state.records:
            if rec["status"] == "ok":
                assert rec["loss"] == 1.0 / (rec["trial_id"] + 2)
                np.testing.assert_array_equal(journal.load_array(rec["trial_id"]),
                                              np.full(50, float(rec["trial_id"])))
    events = (folder / EVENTS).read_bytes() if (folder / EVENTS).exists() else b""
    assert events == b"" or events.endswith(b"\n")
    return state.records, state.cut_bytes


def test_ctrl_c_leaves_a_consistent_journal_and_no_temporaries(tmp_path):
    for delay in (0.1, 0.2, 0.3):
        run_child(tmp_path, 10_000, slow=False, kill_after=delay, sig=signal.SIGINT)
        records, _ = check_consistent(tmp_path)  # opens again: the lock was released
        assert not list(tmp_path.rglob("*.tmp"))
    assert records, "the child wrote nothing before Ctrl-C"


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path):
    rng = np.random.default_rng(6)
    target, torn, landed = 300, 0, 0   # a target far enough that kills land mid-run
    for round_number in range(10):
        slow = round_number % 2 == 1  # every other round, kills land mostly mid-write
        landed += run_child(tmp_path, target, slow, kill_after=float(rng.uniform(0.02, 0.25)))
        events = (tmp_path / EVENTS).read_bytes()
        torn += bool(events) and not events.endswith(b"\n")
        check_consistent(tmp_path)
    assert landed >= 8, f"only {landed} of 10 kills landed while the writer was running"
    assert torn >= 1, "no kill landed while a record was being written"
    run_child(tmp_path, target, slow=False, kill_after=None)
    records, _ = check_consistent(tmp_path)
    assert sorted(r["trial_id"] for r in records) == list(range(target))
    starts = [json.loads(line) for line in (tmp_path / EVENTS).read_text().splitlines()]
    attempts = [e["attempt"] for e in starts if e["event"] == "started"]
    assert max(attempts) <= 2


# --- seeds -------------------------------------------------------------------------------

def test_trial_seeds_are_reproducible_distinct_and_spawned():
    seeds = [trial_seed(42, i) for i in range(200)]
    assert seeds == [trial_seed(42, i) for i in range(200)]
    assert len(set(seeds)) == 200 and all(0 <= s < 2**32 for s in seeds)
    assert seeds[:5] != [trial_seed(43, i) for i in range(5)]
    child = np.random.SeedSequence(42).spawn(8)[7]
    assert trial_seed(42, 7) == int(child.generate_state(1, dtype=np.uint32)[0])
    assert trial_rng(42, 3).random() == trial_rng(42, 3).random()


@pytest.mark.parametrize("bad", [None, -1, 1.5, True, "3"])
def test_trial_seed_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        trial_seed(bad, 0)
    with pytest.raises(ValueError, match="trial_id"):
        trial_seed(0, bad)

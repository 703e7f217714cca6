"""Clean shutdown: Ctrl-C during fit, and nothing left behind after many fits.

What ``fit`` does on KeyboardInterrupt (see ``AutoClassifier.fit``): it stops the search,
and if a trial succeeded it refits the best one so far and returns ``self`` with a
``UserWarning``; otherwise it re-raises. Either way no worker process, temporary folder
or open file is left. The process-level checks run this file as a script in a
subprocess with its own ``TMPDIR``, so that other programs' temporary folders do not
count, and send real SIGINTs to it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl import AutoClassifier, estimators
from automl.journal import EVENTS
from inprocess import InProcessPool

ALGORITHMS = ["naive_bayes", "lda", "logreg"]
SETTINGS = dict(time_budget=None, cv=3, include=ALGORITHMS, random_state=0, n_jobs=1)
THIS = Path(__file__).resolve()


def make_data() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=150, n_features=5, n_informative=3, random_state=1)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]), y


def journal_lines(folder: Path) -> list[dict]:
    raw = (folder / EVENTS).read_bytes()
    assert raw.endswith(b"\n"), "the journal ends in a torn line"
    return [json.loads(line) for line in raw.splitlines()]


# ---------------------------------------------------------------------------------------
# in this process: KeyboardInterrupt raised inside the search loop


@pytest.fixture
def interrupt_after(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the sampler raise KeyboardInterrupt in its nth call of ``method`` (n from 1).

    The nth ``observe`` comes after the journal and the records got trial n - 1.
    """
    from automl.tpe import TPESampler

    monkeypatch.setattr(estimators, "_pool_factory", lambda: InProcessPool)

    def arm(nth: int, method: str = "observe") -> None:
        calls, real = {"n": 0}, getattr(TPESampler, method)

        def interrupted(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == nth:
                raise KeyboardInterrupt
            return real(self, *args, **kwargs)

        monkeypatch.setattr(TPESampler, method, interrupted)

    return arm


@pytest.mark.parametrize("storage", [False, True])
def test_ctrl_c_refits_the_best_so_far_and_warns(tmp_path, interrupt_after, storage):
    X, y = make_data()
    folder = tmp_path / "run"
    interrupt_after(4)
    clf = AutoClassifier(n_trials=30, storage=str(folder) if storage else None, **SETTINGS)
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\) after 4 finished"):
        assert clf.fit(X, y) is clf
    assert [t["trial_id"] for t in clf.trials_] == [0, 1, 2, 3]  # no trial after Ctrl-C
    ok = [t for t in clf.trials_ if t["status"] == "ok"]
    assert clf.best_score_ == max(t["score"] for t in ok)
    assert clf.ensemble_ is None and clf.score(X, y) > 0.6
    if storage:
        lines = journal_lines(folder)
        assert [e["trial_id"] for e in lines if e["event"] == "finished"] == [0, 1, 2, 3]


def test_ctrl_c_with_storage_resumes_where_it_stopped(tmp_path, interrupt_after):
    X, y = make_data()
    folder = str(tmp_path / "run")
    interrupt_after(3)
    with pytest.warns(UserWarning, match="interrupted"):
        AutoClassifier(n_trials=6, storage=folder, **SETTINGS).fit(X, y)
    interrupt_after(10**6)
    resumed = AutoClassifier(n_trials=6, storage=folder, **SETTINGS).fit(X, y)
    whole = AutoClassifier(n_trials=6, storage=str(tmp_path / "b"), **SETTINGS).fit(X, y)
    keys = ("trial_id", "config", "status", "fold_scores", "seed")
    assert [[t[k] for k in keys] for t in resumed.trials_] == \
        [[t[k] for k in keys] for t in whole.trials_]


@pytest.mark.parametrize("storage", [False, True])
def test_ctrl_c_is_re_raised_only_when_no_trial_was_recorded(tmp_path, interrupt_after, storage):
    X, y = make_data()
    interrupt_after(1, "observe")  # Ctrl-C as the sampler hears of the first trial
    folder = tmp_path / "run"
    clf = AutoClassifier(n_trials=5, storage=str(folder) if storage else None, **SETTINGS)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)  # trial 0 was recorded before the sampler heard of it: refit
    interrupt_after(1, "suggest")  # Ctrl-C before the first trial was proposed
    with pytest.raises(KeyboardInterrupt):
        AutoClassifier(n_trials=5, storage=str(tmp_path / "new") if storage else None,
                       **SETTINGS).fit(X, y)
    if storage:
        assert not (tmp_path / "new" / EVENTS).exists()


# ---------------------------------------------------------------------------------------
# in a subprocess: real workers, real SIGINTs


def _state(baseline_fds: int) -> dict:
    import psutil

    me = psutil.Process()
    return {"children": [c.pid for c in me.children(recursive=True)],
            "temporary": sorted(p.name for p in Path(tempfile.gettempdir()).glob("automl-*")),
            "extra_fds": me.num_fds() - baseline_fds,
            "files": [f.path for f in me.open_files()]}


def _sigint_when(condition: Any, delay: float, cancel: threading.Event) -> threading.Thread:
    """SIGINT this process ``delay`` s after ``condition()`` first holds (like Ctrl-C),
    unless ``cancel`` is set first."""

    def run() -> None:
        while not condition():
            if cancel.wait(0.02):
                return
        if not cancel.wait(delay):
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _one_fit(X: Any, y: Any, storage: str | None, n_trials: int, interrupt: Any) -> str:
    """Fit once, SIGINTed as ``interrupt`` says; say how it ended."""
    import warnings

    cancel = threading.Event()
    thread = None if interrupt is None else _sigint_when(*interrupt, cancel)
    clf = AutoClassifier(n_trials=n_trials, storage=storage, **SETTINGS)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
    except KeyboardInterrupt:
        outcome = "raised"
    else:
        interrupted = any("interrupted" in str(w.message) for w in caught)
        clf.predict(X)
        outcome = f"{'refit' if interrupted else 'done'}:{len(clf.trials_)}"
    if thread is not None:
        cancel.set()
        thread.join()
        time.sleep(0.05)  # a SIGINT sent just as fit returned lands here, not in the next fit
    return outcome


def _drive(args: dict) -> dict:
    import psutil

    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    X, y = make_data()
    root, rng = Path(args["root"]), random.Random(args["seed"])
    baseline = psutil.Process().num_fds()
    outcomes, states = [], []
    for i in range(args["n_fits"]):
        storage = str(root / f"run{i % 3}") if i % 2 == 0 else None
        kind = args["plan"][i % len(args["plan"])]
        if kind == "after_trials":  # Ctrl-C once two trials are in the journal
            storage = str(root / f"int{i}")
            path = Path(storage) / EVENTS
            interrupt = (lambda p=path: p.exists() and p.read_bytes().count(b'"finished"') >= 2,
                         rng.uniform(0.0, 0.5))
        elif kind == "random":
            interrupt = (lambda: True, rng.uniform(0.2, args["max_delay"]))
        else:
            interrupt = None
        try:
            outcomes.append(_one_fit(X, y, storage, args["n_trials"], interrupt))
        except KeyboardInterrupt:  # a Ctrl-C that arrived in the test's own code
            outcomes.append("raised-outside")
        states.append(_state(baseline))
    time.sleep(0.5)
    return {"outcomes": outcomes, "states": states, "final": _state(baseline)}


def run_script(tmp_path: Path, args: dict, timeout: float) -> dict:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    root = str(THIS.parents[1])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TMPDIR=str(temporary), PYTHONPATH=path)
    done = subprocess.run([sys.executable, str(THIS), json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["left_in_tmp"] = sorted(p.name for p in temporary.iterdir())
    return report


def check_clean(report: dict) -> None:
    final = report["final"]
    assert final["children"] == [], final
    assert final["temporary"] == [] and report["left_in_tmp"] == [], final
    assert final["files"] == [] and final["extra_fds"] <= 0, final


def test_sigint_during_fit_with_workers_leaves_nothing_behind(tmp_path):
    plan = ["after_trials", "random", "none"]
    report = run_script(tmp_path, {"root": str(tmp_path), "seed": 0, "n_fits": 3,
                                   "plan": plan, "n_trials": 12, "max_delay": 0.5},
                        timeout=400)
    first, second, third = report["outcomes"]
    assert first.startswith("refit:") and int(first.split(":")[1]) >= 2
    assert second == "raised"  # SIGINT while the workers start: no trial, no model
    assert third == "done:12"
    check_clean(report)
    lines = journal_lines(tmp_path / "int0")
    ends = [e["trial_id"] for e in lines if e["event"] == "finished"]
    assert len(ends) == len(set(ends)) >= 2


@pytest.mark.slow
def test_twenty_fits_some_interrupted_leave_no_process_folder_or_file(tmp_path):
    plan = ["random", "none", "after_trials", "random"]
    report = run_script(tmp_path, {"root": str(tmp_path), "seed": 3, "n_fits": 20,
                                   "plan": plan, "n_trials": 6, "max_delay": 6.0},
                        timeout=1500)
    outcomes = report["outcomes"]
    assert len(outcomes) == 20
    assert sum(o.startswith("done") for o in outcomes) >= 5
    assert sum(o.startswith("refit") or o.startswith("raised") for o in outcomes) >= 5
    for state in report["states"]:  # clean after every fit, not only at the end
        assert state["children"] == [] and state["temporary"] == [], state
    check_clean(report)


if __name__ == "__main__":
    print(json.dumps(_drive(json.loads(sys.argv[1]))))

"""Crash-safe trial journal: what lets a killed search resume where it stopped.

A journal is a folder (the ``storage`` of a search) holding:

``header.json``
    The run's :class:`Fingerprint` (data, space, task, metric, cv, random_state) and the
    run seed the first run drew, written atomically (temporary file, ``fsync``,
    ``os.replace``). Opening a journal with another fingerprint raises
    :class:`~automl.exceptions.IncompatibleJournalError`; a resumed run takes its run seed
    from the header (:attr:`Journal.run_seed`), so that ``random_state=None`` resumes with
    the folds and trial seeds of the run it continues.
``trials.jsonl``
    An append-only file of JSON lines, one event per line: ``"started"`` (trial_id,
    config, seed, attempt) and ``"finished"`` (the trial record of docs/CONTRACTS.md).
    Each line is written with one ``write``, then ``fsync``'ed before the call returns.
``arrays/trial_NNNNNN.npy``
    Optional per-trial arrays (out-of-fold predictions), written to a temporary name and
    renamed atomically; loaded with ``allow_pickle=False``.
``lock``
    Held (``flock``) while a :class:`Journal` is open, so two searches never write to the
    same folder at once. The kernel releases it when the process dies.

Reading a journal never unpickles anything. A torn last line (the process died during a
write) is cut off; other files in the folder are ignored.

Examples
--------
>>> import tempfile, numpy as np, pandas as pd
>>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}); y = np.array([0, 1, 0])
>>> fp = make_fingerprint(X, y, space={"model": "demo"}, task="binary",
...                       metric="roc_auc", cv=5, random_state=0)
>>> with tempfile.TemporaryDirectory() as folder:
...     with Journal(folder, fp) as journal:
...         journal.record_started(0, {"model": {"demo": {}}}, seed=7)
...         journal.record_finished({"trial_id": 0, "config": {"model": {"demo": {}}},
...             "algorithm": "demo", "status": "ok", "loss": 0.2, "score": 0.8,
...             "fold_scores": [0.8], "duration": 0.1, "error": None, "seed": 7,
...             "started_at": 0.0})
...     with Journal(folder, fp) as journal:
...         [r["trial_id"] for r in journal.load().records]
[0]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl.exceptions import IncompatibleJournalError

__all__ = ["Fingerprint", "make_fingerprint", "Journal", "JournalCallback", "JournalState",
           "PendingTrial"]

HEADER = "header.json"
EVENTS = "trials.jsonl"
ARRAYS = "arrays"
LOCK = "lock"
FORMAT = 1
MAX_ATTEMPTS = 2  # a trial interrupted by a dying process is retried at most once
RECORD_KEYS = ("trial_id", "config", "algorithm", "status", "loss", "score",
               "fold_scores", "duration", "error", "seed", "started_at")
_TMP_SUFFIX = ".tmp"

# ---------------------------------------------------------------------------------------
# fingerprint


@dataclass(frozen=True)
class Fingerprint:
    """What a journal was written for; resuming requires every field to match.

    Build one with :func:`make_fingerprint`. All fields are JSON-safe.

    Examples
    --------
    >>> a = Fingerprint(data={"shape": [3, 1]}, space="s1", task="binary")
    >>> b = Fingerprint(data={"shape": [3, 1]}, space="s2", task="binary")
    >>> a.differences(b)
    ['space (the search space)']
    """

    data: dict[str, Any]
    space: str
    task: str
    metric: Any = None
    cv: Any = None
    random_state: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fingerprint as a JSON-safe dict."""
        return json.loads(json.dumps(asdict(self), sort_keys=True))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fingerprint":
        """Rebuild a fingerprint from :meth:`to_dict` output."""
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def differences(self, other: "Fingerprint") -> list[str]:
        """Name every field in which ``other`` differs from this fingerprint."""
        mine, theirs = self.to_dict(), other.to_dict()
        out = []
        for name in ("data", "space", "task", "metric", "cv", "random_state"):
            if mine[name] == theirs[name]:
                continue
            if name == "data":
                out.append(f"data ({_data_differences(mine['data'], theirs['data'])})")
            elif name == "space":
                out.append("space (the search space)")
            else:
                out.append(f"{name} (journal: {mine[name]!r}, now: {theirs[name]!r})")
        return out


def _data_differences(mine: dict[str, Any], theirs: dict[str, Any]) -> str:
    parts = []
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) == theirs.get(key):
            continue
        if key == "hash":
            parts.append("hash")
        else:
            parts.append(f"{key}: journal {str(mine.get(key))[:60]}, now {str(theirs.get(key))[:60]}")
    return "; ".join(parts)


def _describe(value: Any) -> Any:
    """A JSON-safe, stable description of a setting (metric, cv, random_state)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return type(value).__name__  # its repr holds a memory address
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def _hash_pandas(obj: Any) -> str:
    import pandas as pd

    try:
        hashes = pd.util.hash_pandas_object(obj, index=False)
    except TypeError:  # unhashable cells (lists, dicts): hash their text instead
        hashes = pd.util.hash_pandas_object(obj.astype(str), index=False)
    return hashlib.sha256(np.ascontiguousarray(hashes.to_numpy()).tobytes()).hexdigest()


def _data_description(X: Any, y: Any) -> dict[str, Any]:
    import pandas as pd

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    target = y if isinstance(y, (pd.Series, pd.DataFrame)) else pd.Series(np.asarray(y).ravel())
    digest = hashlib.sha256()
    digest.update(_hash_pandas(frame).encode())
    digest.update(_hash_pandas(target).encode())
    return {
        "shape": [int(n) for n in frame.shape],
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(d) for d in frame.dtypes],
        "target_dtype": str(target.dtype) if isinstance(target, pd.Series) else "frame",
        "hash": digest.hexdigest(),
    }


def _space_hash(space: Any) -> str:
    as_dict = space.to_dict() if hasattr(space, "to_dict") else space
    text = json.dumps(as_dict, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def make_fingerprint(X: Any, y: Any, *, space: Any, task: str, metric: Any = None,
                     cv: Any = None, random_state: Any = None) -> Fingerprint:
    """Describe a run cheaply: data shape, columns, dtypes and content hash, plus settings.

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        The training features (best: the validated frame the search uses).
    y : array-like
        The target.
    space : automl.space.Space or dict
        The search space (hashed through ``to_dict()``).
    task : str
        "binary", "multiclass" or "regression".
    metric, cv, random_state : optional
        Settings that change trial scores; objects are described by their ``repr``.

    Returns
    -------
    Fingerprint

    Examples
    --------
    >>> import numpy as np
    >>> fp = make_fingerprint(np.eye(3), [0, 1, 1], space={}, task="binary")
    >>> fp.data["shape"]
    [3, 3]
    """
    return Fingerprint(data=_data_description(X, y), space=_space_hash(space), task=str(task),
                       metric=_describe(metric), cv=_describe(cv),
                       random_state=_describe(random_state))


# ---------------------------------------------------------------------------------------
# low-level durable file operations


def _fsync_path(path: Path) -> None:
    """fsync a file or a folder (POSIX; elsewhere folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _atomic_write(target: Path, write: Any) -> None:
    """Write through ``write(file)`` to a temporary sibling, fsync, then os.replace."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_path(target.parent)


def _append_line(path: Path, event: dict[str, Any]) -> None:
    data = (json.dumps(event, default=_json_default, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"journal records must be JSON-safe; got a {type(value).__name__}: {value!r}")


def _read_events(path: Path) -> tuple[list[dict[str, Any]], int, list[int]]:
    """Parse the event file, cutting a torn last line.

    Returns the events, the number of bytes cut and the numbers of unreadable lines.
    """
    if not path.exists():
        return [], 0, []
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end < len(raw):
        os.truncate(path, end)
        _fsync_path(path)
    events: list[dict[str, Any]] = []
    bad: list[int] = []
    for number, line in enumerate(raw[:end].splitlines(), start=1):
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if _is_event(event):
            events.append(event)
        else:
            bad.append(number)
    return events, len(raw) - end, bad


def _is_event(event: Any) -> bool:
    """A "started" event with its config, or a "finished" one with every record key."""
    if not isinstance(event, dict) or type(event.get("trial_id")) is not int:
        return False
    if event.get("event") == "started":
        return "config" in event and type(event.get("attempt", 1)) is int
    return event.get("event") == "finished" and all(key in event for key in RECORD_KEYS)


# ---------------------------------------------------------------------------------------
# state


@dataclass(frozen=True)
class PendingTrial:
    """A trial that was running when the process died and may be run once more.

    Re-run it with the same ``trial_id``, ``config`` and ``seed`` (so its score is the one
    an uninterrupted run would have got), calling :meth:`Journal.record_started` first.
    """

    trial_id: int
    config: dict[str, Any]
    seed: Any
    attempts: int


@dataclass
class JournalState:
    """What :meth:`Journal.load` found.

    Attributes
    ----------
    records : list of dict
        Finished trial records in journal order, then (in trial order) the trials that
        crashed on their last allowed attempt (status "crashed"). Tell all of them to the
        sampler.
    crashed : list of dict
        A "crashed" record for every trial started but never finished (the ones in
        ``retry`` included).
    retry : list of PendingTrial
        The crashed trials that may still be retried (at most once in all).
    next_trial_id : int
        The first unused trial number.
    cut_bytes : int
        Bytes of torn last lines cut off since this Journal was opened (0 if none).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    crashed: list[dict[str, Any]] = field(default_factory=list)
    retry: list[PendingTrial] = field(default_factory=list)
    next_trial_id: int = 0
    cut_bytes: int = 0


def _crashed_record(started: dict[str, Any]) -> dict[str, Any]:
    attempts = started.get("attempt", 1)
    return {
        "trial_id": started["trial_id"], "config": started["config"],
        "algorithm": started.get("algorithm"), "status": "crashed", "loss": math.nan,
        "score": math.nan, "fold_scores": [], "duration": math.nan,
        "error": (f"the process running this trial stopped before it finished "
                  f"(attempt {attempts} of {MAX_ATTEMPTS})"),
        "seed": started.get("seed"), "started_at": started.get("time"),
    }


def _build_state(events: list[dict[str, Any]], cut: int) -> tuple[JournalState, dict, set]:
    started: dict[int, dict[str, Any]] = {}
    finished: dict[int, dict[str, Any]] = {}
    for event in events:
        trial_id = event.get("trial_id")
        if event["event"] == "started":
            started[trial_id] = event
        elif trial_id not in finished:  # a duplicate "finished" line is never reported
            finished[trial_id] = {k: v for k, v in event.items() if k != "event"}
    state = JournalState(records=list(finished.values()), cut_bytes=cut)
    for trial_id in sorted(set(started) - set(finished)):
        record = _crashed_record(started[trial_id])
        state.crashed.append(record)
        attempts = started[trial_id].get("attempt", 1)
        if attempts < MAX_ATTEMPTS:
            state.retry.append(PendingTrial(trial_id, record["config"], record["seed"], attempts))
        else:
            state.records.append(record)
    ids = set(started) | set(finished)
    state.next_trial_id = max(ids) + 1 if ids else 0
    attempts = {trial_id: event.get("attempt", 1) for trial_id, event in started.items()}
    return state, attempts, set(finished)


# ---------------------------------------------------------------------------------------
# the journal


class Journal:
    """The crash-safe journal of one search, in the folder ``path``.

    Opening creates the folder and its header, or checks that an existing header was
    written for the same ``fingerprint``, takes the folder's lock and reads the events
    (cutting a torn last line). Use it as a context manager, or call :meth:`close`.

    Parameters
    ----------
    path : str or os.PathLike
        The storage folder (created if missing).
    fingerprint : Fingerprint
        What this run is; see :func:`make_fingerprint`.
    run_seed : int, optional
        The seed this run drew from its ``random_state``. Stored in a new journal's header;
        an existing journal keeps the seed it was created with.

    Attributes
    ----------
    run_seed : int or None
        The run seed of the header (``run_seed`` for a new journal, or for one written
        before run seeds were stored). A resumed search must use it.

    Raises
    ------
    IncompatibleJournalError
        The folder holds a journal written for other data, space, task, metric, cv or
        random_state, or a header that cannot be read.
    RuntimeError
        Another process (or another Journal in this one) has the folder open.

    Examples
    --------
    >>> import tempfile
    >>> fp = Fingerprint(data={}, space="s", task="regression")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with Journal(folder, fp, run_seed=7) as journal:
    ...         first = journal.load().next_trial_id
    ...     with Journal(folder, fp, run_seed=8) as journal:
    ...         first, journal.run_seed
    (0, 7)
    """

    def __init__(self, path: str | os.PathLike, fingerprint: Fingerprint,
                 run_seed: int | None = None) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.run_seed = run_seed
        self._lock_fd: int | None = None
        self._cut_bytes = 0
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._check_header()
            self._remove_own_temporaries()
            self._scan()
        except BaseException:
            self.close()
            raise

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the folder's lock; safe to call more than once."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _lock(self) -> None:
        self._lock_fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # not POSIX: no inter-process lock
            return
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            raise RuntimeError(
                f"The journal folder {str(self.path)!r} is in use by another search. "
                "Wait for it to finish, or give this search another storage folder."
            ) from None

    def _check_header(self) -> None:
        header_path, events_path = self.path / HEADER, self.path / EVENTS
        if not header_path.exists():
            if events_path.exists() and events_path.stat().st_size > 0:
                raise IncompatibleJournalError(
                    f"{str(self.path)!r} holds {EVENTS} but no {HEADER}, so it cannot be "
                    "checked against this run. Use a new storage folder.")
            header = {"format": FORMAT, "created_at": time.time(),
                      "fingerprint": self.fingerprint.to_dict(), "run_seed": self.run_seed}
            text = json.dumps(header, indent=1, sort_keys=True).encode()
            _atomic_write(header_path, lambda handle: handle.write(text))
            return
        try:
            header = json.loads(header_path.read_text())
            stored = Fingerprint.from_dict(header["fingerprint"])
            seed = header.get("run_seed")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise IncompatibleJournalError(
                f"The journal header {str(header_path)!r} cannot be read ({error}). "
                "Use a new storage folder.") from None
        differences = stored.differences(self.fingerprint)
        if differences:
            raise IncompatibleJournalError(
                f"The journal in {str(self.path)!r} was written for another run; "
                f"different: {'; '.join(differences)}. A search resumes only with the same "
                "data, search space, task, metric, cv and random_state. To start a new "
                "search, pass a new storage folder (or delete this one).")
        if type(seed) is int:
            self.run_seed = seed

    def _remove_own_temporaries(self) -> None:
        for folder in (self.path, self.path / ARRAYS):
            if folder.is_dir():
                for leftover in folder.glob(f".*{_TMP_SUFFIX}"):
                    leftover.unlink(missing_ok=True)

    # -- events -------------------------------------------------------------------------

    def load(self) -> JournalState:
        """Read the journal: finished records, crashed trials and what may be retried.

        A torn last line is cut off the file; lines that are not journal events are
        skipped with a ``RuntimeWarning``; a trial is never reported twice.

        Returns
        -------
        JournalState
        """
        state, bad = self._scan()
        if bad:
            warnings.warn(f"{str(self.path / EVENTS)!r}: lines {bad} are not journal events "
                          "and were ignored.", RuntimeWarning, stacklevel=2)
        return state

    def _scan(self) -> tuple[JournalState, list[int]]:
        self._require_open()
        events, cut, bad = _read_events(self.path / EVENTS)
        self._cut_bytes += cut
        state, self._attempts, self._finished = _build_state(events, self._cut_bytes)
        return state, bad

    def record_started(self, trial_id: int, config: dict[str, Any], seed: Any,
                       algorithm: str | None = None) -> None:
        """Append a durable "started" event (call before the trial is submitted).

        Parameters
        ----------
        trial_id : int
            The trial number; a retried trial keeps its number.
        config : dict
            The nested configuration.
        seed : int
            The trial's seed (see :func:`automl.seeding.trial_seed`).
        algorithm : str, optional
            The algorithm name, kept so a crashed trial's record names it.
        """
        self._require_open()
        if trial_id in self._finished:
            raise ValueError(f"trial {trial_id} is already finished in {str(self.path)!r}; "
                             "use journal.load().next_trial_id for a new trial.")
        attempt = self._attempts.get(trial_id, 0) + 1
        if attempt > MAX_ATTEMPTS:
            raise ValueError(f"trial {trial_id} was already started {MAX_ATTEMPTS} times; a "
                             "crashed trial is retried at most once (see load().retry).")
        _append_line(self.path / EVENTS, {
            "event": "started", "trial_id": trial_id, "config": config, "seed": seed,
            "algorithm": algorithm, "attempt": attempt, "time": time.time()})
        self._attempts[trial_id] = attempt

    def record_finished(self, record: dict[str, Any]) -> None:
        """Append a trial record durably (flushed and fsync'ed when this returns).

        Parameters
        ----------
        record : dict
            The trial record of docs/CONTRACTS.md (every key of ``RECORD_KEYS``). Save its
            arrays with :meth:`save_array` before calling this.

        Raises
        ------
        ValueError
            A key is missing, or this trial already has a finished record.
        """
        self._require_open()
        missing = [key for key in RECORD_KEYS if key not in record]
        if missing:
            raise ValueError(f"trial record is missing {missing}; got keys {sorted(record)}.")
        if record["trial_id"] in self._finished:
            raise ValueError(f"trial {record['trial_id']} already has a finished record in "
                             f"{str(self.path)!r}; a trial is recorded once.")
        _append_line(self.path / EVENTS, {"event": "finished", **record})
        self._finished.add(record["trial_id"])

    # -- arrays -------------------------------------------------------------------------

    def array_path(self, trial_id: int) -> Path:
        """Path of the array file of trial ``trial_id`` (it may not exist)."""
        return self.path / ARRAYS / f"trial_{int(trial_id):06d}.npy"

    def save_array(self, trial_id: int, array: Any) -> Path:
        """Save an array (e.g. out-of-fold predictions) atomically, without pickle.

        Parameters
        ----------
        trial_id : int
            The trial it belongs to; an earlier array of this trial is replaced.
        array : array-like
            Numeric or string data; object arrays are refused (they would need pickle).

        Returns
        -------
        pathlib.Path
            Where the array now is.
        """
        self._require_open()
        values = np.asarray(array)
        if values.dtype.hasobject:
            raise TypeError(f"arrays are stored without pickle, so object dtype cannot be "
                            f"saved; got dtype {values.dtype} for trial {trial_id}. "
                            "Convert it to a numeric or fixed-width string dtype.")
        target = self.array_path(trial_id)
        target.parent.mkdir(exist_ok=True)
        _atomic_write(target, lambda handle: np.save(handle, values, allow_pickle=False))
        return target

    def load_array(self, trial_id: int) -> np.ndarray:
        """Load the array of trial ``trial_id`` (never unpickles)."""
        target = self.array_path(trial_id)
        if not target.exists():
            raise FileNotFoundError(f"no array was saved for trial {trial_id} "
                                    f"(looked for {str(target)!r}).")
        return np.load(target, allow_pickle=False)

    def _require_open(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError(f"the journal {str(self.path)!r} is closed; open a new Journal.")


class JournalCallback:
    """Write every trial of a search to a :class:`Journal` (a search callback).

    It has the two hooks of ``automl.search.SearchCallback``: ``on_trial_start`` appends a
    "started" event before the trial is submitted; ``on_trial_end`` saves the trial's
    out-of-fold predictions (when ``keep_arrays`` and the trial succeeded), then appends
    its record, durably, before the search tells the sampler.

    Parameters
    ----------
    journal : Journal
        An open journal.
    space : automl.space.Space, optional
        Used to name the algorithm in "started" events (for crashed-trial records).
    keep_arrays : bool, default=True
        Save ``result.oof`` of successful trials with :meth:`Journal.save_array`.

    Examples
    --------
    >>> import tempfile
    >>> fp = Fingerprint(data={}, space="s", task="binary")
    >>> with tempfile.TemporaryDirectory() as folder, Journal(folder, fp) as journal:
    ...     callback = JournalCallback(journal)
    ...     callback.on_trial_start(0, {"model": {"m": {}}}, 5)
    ...     [p.trial_id for p in journal.load().retry]
    [0]
    """

    def __init__(self, journal: Journal, space: Any = None, keep_arrays: bool = True) -> None:
        self.journal = journal
        self.space = space
        self.keep_arrays = keep_arrays

    def on_trial_start(self, trial_id: int, config: dict[str, Any], seed: Any) -> None:
        """Append the trial's "started" event."""
        algorithm = None if self.space is None else self.space.choice(config)
        self.journal.record_started(trial_id, config, seed, algorithm=algorithm)

    def on_trial_end(self, record: dict[str, Any], result: Any) -> None:
        """Save the trial's arrays (if kept), then append its record."""
        oof = getattr(result, "oof", None)
        if self.keep_arrays and oof is not None and record["status"] == "ok":
            self.journal.save_array(record["trial_id"], oof)
        self.journal.record_finished(record)

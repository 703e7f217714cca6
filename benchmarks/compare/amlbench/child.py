"""Run one job inside a system's own environment: ``python -m amlbench.child JOBDIR``.

Reads ``JOBDIR/job.json``, ``schema.json``, ``train.csv`` and ``test.csv``; fits the
system's adapter, predicts the test rows, and writes ``proba.npy`` (columns in the
sorted class order of ``schema.json``) and ``child.json`` (timings, version). A failure
writes ``child.json`` with the error and exits with status 1.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from amlbench.adapters.base import reorder_columns


def read_frames(jobdir: Path, schema: dict) -> tuple:
    """Train features, train labels and test features, categoricals read as strings."""
    dtypes = {c: str for c in schema["categorical"]}
    train = pd.read_csv(jobdir / "train.csv", dtype=dtypes)
    test = pd.read_csv(jobdir / "test.csv", dtype=dtypes)
    y = train.pop(schema["target"]).astype(str)
    return train, y, test


def load_adapter(spec: str) -> type:
    """Import ``module:Class`` from :mod:`amlbench.adapters`."""
    module, cls = spec.split(":")
    return getattr(importlib.import_module("amlbench.adapters." + module), cls)


def run(jobdir: Path) -> dict:
    """Fit, predict and time one job; return the facts for ``child.json``."""
    job = json.loads((jobdir / "job.json").read_text())
    schema = json.loads((jobdir / "schema.json").read_text())
    X, y, X_test = read_frames(jobdir, schema)
    cls = load_adapter(job["adapter"])
    adapter = cls(job["task"], job["metric"], job["budget"], job["seed"], job["n_jobs"],
                  str(jobdir), schema["categorical"])
    start = time.perf_counter()
    adapter.fit(X, y)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    proba = np.asarray(adapter.predict_proba(X_test), dtype=float)
    predict_time = time.perf_counter() - start
    proba = reorder_columns(proba, adapter.classes_, schema["classes"])
    np.save(jobdir / "proba.npy", proba)
    return {"status": "ok", "fit_time": fit_time, "predict_time": predict_time,
            "version": cls.version(), "python": sys.version.split()[0]}


def main(argv: list) -> int:
    jobdir = Path(argv[1])
    try:
        facts = run(jobdir)
    except BaseException as exc:  # report any failure, including SystemExit from a system
        facts = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000],
                 "traceback": traceback.format_exc()[-4000:]}
    (jobdir / "child.json").write_text(json.dumps(facts))
    return 0 if facts["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

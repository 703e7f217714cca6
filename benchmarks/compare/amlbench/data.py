"""Datasets, version-independent stratified splits, and the files handed to a job.

Runs in the harness environment (the parent side). The split indices depend only on
the PCG64 algorithm seeded through ``numpy.random.SeedSequence`` (both fixed by
NumPy's NEP 19 stream policy for ``random_raw``) and on a stable sort, never on a
library's shuffling helpers, so every version of every library sees the same rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TEST_FRACTION = 0.25
SPLIT_SEED_BASE = 20261122
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


@dataclass(frozen=True)
class Dataset:
    """One classification dataset of the manifest.

    Examples
    --------
    >>> ds = load_manifest()["wine"]        # doctest: +SKIP
    >>> ds.task, ds.n_classes               # doctest: +SKIP
    ('multiclass', 3)
    """

    name: str
    path: Path
    target: str
    task: str
    n_rows: int
    n_classes: int
    categorical: tuple[str, ...]

    @property
    def metric(self) -> str:
        """The metric every system optimizes: ROC AUC (binary) or log loss (multiclass)."""
        return "roc_auc" if self.task == "binary" else "log_loss"


def data_dir() -> Path:
    """The datasets folder: ``$AUTOML_DATASETS`` or ``<repo>/../shared/datasets``."""
    return Path(os.environ.get("AUTOML_DATASETS", DEFAULT_DATA_DIR))


def load_manifest(folder: Path | None = None) -> dict[str, Dataset]:
    """Read ``manifest.json`` and return its classification datasets by name.

    Examples
    --------
    >>> sorted(load_manifest())[:2]        # doctest: +SKIP
    ['ad_data', 'attrition']
    """
    folder = Path(folder) if folder is not None else data_dir()
    manifest = folder / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"no manifest.json in {folder}; set AUTOML_DATASETS to the datasets folder"
        )
    entries = json.loads(manifest.read_text())["datasets"]
    return {
        e["name"]: Dataset(
            name=e["name"], path=folder / e["file"], target=e["target"], task=e["task"],
            n_rows=e["n_rows"], n_classes=e["n_classes"],
            categorical=tuple(e["categorical_columns"]),
        )
        for e in entries
        if e["task"] in ("binary", "multiclass")
    }


def load_frame(ds: Dataset) -> tuple[pd.DataFrame, pd.Series]:
    """Load X and y with the datasets README's convention (plain ``read_csv``)."""
    df = pd.read_csv(ds.path)
    y = df.pop(ds.target).astype(str)
    return df, y


def load_split(name: str, split: int) -> tuple[Dataset, pd.DataFrame, pd.Series, np.ndarray, np.ndarray]:
    """A manifest dataset with its categorical columns as strings (missing values kept),
    and the train / test rows of ``split``: what the in-process checks and probes fit on
    (the harness's jobs get the same rows through their CSV files)."""
    ds = load_manifest()[name]
    X, y = load_frame(ds)
    for column in ds.categorical:
        X[column] = X[column].astype(str).where(X[column].notna())
    train, test = stratified_split(y.to_numpy(), split)
    return ds, X, y, train, test


def stratified_split(
    y: np.ndarray, split: int, test_fraction: float = TEST_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test row indices for split number ``split``.

    Each class, in sorted label order, gets ``round(n_c * test_fraction)`` test rows
    (at least one when the class has two rows or more), chosen by ranking the class's
    rows on raw 64-bit PCG64 draws seeded with ``SeedSequence([SPLIT_SEED_BASE, split])``.

    Examples
    --------
    >>> y = np.array(["a"] * 8 + ["b"] * 4)
    >>> train, test = stratified_split(y, split=0)
    >>> len(train), len(test), sorted(y[test])
    (9, 3, ['a', 'a', 'b'])
    """
    y = np.asarray(y).astype(str)
    bitgen = np.random.PCG64(np.random.SeedSequence([SPLIT_SEED_BASE, int(split)]))
    test_parts = []
    for label in sorted(set(y.tolist())):
        rows = np.flatnonzero(y == label)
        keys = bitgen.random_raw(len(rows))
        order = rows[np.argsort(keys, kind="stable")]
        n_test = int(np.floor(len(rows) * test_fraction + 0.5))
        if len(rows) >= 2:
            n_test = min(max(n_test, 1), len(rows) - 1)
        test_parts.append(order[:n_test])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


def split_digest(test: np.ndarray) -> str:
    """A short SHA-256 of the test indices, recorded with every result."""
    return hashlib.sha256(np.asarray(test, dtype="<i8").tobytes()).hexdigest()[:16]


def write_job_files(
    ds: Dataset, split: int, folder: Path
) -> tuple[pd.Series, list[str], str]:
    """Write ``train.csv`` / ``test.csv`` (features; train also the target) and
    ``schema.json`` into ``folder``.

    Returns the test labels, the sorted class labels and the split digest.
    """
    X, y = load_frame(ds)
    train, test = stratified_split(y.to_numpy(), split)
    folder.mkdir(parents=True, exist_ok=True)
    train_df = X.iloc[train].copy()
    train_df[ds.target] = y.iloc[train].to_numpy()
    train_df.to_csv(folder / "train.csv", index=False)
    X.iloc[test].to_csv(folder / "test.csv", index=False)
    classes = sorted(set(y.tolist()))
    schema = {
        "target": ds.target, "categorical": list(ds.categorical),
        "numeric": [c for c in X.columns if c not in ds.categorical],
        "classes": classes,
    }
    (folder / "schema.json").write_text(json.dumps(schema, indent=1))
    return y.iloc[test].reset_index(drop=True), classes, split_digest(test)

"""Quickstart: fit AutoClassifier on a bundled real dataset and score it on a holdout.

Run from the repository root (installed with ``pip install -e .``, or straight from a
checkout: the script then finds the package beside it)::

    python examples/quickstart.py            # 30 s search
    python examples/quickstart.py 10         # or another budget in seconds

The data is consumer credit scoring (``examples/data``, see its README): 4 string
categoricals and missing values, handled inside the searched pipelines.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
try:
    from automl import AutoClassifier
except ImportError:  # a checkout that was not installed
    sys.path.insert(0, str(ROOT))
    from automl import AutoClassifier

DATA = ROOT / "examples" / "data"


def load() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """Train features/target and holdout features/target of the credit data."""
    train = pd.read_csv(DATA / "credit_train.csv")
    test = pd.read_csv(DATA / "credit_test.csv")
    labels = pd.read_csv(DATA / "credit_test_labels.csv")
    test = test.merge(labels, on="id", validate="one_to_one")
    y_train, y_test = train.pop("Status"), test.pop("Status")
    return train.drop(columns="id"), y_train, test.drop(columns="id"), y_test


def main(time_budget: float = 30.0) -> None:
    X_train, y_train, X_test, y_test = load()
    clf = AutoClassifier(time_budget=time_budget, n_jobs=2, random_state=0, verbose=1)
    tic = time.monotonic()
    clf.fit(X_train, y_train)
    elapsed = time.monotonic() - tic
    positive = list(clf.classes_).index("good")
    auc = roc_auc_score(y_test == "good", clf.predict_proba(X_test)[:, positive])
    print(f"fit took {elapsed:.1f} s for a budget of {time_budget:.0f} s; "
          f"{len(clf.trials_)} trials")
    print(f"best CV ROC AUC {clf.best_score_:.4f} ({clf.best_algorithm_})")
    print(f"holdout ROC AUC {auc:.4f}, accuracy {clf.score(X_test, y_test):.4f}")
    print(clf.leaderboard()[["algorithm", "score", "score_std", "duration", "status"]].head(5))
    print("best pipeline:")
    print(clf.best_pipeline_)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)

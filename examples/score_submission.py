"""Score a probability submission against held-out labels (ROC AUC and log loss).

    python examples/score_submission.py submission.csv labels.csv

Both files share an id column (the first column of the labels file); the labels file's
second column holds the true classes, and the submission has one probability column per
class, named by the class.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score


def main(submission_path: str, labels_path: str) -> None:
    labels = pd.read_csv(labels_path)
    id_column, target = labels.columns[:2]
    submission = pd.read_csv(submission_path)
    merged = labels.merge(submission, on=id_column, how="left", validate="one_to_one")
    classes = sorted(str(c) for c in labels[target].unique())
    missing = [c for c in classes if c not in submission.columns]
    if missing or merged[classes].isna().any().any():
        sys.exit(f"the submission lacks probabilities for classes {missing} or for some ids")
    proba = merged[classes].to_numpy()
    truth = merged[target].astype(str).to_numpy()
    if len(classes) == 2:
        auc = roc_auc_score(truth == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(truth, proba, multi_class="ovr", labels=classes)
    loss = log_loss(truth, np.clip(proba, 1e-15, 1), labels=classes)
    print(f"holdout ROC AUC {auc:.4f}, log loss {loss:.4f} on {len(truth)} rows")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

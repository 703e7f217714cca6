#!/usr/bin/env bash
# A competition baseline from the shell, on the bundled credit-scoring data
# (examples/data: train with the target, test without it, labels kept aside).
#
#   bash examples/competition_baseline.sh [TIME_BUDGET_SECONDS]   (default 60)
#
# Writes credit.joblib (the fitted model), submission.csv (id + class probabilities)
# and credit_pipeline.py (a standalone script that rebuilds the model) in the
# current folder, and prints the submission's ROC AUC on the held-out labels.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
budget="${1:-60}"

automl fit "$here/data/credit_train.csv" --target Status --id-column id \
    --time-budget "$budget" --n-jobs 2 --output credit.joblib
automl predict credit.joblib "$here/data/credit_test.csv" --proba --output submission.csv
python "$here/score_submission.py" submission.csv "$here/data/credit_test_labels.csv"
automl show credit.joblib --top 5
automl export credit.joblib --python credit_pipeline.py

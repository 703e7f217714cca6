"""scikit-learn's own estimator checks over AutoClassifier and AutoRegressor.

Each check fits the estimator (often several times) with a tiny budget: two trials of one
cheap algorithm, 2-fold cross-validation. The checks that are expected to fail are listed
below, each with its reason; keep this list as short as the design allows.

The checks are about the estimator contract, not about fault isolation, so trials run in
this process (``InProcessPool``): starting worker processes costs several seconds per fit,
and the checks fit a few hundred times. The worker path is exercised by
tests/test_input_matrix.py, tests/test_search.py and tests/test_workers.py.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoClassifier, AutoRegressor, estimators
from inprocess import InProcessPool

TINY = {"n_trials": 2, "time_budget": None, "cv": 2, "random_state": 0}

ESTIMATORS = [
    AutoClassifier(include=["logreg"], **TINY),
    AutoRegressor(include=["ridge"], **TINY),
]

_WEIGHTS_REASON = (
    "sample_weight reaches the model step and the CV metric, but the preprocessing steps "
    "(imputer, scaler, encoder, selector) are fitted unweighted, so integer weights are "
    "not exactly repeated rows (max |diff| 0.09 in probabilities, 0.004 in regression); "
    "zero weights equal dropped rows for a configuration without fitted preprocessing: "
    "tests/test_input_matrix.py."
)

# Failures that follow from a design decision, not from a defect.
DESIGN_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS_REASON,
}


def expected_failures(estimator: object) -> dict[str, str]:
    """The checks expected to fail for ``estimator``, with their reasons."""
    return dict(DESIGN_FAILURES)


@pytest.fixture(autouse=True)
def _trials_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimators, "_pool_factory", lambda: InProcessPool)


@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_feature_names_follow_sklearn_except_that_reordered_columns_are_realigned() -> None:
    """What check_dataframe_column_names_consistency (not run by parametrize_with_checks
    in scikit-learn 1.9) asks, except the error for reordered columns: we realign them."""
    rng = np.random.default_rng(0)
    names = [f"col_{i}" for i in range(8)]
    X = pd.DataFrame(rng.normal(size=(150, 8)), columns=names)
    model = AutoClassifier(include=["logreg"], **TINY).fit(X, rng.integers(0, 2, 150))
    assert model.feature_names_in_.dtype == object
    assert list(model.feature_names_in_) == names
    np.testing.assert_array_equal(model.predict(X[names[::-1]]), model.predict(X))
    renamed = X.set_axis([f"another_prefix_{i}" for i in range(8)], axis=1)
    cases = [
        (renamed, "Feature names unseen at fit time:\n- another_prefix_0\n- another_prefix_1\n"),
        (X[names[:3]], "Feature names seen at fit time, yet now missing:\n- col_3\n"),
    ]
    for X_bad, detail in cases:
        message = "The feature names should match those that were passed during fit.\n"
        with pytest.raises(ValueError, match=re.escape(message + detail)):
            model.predict_proba(X_bad)

"""scikit-learn's own estimator checks over AutoClassifier and AutoRegressor.

Each check fits the estimator (often several times) with a tiny budget: two trials of one
cheap algorithm, 2-fold cross-validation. The checks that are expected to fail are listed
below, each with its reason; keep this list as short as the design allows.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoClassifier, AutoRegressor

TINY = {"n_trials": 2, "time_budget": None, "cv": 2, "random_state": 0}

ESTIMATORS = [
    AutoClassifier(include=["logreg"], **TINY),
    AutoRegressor(include=["ridge"], **TINY),
]

# Failures that follow from a design decision, not from a defect.
DESIGN_FAILURES = {
    "check_dataframe_column_names_consistency": (
        "columns of a DataFrame given to predict are matched by name and reordered "
        "(docs/input_data.md); scikit-learn expects an error for reordered columns. "
        "Missing, extra and renamed columns do raise its exact messages."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "the check compares predictions to 1e-7; a search refits the best of several "
        "cross-validated pipelines whose solvers converge only to their tolerance, so "
        "weights equal repetitions only approximately (zero weights vs dropped rows is "
        "tested in tests/test_input_matrix.py for a fixed configuration)."
    ),
}


def expected_failures(estimator: object) -> dict[str, str]:
    """The checks expected to fail for ``estimator``, with their reasons."""
    return dict(DESIGN_FAILURES)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)

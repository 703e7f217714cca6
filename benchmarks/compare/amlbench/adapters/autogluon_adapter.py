"""AutoGluon-Tabular's TabularPredictor with a time limit."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, reorder_columns

LABEL = "__label__"


class AutoGluonAdapter(Adapter):
    """``TabularPredictor(label, problem_type, eval_metric).fit(train, time_limit,
    presets="best_quality", num_cpus)``: the preset AutoGluon's documentation recommends
    for the best accuracy under a time limit. The seed goes to the learner's data split
    (``learner_kwargs``) and to the bagged models (``model_random_seed``).

    Examples
    --------
    >>> ad = AutoGluonAdapter("binary", "roc_auc", 60, 0, 2, "/tmp/job", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                      # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "AutoGluonAdapter":
        from autogluon.tabular import TabularPredictor

        train = X.copy()
        train[LABEL] = y.astype(str).to_numpy()
        self.classes_ = sorted(train[LABEL].unique().tolist())
        self.model_ = TabularPredictor(
            label=LABEL, problem_type=self.task, eval_metric=self.metric, verbosity=0,
            path=os.path.join(self.workdir, "autogluon_models"),
            learner_kwargs={"random_state": self.seed},
        ).fit(train, time_limit=self.time_budget, presets="best_quality",
              num_cpus=self.n_jobs, num_gpus=0,
              ag_args_ensemble={"model_random_seed": self.seed})
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.model_.predict_proba(X, as_multiclass=True)
        return reorder_columns(proba.to_numpy(), list(proba.columns), self.classes_)

    @staticmethod
    def version() -> str:
        import autogluon.tabular

        return autogluon.tabular.__version__

"""Optuna's LightGBMTunerCV: stepwise tuning of LightGBM by cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter, as_category


class OptunaLightGBMAdapter(Adapter):
    """``optuna.integration.lightgbm.LightGBMTunerCV`` as in Optuna's example: 5-fold
    stratified CV with early stopping (100 rounds), ``time_budget`` = the budget, and the
    best CV booster (fold models averaged) kept for prediction, so there is no refit.

    Examples
    --------
    >>> ad = OptunaLightGBMAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                                    # doctest: +SKIP
    """

    def _params(self) -> dict:
        params = {"verbosity": -1, "num_threads": self.n_jobs, "seed": self.seed}
        if self.task == "binary":
            params.update(objective="binary", metric="auc")
        else:
            params.update(objective="multiclass", metric="multi_logloss",
                          num_class=len(self.classes_))
        return params

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "OptunaLightGBMAdapter":
        import lightgbm as lgb
        import optuna
        from optuna.integration.lightgbm import LightGBMTunerCV

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        labels = y.astype(str)
        self.classes_ = sorted(labels.unique().tolist())
        codes = labels.map({c: i for i, c in enumerate(self.classes_)}).to_numpy()
        train = lgb.Dataset(as_category(X, self.categorical), label=codes)
        tuner = LightGBMTunerCV(
            self._params(), train, num_boost_round=1000, nfold=5, stratified=True,
            shuffle=True, seed=self.seed, time_budget=self.time_budget,
            callbacks=[lgb.early_stopping(100, verbose=False)], return_cvbooster=True,
            show_progress_bar=False, optuna_seed=self.seed,
        )
        tuner.run()
        self.booster_ = tuner.get_best_booster()
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        folds = self.booster_.predict(as_category(X, self.categorical),
                                      num_iteration=self.booster_.best_iteration)
        proba = np.mean(np.asarray(folds), axis=0)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        return proba

    @staticmethod
    def version() -> str:
        import optuna

        return optuna.__version__

"""Ours: automl.AutoClassifier, installed from the repository into its own environment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter


class AutomlAdapter(Adapter):
    """``AutoClassifier(time_budget, metric, n_jobs, random_state, verbose=0)``; the
    DataFrame is passed as read (categoricals as strings, missing values as NaN).
    The ablation variants below switch one mechanism off through ``settings`` (class
    attributes of a subclass of ``AutoClassifier``) or ``ensemble``.

    Examples
    --------
    >>> ad = AutomlAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                            # doctest: +SKIP
    """

    settings: dict = {}     # private switches of AutoClassifier, set by the ablation variants
    ensemble: bool = True

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "AutomlAdapter":
        from automl import AutoClassifier

        estimator = (type("Variant", (AutoClassifier,), dict(self.settings))
                     if self.settings else AutoClassifier)
        self.model_ = estimator(
            time_budget=self.time_budget, metric=self.metric, n_jobs=self.n_jobs,
            random_state=self.seed, verbose=0, ensemble=self.ensemble,
        ).fit(X, y.astype(str))
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(X), dtype=float)

    @staticmethod
    def version() -> str:
        import automl

        return automl.__version__


class NoPortfolioAdapter(AutomlAdapter):
    """Startup from the cheap algorithms' defaults instead of the built-in portfolio."""

    settings = {"_use_portfolio": False}


class NoRacingAdapter(AutomlAdapter):
    """Every trial runs all its folds (no fold racing, no subsample stage)."""

    settings = {"_racing": False, "_halving": None}


class NoEnsembleAdapter(AutomlAdapter):
    """The single best pipeline, no ensemble selection."""

    ensemble = False

"""Ours: automl.AutoClassifier, installed from the repository into its own environment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amlbench.adapters.base import Adapter


class AutomlAdapter(Adapter):
    """``AutoClassifier(time_budget, metric, n_jobs, random_state, verbose=0)``; the
    DataFrame is passed as read (categoricals as strings, missing values as NaN).

    Examples
    --------
    >>> ad = AutomlAdapter("binary", "roc_auc", 60, 0, 2, ".", [])  # doctest: +SKIP
    >>> ad.fit(X, y).predict_proba(X_test)                            # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "AutomlAdapter":
        from automl import AutoClassifier

        self.model_ = AutoClassifier(
            time_budget=self.time_budget, metric=self.metric, n_jobs=self.n_jobs,
            random_state=self.seed, verbose=0,
        ).fit(X, y.astype(str))
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(X), dtype=float)

    @staticmethod
    def version() -> str:
        import automl

        return automl.__version__


class _AblationAdapter(AutomlAdapter):
    """Ours with one of the search's mechanisms switched off (issue 9's ablation table).

    ``settings`` are class attributes of a subclass of ``AutoClassifier`` (the private
    switches ``_use_portfolio`` and ``_racing``); ``ensemble`` is the public parameter.
    """

    settings: dict = {}
    ensemble: bool = True

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "AutomlAdapter":
        from automl import AutoClassifier

        variant = type("Variant", (AutoClassifier,), dict(self.settings))
        self.model_ = variant(
            time_budget=self.time_budget, metric=self.metric, n_jobs=self.n_jobs,
            random_state=self.seed, verbose=0, ensemble=self.ensemble,
        ).fit(X, y.astype(str))
        self.classes_ = [str(c) for c in self.model_.classes_]
        return self


class NoPortfolioAdapter(_AblationAdapter):
    """Startup from the cheap algorithms' defaults instead of the built-in portfolio."""

    settings = {"_use_portfolio": False}


class NoRacingAdapter(_AblationAdapter):
    """Every trial runs all its folds (no fold racing, no subsample stage)."""

    settings = {"_racing": False, "_halving": None}


class NoEnsembleAdapter(_AblationAdapter):
    """The single best pipeline, no ensemble selection."""

    ensemble = False

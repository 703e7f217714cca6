"""Tests of the temperature of the final model's probabilities (automl.calibration)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from automl.calibration import TEMPERATURES, temper_final, temperature
from automl.ensemble import WeightedEnsembleClassifier, temper
from automl.scoring import get_metric

LOG_LOSS = get_metric("log_loss", "multiclass")


def _proba(y: np.ndarray, k: int, top: float, wrong: float, seed: int = 0) -> np.ndarray:
    """Probability ``top`` on one class (the right one but for a share ``wrong`` of the
    rows), the rest spread evenly."""
    rng = np.random.default_rng(seed)
    p = np.full((len(y), k), (1.0 - top) / (k - 1))
    hit = np.where(rng.random(len(y)) < wrong, (y + 1) % k, y)
    p[np.arange(len(y)), hit] = top
    return p


def test_cautious_probabilities_are_sharpened_and_overconfident_ones_flattened():
    y = np.random.default_rng(1).integers(0, 3, 3000)
    cautious = _proba(y, 3, top=0.6, wrong=0.3)          # right 70 % of the time, says 60 %
    sure = _proba(y, 3, top=0.85, wrong=0.3)             # says 85 %
    t_cautious, t_sure = temperature(LOG_LOSS, y, cautious, None), temperature(LOG_LOSS, y, sure, None)
    assert t_cautious < 0.9 and t_sure > 1.1
    for p, t in ((cautious, t_cautious), (sure, t_sure)):
        assert log_loss(y, temper(p, t)) < log_loss(y, p) - 0.01


def test_no_temperature_for_separable_rows_few_rows_other_metrics_or_calibrated_ones():
    y = np.random.default_rng(2).integers(0, 3, 3000)
    right = _proba(y, 3, top=0.8, wrong=0.0)             # every row right: sharper is always better
    assert temperature(LOG_LOSS, y, right, None) == 1.0
    few = slice(0, 12)                                   # a lucky dozen rows decide nothing
    noisy = _proba(y, 3, top=0.5, wrong=0.45, seed=3)
    assert temperature(LOG_LOSS, y[few], noisy[few], None) == 1.0
    cautious = _proba(y, 3, top=0.6, wrong=0.3)
    assert temperature(get_metric("roc_auc", "multiclass"), y, cautious, None) == 1.0
    assert temperature(get_metric("accuracy", "multiclass"), y, cautious, None) == 1.0
    calibrated = _proba(y, 3, top=0.7, wrong=0.3)        # says 70 %, right 70 %
    assert temperature(LOG_LOSS, y, calibrated, None) == 1.0


def test_rows_without_predictions_are_left_out_and_brier_counts():
    y = np.random.default_rng(4).integers(0, 2, 3000)
    p = _proba(y, 2, top=0.75, wrong=0.15)
    p[:1000] = np.nan                                    # a bag's partial out-of-fold rows
    t = temperature(get_metric("brier", "binary"), y, p, None)
    assert TEMPERATURES[0] < t < 0.9


def test_the_ensemble_applies_its_temperature_and_keeps_it_through_clone():
    X, y = make_classification(300, n_features=5, random_state=0)
    model = LogisticRegression(C=0.01).fit(X, y)
    ensemble = WeightedEnsembleClassifier.from_fitted([model], [1.0], temperature=0.5)
    expected = temper(model.predict_proba(X), 0.5)
    assert np.allclose(ensemble.predict_proba(X), expected)
    assert np.allclose(expected, model.predict_proba(X) ** 2 / (model.predict_proba(X) ** 2).sum(1, keepdims=True))
    assert np.array_equal(ensemble.predict(X), model.predict(X))   # the argmax is unchanged
    again = clone(ensemble).fit(X, y)
    assert again.temperature == 0.5 and np.allclose(again.predict_proba(X), expected)
    for bad in (0.0, -1.0, float("nan"), "hot"):
        with pytest.raises(ValueError, match="temperature"):
            WeightedEnsembleClassifier([LogisticRegression()], temperature=bad).fit(X, y)
    with pytest.raises(ValueError, match="temperature"):     # set on a fitted ensemble
        clone(ensemble).fit(X, y).set_params(temperature=0.0).predict_proba(X)


def _final_state(oof: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(oof={0: oof}, bags={})


def _data(metric: str, y: np.ndarray, n_classes: int = 2) -> SimpleNamespace:
    return SimpleNamespace(metric=get_metric(metric, "binary"), y=y, sample_weight=None,
                           n_classes=n_classes)


def test_temper_final_wraps_a_single_pipeline_and_sets_an_ensembles_temperature():
    X, y = make_classification(2000, n_features=5, flip_y=0.05, random_state=1)
    model = LogisticRegression().fit(X, y)
    cautious = 0.8 * model.predict_proba(X) + 0.1           # the out-of-fold view: too cautious
    state, chosen = _final_state(cautious), {"trial_id": 0, "status": "ok"}
    ensemble, members, note = temper_final(state, _data("log_loss", y), chosen, model, None, [])
    assert isinstance(ensemble, WeightedEnsembleClassifier) and ensemble.temperature < 0.9
    assert members == [(0, 1.0)] and "temperature" in note
    assert np.allclose(ensemble.predict_proba(X), temper(model.predict_proba(X), ensemble.temperature))
    two = WeightedEnsembleClassifier.from_fitted([model, model], [0.5, 0.5])
    state.oof[1] = cautious
    same, members, _ = temper_final(state, _data("log_loss", y), chosen, model, two, [(0, 0.5), (1, 0.5)])
    assert same is two and two.temperature < 0.9 and members == [(0, 0.5), (1, 0.5)]
    # left alone: a metric of ranks, a regression, a challenger without kept predictions
    assert temper_final(state, _data("roc_auc", y), chosen, model, None, []) == (None, [], "")
    assert temper_final(state, _data("log_loss", y, 0), chosen, model, None, []) == (None, [], "")
    cut = {"trial_id": 7, "status": "timeout"}
    assert temper_final(state, _data("log_loss", y), cut, model, None, []) == (None, [], "")


class Cautious(LogisticRegression):
    """Logistic regression whose probabilities are pulled a fifth of the way to uniform."""

    def predict_proba(self, X):
        return 0.8 * super().predict_proba(X) + 0.2 / len(self.classes_)


def test_a_search_with_log_loss_sharpens_a_cautious_model(warm_pool):
    from automl.builder import describe_columns
    from automl.evaluate import TrialData, make_folds
    from automl.search import SearchSettings, run_search
    from automl.space import Choice, Component, Float, Space
    from automl.tpe import RandomSampler

    space = Space({"model": Choice({"cautious": Component(Cautious, {"C": Float(0.5, 2.0)})})})
    X, y = make_classification(1500, n_features=6, n_informative=4, flip_y=0.03, random_state=2)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    data = TrialData(frame.iloc[:1000], y[:1000], make_folds(y[:1000], "binary", 3, 0), space,
                     describe_columns(frame), "binary", get_metric("log_loss", "binary"), 2)

    def search(ensemble_size: int):
        settings = SearchSettings(time_budget=None, n_trials=3, n_jobs=1, run_seed=0,
                                  ensemble_size=ensemble_size)
        return run_search(data, RandomSampler(space, seed=0), settings, pool_factory=warm_pool)

    result = search(ensemble_size=5)
    assert isinstance(result.ensemble, WeightedEnsembleClassifier)
    assert result.ensemble.temperature < 0.9
    test = frame.iloc[1000:]
    assert log_loss(y[1000:], result.ensemble.predict_proba(test)) < \
        log_loss(y[1000:], result.pipeline.predict_proba(test)) - 0.005    # on new rows too
    plain = search(ensemble_size=0)                                         # ensemble=False
    assert plain.ensemble is None

"""Tests of automl.halving: the subsample, the promotion gate, the two-stage trial, the search."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from inprocess import InProcessPool
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.naive_bayes import GaussianNB

from automl import AutoClassifier
from automl.builder import describe_columns
from automl.evaluate import TrialData, make_folds
from automl.halving import (HalvingSettings, PromotionGate, promotion_gate, run_two_stages,
                            subsample_folds, with_subsample)
from automl.scoring import get_metric
from automl.search import SearchSettings, run_search
from automl.space import Choice, Component, Constant, Float, Space
from automl.tpe import RandomSampler

FITS: list[tuple[int, ...]] = []   # row ids each RecordingNB was fitted on, in order


class RecordingNB(GaussianNB):
    """GaussianNB that records the row ids (column ``rid``, passed through) it was fitted on."""

    def fit(self, X, y, sample_weight=None):
        FITS.append(tuple(sorted(int(r) for r in np.asarray(X)[:, 0])))
        return super().fit(X, y, sample_weight=sample_weight)


class SlowNB(GaussianNB):
    """GaussianNB whose fit takes 0.2 ms per row: a subsample fit is 4x faster than a full one."""

    def fit(self, X, y, sample_weight=None):
        time.sleep(0.0002 * len(X))
        return super().fit(X, y, sample_weight=sample_weight)


class SlowDummy(DummyClassifier):
    """DummyClassifier whose fit takes 0.2 ms per row."""

    def fit(self, X, y, sample_weight=None):
        time.sleep(0.0002 * len(X))
        return super().fit(X, y, sample_weight=sample_weight)


def _space(nb: type = GaussianNB, dummy: type | str = "sklearn.dummy.DummyClassifier") -> Space:
    return Space({"model": Choice({
        "nb": Component(nb, {"var_smoothing": Float(1e-10, 1e-6, log=True)}),
        "dummy": Component(dummy, {"strategy": Constant("prior")}),
    })})


def _data(space: Space, n: int = 400, folds: int = 4, weights: tuple | None = None) -> TrialData:
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0,
                               class_sep=1.5, weights=weights, random_state=0)
    frame = pd.DataFrame(np.column_stack([np.arange(n), X]),
                         columns=["rid"] + [f"f{i}" for i in range(4)])
    return TrialData(frame, y, make_folds(y, "binary", folds, 0), space, describe_columns(frame),
                     "binary", get_metric("roc_auc", "binary"), 2)


def _startup(space: Space, names: list[str]) -> list[dict]:
    return [space.restrict(include=[n]).default() for n in names]


def _search(space: Space, names: list[str], halving: HalvingSettings | None, *,
            racing: bool = False, data: TrialData | None = None, sampler=None,
            n_trials: int | None = None):
    data = _data(space) if data is None else data
    sampler = sampler or RandomSampler(space, seed=0, startup_configs=_startup(space, names))
    n_trials = len(names) if n_trials is None else n_trials
    settings = SearchSettings(time_budget=None, n_trials=n_trials, n_jobs=1, run_seed=0,
                              racing=racing, racing_after=1, halving=halving)
    return run_search(data, sampler, settings, pool_factory=InProcessPool)


ON = HalvingSettings(min_cells=0, fraction=0.25, eta=3)


# ---------------------------------------------------------------------------------------
# the subsample


def test_the_subsample_is_stratified_inside_each_fold_and_keeps_the_test_rows():
    y = np.array([0] * 300 + [1] * 92 + [2] * 8)
    folds = make_folds(y, "multiclass", 4, 1)
    small = subsample_folds(folds, y, "multiclass", 0.25, seed=3)
    for (train, test), (sub, sub_test) in zip(folds, small):
        assert np.array_equal(test, sub_test)
        assert set(sub) <= set(train) and len(set(sub)) == len(sub)
        full_counts = np.bincount(y[train], minlength=3)
        expected = [max(1, round(0.25 * c)) for c in full_counts]
        assert np.bincount(y[sub], minlength=3).tolist() == expected


def test_the_subsample_depends_only_on_the_seed():
    y = np.arange(200) % 2
    folds = make_folds(y, "binary", 5, 0)
    a, b, c = (subsample_folds(folds, y, "binary", 0.3, seed=s) for s in (7, 7, 8))
    assert all(np.array_equal(x[0], z[0]) for x, z in zip(a, b))
    assert not all(np.array_equal(x[0], z[0]) for x, z in zip(a, c))


def test_a_regression_subsample_is_stratified_over_target_quantiles():
    y = np.random.default_rng(0).exponential(size=1000)
    folds = make_folds(y, "regression", 4, 0)
    (train, _), (sub, _) = folds[0], subsample_folds(folds, y, "regression", 0.2, seed=0)[0]
    deciles = np.quantile(y[train], np.linspace(0, 1, 11))
    counts = np.histogram(y[sub], bins=deciles)[0]
    assert abs(len(sub) - 0.2 * len(train)) <= 10
    assert counts.min() >= 12 and counts.max() <= 18       # 15 per decile, +-3


def test_halving_applies_only_from_the_threshold_on():
    space = _space()
    data = _data(space)                                      # 400 rows x 5 columns
    assert with_subsample(data, None, seed=0) is data
    assert with_subsample(data, HalvingSettings(min_cells=2001), seed=0) is data
    halved = with_subsample(data, HalvingSettings(min_cells=2000), seed=0)
    assert halved.subsample_folds is not None and len(halved.subsample_folds) == 4
    assert HalvingSettings().min_cells > 10_012 * 30          # no development dataset


def test_bad_settings_are_refused_with_the_value_received():
    with pytest.raises(ValueError, match="fraction must be .* between 0 and 1.*got 1.5"):
        HalvingSettings(fraction=1.5)
    with pytest.raises(ValueError, match="eta must be a number above 1.*got 1"):
        HalvingSettings(eta=1)
    with pytest.raises(ValueError, match="min_cells must be .*got -5"):
        HalvingSettings(min_cells=-5)


# ---------------------------------------------------------------------------------------
# the gate


def test_the_gate_lets_through_the_best_third_of_the_rung():
    assert promotion_gate([], 3) == PromotionGate()           # the first always goes on
    assert promotion_gate([0.5], 3).threshold == 0.5          # 2nd: best 1 of 2
    assert promotion_gate([0.5, 0.1, 0.3], 3).threshold == 0.3    # 4th: best 2 of 4
    assert promotion_gate([0.5, 0.1, 0.3, 0.2, 0.4], 3).threshold == 0.2  # 6th: best 2 of 6
    assert promotion_gate([0.5, math.nan, 0.1], 3).threshold == 0.1   # NaN ignored
    rng = np.random.default_rng(0)
    rung: list[float] = []
    passed = 0
    for loss in rng.normal(size=300):
        passed += promotion_gate(rung, 3)(loss)
        rung.append(loss)
    assert 60 <= passed <= 140                                # about a third (asynchronous)


# ---------------------------------------------------------------------------------------
# one trial in two stages


def test_a_rejected_candidate_stops_after_the_subsample_stage():
    space = _space()
    data = with_subsample(_data(space), ON, seed=0)
    config = _startup(space, ["nb"])[0]
    stopped = run_two_stages(data, config, seed=0, gate=PromotionGate(-2.0))
    assert stopped.status == "pruned" and stopped.stage == "subsample"
    assert len(stopped.fold_scores) == 4 and stopped.subsample_score == stopped.score
    passed = run_two_stages(data, config, seed=0, gate=PromotionGate())
    assert passed.status == "ok" and passed.stage == "full" and len(passed.fold_scores) == 4
    assert passed.subsample_score == pytest.approx(stopped.score)
    assert passed.score != pytest.approx(stopped.score)


def test_each_stage_has_its_own_stop_rule():
    space = _space()
    data = with_subsample(_data(space), ON, seed=0)
    config = _startup(space, ["nb"])[0]
    full = run_two_stages(data, config, seed=0, gate=PromotionGate(),
                          should_stop=lambda fold, loss: True)
    assert full.stage == "full" and full.status == "pruned"
    assert len(full.fold_scores) == 1 and len(full.subsample_fold_scores) == 4
    small = run_two_stages(data, config, seed=0, gate=PromotionGate(),
                           subsample_stop=lambda fold, loss: fold == 1)
    assert small.stage == "subsample" and small.status == "pruned"
    assert len(small.fold_scores) == 2 and small.subsample_fold_scores == small.fold_scores


def test_with_racing_a_bad_candidate_stops_after_one_subsample_fold_and_stays_out_of_the_rung():
    space = _space()
    result = _search(space, ["nb", "dummy", "nb", "dummy", "nb"], ON, racing=True)
    dummies = [t for t in result.trials if t["algorithm"] == "dummy"]
    assert all(t["stage"] == "subsample" and t["status"] == "pruned" for t in dummies)
    assert all(len(t["fold_scores"]) == 1 for t in dummies)
    nb = [t for t in result.trials if t["algorithm"] == "nb"]
    assert all(t["stage"] == "full" and t["status"] == "ok" for t in nb)
    assert all(len(t["subsample_fold_scores"]) == 4 for t in nb)


def test_two_stages_need_the_subsample_folds():
    space = _space()
    with pytest.raises(ValueError, match="needs data.subsample_folds"):
        run_two_stages(_data(space), _startup(space, ["nb"])[0], seed=0, gate=PromotionGate())


# ---------------------------------------------------------------------------------------
# in the search


class _Told(RandomSampler):
    """A RandomSampler that remembers what it was told."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.told: list[tuple[dict, float, str]] = []

    def observe(self, config, loss, status="ok"):
        self.told.append((config, loss, status))
        super().observe(config, loss, status)


def test_every_candidate_is_fitted_on_the_same_subsample():
    FITS.clear()
    space = _space(RecordingNB)
    data = _data(space)
    _search(space, ["nb", "nb", "dummy", "nb", "nb"], ON, data=data)
    expected = subsample_folds(data.folds, data.y, "binary", ON.fraction, seed=0)
    small = [rows for rows in FITS if len(rows) < 100]
    assert len(small) == 4 * 4                             # 4 nb trials x 4 folds
    for i in range(0, len(small), 4):
        assert small[i:i + 4] == [tuple(train) for train, _ in expected]
    assert any(len(rows) == 300 for rows in FITS)          # some went on to the full CV


def test_a_clearly_bad_candidate_is_pruned_at_the_subsample_stage_and_told_as_bad():
    space = _space()
    sampler = _Told(space, seed=0, startup_configs=_startup(space, ["nb", "dummy", "dummy"]))
    result = _search(space, ["nb", "dummy", "dummy"], ON, sampler=sampler)
    first, *dummies = result.trials
    assert first["stage"] == "full" and first["status"] == "ok"
    for record in dummies:
        assert record["status"] == "pruned" and record["stage"] == "subsample"
        assert len(record["fold_scores"]) == 4 and record["score"] == record["subsample_score"]
        assert record["loss"] == pytest.approx(-record["score"])
    told = {(s, round(loss, 9)) for c, loss, s in sampler.told if space.choice(c) == "dummy"}
    assert told == {("pruned", round(dummies[0]["loss"], 9))}
    assert result.best["trial_id"] == 0


def test_a_good_candidate_reaches_the_full_evaluation():
    space = _space()
    result = _search(space, ["dummy", "nb", "dummy", "dummy", "nb"], ON)
    nb = [t for t in result.trials if t["algorithm"] == "nb"]
    assert [t["stage"] for t in nb] == ["full", "full"]
    assert all(t["status"] == "ok" and len(t["fold_scores"]) == 4 for t in nb)
    assert all(math.isfinite(t["subsample_score"]) for t in nb)
    assert result.best["algorithm"] == "nb" and result.best["score"] > 0.7


def test_halving_off_or_below_the_threshold_gives_the_old_search():
    space = _space()
    names = ["nb", "dummy", "dummy", "nb"]
    runs = [_search(space, names, h, racing=True)
            for h in (None, HalvingSettings(min_cells=10**9), ON)]
    keys = {"trial_id", "config", "algorithm", "status", "loss", "score", "fold_scores",
            "duration", "error", "seed", "started_at"}

    def outcome(result):
        return [(t["config"], t["status"], t["fold_scores"]) for t in result.trials]

    off, below, on = runs
    assert all(set(t) == keys for t in off.trials + below.trials)
    assert outcome(off) == outcome(below)
    assert [t["status"] for t in off.trials] == ["ok", "pruned", "pruned", "ok"]
    assert all(len(t["fold_scores"]) == 1 for t in off.trials if t["status"] == "pruned")
    extra = {"stage", "subsample_score", "subsample_fold_scores"}
    assert all(set(t) == keys | extra for t in on.trials)
    assert [t["stage"] for t in on.trials] == ["full", "subsample", "subsample", "full"]


def test_a_halving_search_is_reproducible():
    space = _space()

    def run():
        result = _search(space, [], ON, sampler=RandomSampler(space, seed=5), n_trials=8)
        return [(t["config"], t["status"], t["stage"], t["fold_scores"]) for t in result.trials]

    first = run()
    assert first == run()
    assert {stage for _, _, stage, _ in first} == {"subsample", "full"}


def test_the_estimators_switch_halving_with_a_setting():
    metric = get_metric("roc_auc", "binary")
    assert AutoClassifier()._settings(metric, 0).halving == HalvingSettings()
    off = type("NoHalving", (AutoClassifier,), {"_halving": None})
    assert off()._settings(metric, 0).halving is None


def test_the_time_budget_is_kept_with_halving(warm_pool):
    space = _space(SlowNB, SlowDummy)
    sampler = RandomSampler(space, seed=1,
                            startup_configs=_startup(space, ["dummy", "nb", "dummy", "dummy"]))
    settings = SearchSettings(time_budget=12.0, n_jobs=1, run_seed=0, racing=True, halving=ON)
    tic = time.monotonic()
    result = run_search(_data(space), sampler, settings, pool_factory=warm_pool)
    elapsed = time.monotonic() - tic
    assert elapsed <= 12.0 + 2.0
    assert any(t["stage"] == "subsample" and t["status"] == "pruned" for t in result.trials)
    assert result.best["algorithm"] == "nb"

"""Tests of automl.portfolio: the built-in list, filtering, ordering, invalid entries."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.estimators import AutoClassifier, AutoRegressor
from automl.portfolio import load_portfolio, portfolio_entries
from search_spaces import default_space


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_built_in_portfolio_is_valid_in_the_default_space_and_loaded_in_file_order(task):
    space = default_space(task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        configs = load_portfolio(space, task)
    entries = portfolio_entries(task)
    assert len(configs) == len(entries) and 16 <= len(configs) <= 32     # issue 9's size
    assert all(space.is_valid(c) for c in configs)
    assert configs == [e["config"] for e in entries]
    assert len({space.choice(c) for c in configs}) >= 3      # diverse, not one algorithm


def test_include_and_exclude_filter_the_portfolio_silently():
    full = default_space("binary")
    configs = load_portfolio(full, "binary")
    present = sorted({full.choice(c) for c in configs})
    keep = present[:2]
    only = full.restrict(include=keep)
    without = full.restrict(exclude=keep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = load_portfolio(only, "binary")
        rest = load_portfolio(without, "binary")
    assert {only.choice(c) for c in kept} == set(keep)
    assert not {without.choice(c) for c in rest} & set(keep)
    assert len(kept) + len(rest) == len(configs)


def _write(tmp_path, entries):
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps({"format": 1, "classification": entries, "regression": []}))
    return path


def test_entries_keep_the_files_order_whatever_their_seconds(tmp_path):
    space = default_space("binary")
    names = ["lightgbm", "logreg", "knn"]
    entries = [{"algorithm": n, "config": space.restrict(include=[n]).default(), "seconds": s}
               for n, s in zip(names, [3.0, 0.5, 1.0])]
    configs = load_portfolio(space, "binary", path=_write(tmp_path, entries))
    assert [space.choice(c) for c in configs] == names


def test_entries_that_no_longer_validate_are_skipped_with_one_warning(tmp_path):
    space = default_space("binary")
    good = space.restrict(include=["logreg"]).default()
    out_of_range = json.loads(json.dumps(space.restrict(include=["knn"]).default()))
    params = out_of_range["model"]["knn"]
    name = next(k for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool))
    params[name] = 10**9
    unknown = {**good, "model": {"no_such_algorithm": {}}}
    entries = [{"config": c, "seconds": 1.0} for c in (good, out_of_range, unknown)]
    with pytest.warns(UserWarning, match="1 of 3 portfolio configurations do not fit") as record:
        configs = load_portfolio(space, "binary", path=_write(tmp_path, entries))
    assert len(record) == 1 and "model.knn" in str(record[0].message)
    assert configs == [good]


def test_a_users_own_space_skips_entries_without_a_warning():
    from automl.space import Choice, Component, Float, Space

    own = Space({"model": Choice({"logreg": Component(
        "automl.components.PenalizedLogisticRegression", {"C": Float(0.01, 10.0, log=True)})})})
    assert load_portfolio(own, "binary", warn=False) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampler = AutoClassifier(search_space=own, random_state=0)._sampler(own, "binary", 0)
    assert own.is_valid(sampler.suggest())
    with pytest.warns(UserWarning, match="do not fit the search space"):
        load_portfolio(own, "binary")


def test_a_malformed_file_is_refused_with_what_was_found(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"classification": {"config": {}}}))
    with pytest.raises(ValueError, match="list of entries.*got dict"):
        load_portfolio(default_space("binary"), "binary", path=path)
    with pytest.raises(ValueError, match="task must be one of"):
        portfolio_entries("ranking")


def test_the_estimators_start_from_the_portfolio():
    space = default_space("regression")
    sampler = AutoRegressor(random_state=0)._sampler(space, "regression", 0)
    assert sampler.suggest() == load_portfolio(space, "regression")[0]
    only = default_space("binary").restrict(include=["naive_bayes"])
    clf = AutoClassifier(random_state=0)
    first = clf._sampler(only, "binary", 0).suggest()
    assert only.choice(first) == "naive_bayes" and only.is_valid(first)


# ---------------------------------------------------------------------------------------
# the build script (benchmarks/portfolio/build.py): selection rule and resumable candidates


@pytest.fixture(scope="module")
def build():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio" / "build.py"
    spec = importlib.util.spec_from_file_location("portfolio_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_greedy_prefers_a_generalist_then_complements_and_stops_when_nothing_helps(build):
    regret = pd.DataFrame([[0, 0, 1, 1], [1, 1, 0, 0], [0.3] * 4, [1, 1, 1, 1]],
                          index=[10, 11, 12, 13], columns=list("abcd"), dtype=float)
    seconds = pd.DataFrame([[5.0] * 4, [1.0] * 4, [2.0] * 4, [0.1] * 4],
                           index=regret.index, columns=regret.columns)
    picks = build.greedy(regret, seconds, size=10)
    assert picks == [12, 11, 10]          # 11 before 10: equal gain and regret, cheaper
    assert regret.loc[picks].min().max() == 0.0
    assert build.greedy(regret, seconds, size=2) == [12, 11]


def test_the_anytime_order_puts_regret_removed_per_second_first(build):
    # 10 is best everywhere but slow; 11 halves the regret at a tenth of the cost;
    # 12 adds nothing once 10 is in and goes last
    regret = pd.DataFrame([[0.0, 0.0], [0.5, 0.5], [0.4, 0.4]], index=[10, 11, 12],
                          columns=list("ab"))
    seconds = pd.DataFrame([[10.0] * 2, [1.0] * 2, [5.0] * 2], index=regret.index,
                           columns=regret.columns)
    order = build.anytime_order(regret, seconds, [10, 11, 12])
    assert order == [11, 10, 12]
    assert build.anytime_curve(regret, seconds, order, "a", [0.5, 1.0, 11.0]) == [1.0, 0.5, 0.0]
    cheapest = build.anytime_curve(regret, seconds, [11, 12, 10], "a", [6.0, 11.0])
    assert cheapest == [0.4, 0.4]     # the slow generalist is not reached by 11 s


def test_leave_one_dataset_out_exposes_specialists_that_do_not_transfer(build):
    rows = np.vstack([1.0 - np.eye(4), np.full((1, 4), 0.2)])   # 4 specialists, 1 generalist
    regret = pd.DataFrame(rows, columns=list("abcd"))
    seconds = regret * 0 + 1.0
    in_sample = regret.loc[build.greedy(regret, seconds, 5)].min().mean()
    assert in_sample == 0.0
    assert build.leave_one_out(regret, seconds, 3) == pytest.approx(0.2)


def test_stored_candidates_keep_their_indices_and_are_only_extended(build):
    space = default_space("binary")
    first = build.candidates("classification", 3)
    stored = json.loads(json.dumps(first))
    knn = next(i for i, c in enumerate(stored) if space.choice(c) == "knn")
    stored[knn]["model"]["knn"]["unknown_parameter"] = 1        # the space changed since
    assert not space.is_valid(stored[knn])
    extended = build.candidates("classification", 5, stored=stored)
    assert extended[:len(stored)] == stored
    assert extended[len(stored):] == [first[knn]] + build.candidates("classification", 5)[-2:]
    assert build.candidates("classification", 5, stored=extended) == extended

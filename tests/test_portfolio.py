"""Tests of automl.portfolio: the built-in list, filtering, ordering, invalid entries."""

from __future__ import annotations

import json
import warnings

import pytest

from automl.estimators import AutoClassifier, AutoRegressor
from automl.portfolio import load_portfolio, portfolio_entries
from search_spaces import default_space


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_built_in_portfolio_is_valid_in_the_default_space_and_cheapest_first(task):
    space = default_space(task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        configs = load_portfolio(space, task)
    entries = portfolio_entries(task)
    assert len(configs) == len(entries) and len(configs) >= 8
    assert all(space.is_valid(c) for c in configs)
    seconds = {json.dumps(e["config"], sort_keys=True): e["seconds"] for e in entries}
    times = [seconds[json.dumps(c, sort_keys=True)] for c in configs]
    assert times == sorted(times)
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


def test_entries_are_ordered_by_their_measured_seconds(tmp_path):
    space = default_space("binary")
    names = ["lightgbm", "logreg", "knn"]
    entries = [{"algorithm": n, "config": space.restrict(include=[n]).default(), "seconds": s}
               for n, s in zip(names, [3.0, 0.5, 1.0])]
    configs = load_portfolio(space, "binary", path=_write(tmp_path, entries))
    assert [space.choice(c) for c in configs] == ["logreg", "knn", "lightgbm"]


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

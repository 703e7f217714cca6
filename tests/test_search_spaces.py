"""Tests of the default search spaces (search_spaces/)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from automl.exceptions import InvalidConfigurationError
from automl.space import Choice, Component, Constant, Float, Space
from search_spaces import (STEP_KEYS, classification_space, default_space, regression_space,
                           with_component)

CLASSIFIERS = {"lightgbm", "xgboost", "hist_gb", "random_forest", "extra_trees", "logreg", "svc",
               "knn", "mlp"}
REGRESSORS = {"lightgbm", "xgboost", "hist_gb", "random_forest", "extra_trees", "ridge", "lasso",
              "elastic_net", "svr", "knn", "mlp"}
SPACES = {"classification": classification_space, "regression": regression_space}


def components(space: Space):
    """Every (path, Component) of a space, at any depth."""
    for path, node, _ in space.nodes():
        if isinstance(node, Choice):
            for option, branch in node.options.items():
                if isinstance(branch, Component):
                    yield f"{path}.{option}", branch


def test_default_space_by_task():
    assert default_space("binary") == default_space("multiclass") == classification_space()
    assert default_space("regression") == regression_space()
    with pytest.raises(ValueError, match="task must be one of.*got 'ranking'"):
        default_space("ranking")


@pytest.mark.parametrize("name", sorted(SPACES))
def test_top_level_keys_and_algorithms(name):
    space = SPACES[name]()
    assert list(space.params) == list(STEP_KEYS) + ["model"]
    expected = CLASSIFIERS if name == "classification" else REGRESSORS
    assert expected <= set(space.algorithms)
    if name == "classification":
        assert {"naive_bayes", "lda"} & set(space.algorithms)
    assert set(space.params["scale"].names) == {"none", "standard", "robust", "quantile", "power"}
    assert set(space.params["encode"].names) == {"onehot", "ordinal", "target", "native"}
    assert "none" in space.params["select"].names


@pytest.mark.parametrize("name", sorted(SPACES))
def test_model_tags(name):
    space = SPACES[name]()
    for algo in space.algorithms:
        tags = space.branch("model", algo).tags
        assert isinstance(tags["cost"], int) and 1 <= tags["cost"] <= 5, algo
        native = algo in {"lightgbm", "xgboost", "hist_gb"}
        assert bool(tags.get("native_categorical")) is native, algo


@pytest.mark.parametrize("name", sorted(SPACES))
def test_parameter_names_are_init_names(name):
    """Every declared parameter is a keyword of the estimator's __init__."""
    for path, component in components(SPACES[name]()):
        accepted = set(inspect.signature(component.resolve().__init__).parameters)
        if not component.params:
            continue
        declared = {p.rsplit(".", 1)[-1] for p, _, _ in Space(component.params).nodes()}
        assert declared <= accepted, (path, declared - accepted)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_seeds_threads_and_tree_counts_are_not_searched(name):
    space = SPACES[name]()
    for path, node, _ in space.nodes():
        leaf = path.rsplit(".", 1)[-1]
        assert leaf not in {"random_state", "seed", "n_jobs", "nthread", "num_threads"}, path
        if leaf in {"n_estimators", "max_iter", "max_trees"}:
            assert isinstance(node, Constant), path
    for booster in ("lightgbm", "xgboost"):
        assert "n_estimators" not in space.branch("model", booster).params
    assert space.branch("model", "hist_gb").params["early_stopping"].value is True


@pytest.mark.parametrize("path, good_values", [
    ("model.lightgbm.learning_rate", [0.01, 0.05, 0.1, 0.3]),
    ("model.lightgbm.num_leaves", [8, 31, 128]),
    ("model.xgboost.max_depth", [3, 6, 8]),
    ("model.svc.C", [0.1, 1.0, 100.0]),
    ("model.svc.kernel.rbf.gamma", [1e-3, 0.1, 1.0]),
    ("model.logreg.C", [0.01, 1.0, 100.0]),
    ("model.mlp.alpha", [1e-5, 1e-4, 1e-2]),
    ("model.knn.n_neighbors", [1, 5, 30]),
])
def test_ranges_contain_known_good_values(path, good_values):
    nodes = {p: n for p, n, _ in classification_space().nodes()}
    node = nodes[path]
    assert all(node.check(v) is None for v in good_values), (path, node)
    if isinstance(node, Float) and node.high / node.low >= 100:
        assert node.log, f"{path} spans orders of magnitude and should be log-scaled"


def test_importing_never_imports_boosters():
    code = ("import sys, numpy as np, automl, automl.builder, search_spaces\n"
            "s = search_spaces.default_space('binary'); s.sample(np.random.default_rng(0))\n"
            "search_spaces.default_space('regression')\n"
            "bad = [m for m in ('lightgbm', 'xgboost') if m in sys.modules]\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(SPACES))
def test_space_round_trips_through_json(name):
    space = SPACES[name]()
    text = json.dumps(space.to_dict())
    again = Space.from_dict(json.loads(text))
    assert again == space
    assert json.dumps(again.to_dict()) == text
    assert str(again) == str(space)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_sampled_configurations_round_trip_through_json(name):
    space = SPACES[name]()
    rng = np.random.default_rng(7)
    configs = [space.sample(rng) for _ in range(1000)]
    again = json.loads(json.dumps(configs))
    assert again == configs
    for config in again[:: 10]:
        space.validate(config)
        assert space.unflatten(space.flatten(config)) == config
    assert len({space.choice(c) for c in configs}) == len(space.algorithms)


@pytest.mark.parametrize("mutate, path", [
    (lambda c: c["model"].update({"lightgbm": {**c["model"]["lightgbm"], "learning_rate": 5.0}}),
     "model.lightgbm.learning_rate"),
    (lambda c: c.update({"model": {"catboost": {}}}), "model"),
    (lambda c: c.update({"scale": {"quantile": {"output_distribution": "cauchy"}}}),
     "scale.quantile.output_distribution"),
    (lambda c: c.update({"model": {"logreg": {"C": 1.0, "penalty": {"elasticnet": {"l1_ratio": 2}}}}}),
     "model.logreg.penalty.elasticnet.l1_ratio"),
    (lambda c: c["encode"]["onehot"].pop("max_categories"), "encode.onehot.max_categories"),
    (lambda c: c.update({"select": {"pca": {"n_components": 0.9, "whiten": False, "extra": 1}}}),
     "select.pca.extra"),
    (lambda c: c.pop("impute"), "impute"),
])
def test_corrupted_configurations_are_rejected_naming_the_path(mutate, path):
    space = classification_space()
    config = space.default()
    mutate(config)
    with pytest.raises(InvalidConfigurationError, match=f"'{path}'"):
        space.validate(config)


def test_sampling_ten_thousand_configurations_is_fast():
    space = classification_space()
    best = float("inf")
    for attempt in range(3):  # best of three: the machine may be shared
        rng = np.random.default_rng(attempt)
        start = time.process_time()
        for _ in range(10_000):
            space.sample(rng)
        best = min(best, time.process_time() - start)
    assert best < 1.0, f"10,000 samples took {best:.2f} s of CPU"


def test_with_component_adds_an_algorithm():
    base = default_space("binary")
    extra = Component("sklearn.linear_model.RidgeClassifier", {"alpha": Float(1e-3, 1e3, log=True)},
                      cost=1)
    space = with_component(base, "ridge_clf", extra)
    assert space.algorithms == base.algorithms + ["ridge_clf"]
    assert base.algorithms[-1] != "ridge_clf"  # the original is untouched
    assert Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space
    assert space.restrict(include=["ridge_clf"]).algorithms == ["ridge_clf"]
    rng = np.random.default_rng(0)
    assert any(space.choice(space.sample(rng)) == "ridge_clf" for _ in range(200))


def test_with_component_refuses_mistakes():
    base = default_space("regression")
    comp = Component("sklearn.linear_model.Ridge")
    with pytest.raises(ValueError, match="already has an option 'ridge'"):
        with_component(base, "ridge", comp)
    assert with_component(base, "ridge", comp, replace=True).branch("model", "ridge").params == {}
    with pytest.raises(ValueError, match="top-level Choice.*got 'models'"):
        with_component(base, "x", comp, key="models")
    with pytest.raises(TypeError, match="got str"):
        with_component(base, "x", "sklearn.linear_model.Ridge")
    scaled = with_component(base, "maxabs", Component("sklearn.preprocessing.MaxAbsScaler"),
                            key="scale")
    assert "maxabs" in scaled.params["scale"].names

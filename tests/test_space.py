"""Tests of the search-space language (automl/space.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from automl.exceptions import InvalidConfigurationError, SpaceDefinitionError
from automl.space import Categorical, Choice, Component, Constant, Float, Int, Space


def nested_space() -> Space:
    return Space(
        {
            "scaler": Choice({"none": None, "standard": {"with_mean": Categorical([True, False])}}),
            "model": Choice(
                {
                    "svc": Component(
                        "sklearn.svm.SVC",
                        {
                            "C": Float(1e-3, 1e3, log=True),
                            "kernel": Choice(
                                {
                                    "rbf": {"gamma": Float(1e-4, 1.0, log=True)},
                                    "poly": {"degree": Int(2, 5), "coef0": Float(0.0, 1.0)},
                                    "linear": None,
                                }
                            ),
                            "probability": Constant(True),
                        },
                        cost=3,
                    ),
                    "knn": Component(
                        "sklearn.neighbors.KNeighborsClassifier",
                        {"n_neighbors": Int(1, 64, log=True), "weights": Categorical(["uniform", "distance"])},
                        cost=1,
                    ),
                }
            ),
        }
    )


# -- primitives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, fragment",
    [
        (lambda: Float(2.0, 1.0), "low must be <= high"),
        (lambda: Int(5, 1), "low must be <= high"),
        (lambda: Float(0.0, 1.0, log=True), "needs low > 0"),
        (lambda: Int(0, 10, log=True), "needs low > 0"),
        (lambda: Int(0.5, 3), "must be an integer"),
        (lambda: Float(0.0, float("inf")), "finite"),
        (lambda: Categorical([]), "must not be empty"),
        (lambda: Categorical(["a", "a"]), "duplicate choice"),
        (lambda: Categorical([[1, 2]]), "JSON scalar"),
        (lambda: Choice({}), "must not be empty"),
        (lambda: Choice({"a.b": None}), "without '.'"),
        (lambda: Choice([("a", None), ("a", None)]), "duplicate option"),
        (lambda: Space([("x", Float(0, 1)), ("x", Int(0, 1))]), "duplicate parameter"),
        (lambda: Component("a.B", {"k": Choice({"o": {"k": Float(0, 1)}})}), "clash"),
        (lambda: Component("NoDots", {}), "package.Class"),
        (lambda: Float(0.0, 1.0, default=3.0), "default"),
        (lambda: Space({"x": 3}), "must be Float"),
    ],
)
def test_invalid_declarations_fail_at_construction(factory, fragment):
    with pytest.raises(SpaceDefinitionError, match=fragment):
        factory()


def test_leaves_sample_within_bounds():
    rng = np.random.default_rng(0)
    f, fl = Float(-2.0, 3.0), Float(1e-5, 1e2, log=True)
    i, il = Int(3, 7), Int(1, 1000, log=True)
    for _ in range(2000):
        assert -2.0 <= f.sample(rng) <= 3.0
        assert 1e-5 <= fl.sample(rng) <= 1e2
        assert 3 <= i.sample(rng) <= 7
        assert 1 <= il.sample(rng) <= 1000
    draws = [i.sample(rng) for _ in range(2000)]
    assert set(draws) == {3, 4, 5, 6, 7}  # both ends included
    logs = np.log10([fl.sample(rng) for _ in range(4000)])
    # uniform on the log scale: each decade gets about 1/7 of the mass
    counts, _ = np.histogram(logs, bins=7, range=(-5, 2))
    assert counts.min() > 0.7 * 4000 / 7


def test_categorical_tells_bool_from_int():
    c = Categorical([True, 1, "1", None])
    assert c.index(True) == 0 and c.index(1) == 1 and c.index("1") == 2 and c.index(None) == 3
    assert Categorical([1, 2]).check(True) is not None


# -- configurations ------------------------------------------------------------------------


def test_sample_validate_flatten_roundtrip():
    space, rng = nested_space(), np.random.default_rng(1)
    for _ in range(500):
        config = space.sample(rng)
        space.validate(config)
        flat = space.flatten(config)
        assert space.unflatten(flat) == config
        assert json.loads(json.dumps(config)) == config
        assert list(flat) == space.active_parameters(config)


def test_active_parameters_follow_the_branch():
    space = nested_space()
    config = {
        "scaler": {"none": {}},
        "model": {"svc": {"C": 1.0, "kernel": {"rbf": {"gamma": 0.1}}, "probability": True}},
    }
    assert space.active_parameters(config) == [
        "scaler",
        "model",
        "model.svc.C",
        "model.svc.kernel",
        "model.svc.kernel.rbf.gamma",
        "model.svc.probability",
    ]
    assert space.choice(config) == "svc"
    kwargs = space.branch("model", "svc").kwargs(config["model"]["svc"])
    assert kwargs == {"C": 1.0, "kernel": "rbf", "gamma": 0.1, "probability": True}


def test_default_configuration_is_valid_and_uses_first_options():
    space = nested_space()
    config = space.default()
    space.validate(config)
    assert space.choice(config) == "svc"
    assert config["model"]["svc"]["C"] == pytest.approx(1.0)  # geometric mean of 1e-3, 1e3


@pytest.mark.parametrize(
    "corrupt, path",
    [
        (lambda c: c["model"]["svc"].__setitem__("C", 1e9), "model.svc.C"),
        (lambda c: c["model"]["svc"].__setitem__("C", "big"), "model.svc.C"),
        (lambda c: c["model"]["svc"]["kernel"].__setitem__("sigmoid", {}), "model.svc.kernel"),
        (lambda c: c["model"]["svc"].pop("probability"), "model.svc.probability"),
        (lambda c: c["model"]["svc"].__setitem__("extra", 1), "model.svc.extra"),
        (lambda c: c.__setitem__("model", {"forest": {}}), "model"),
        (lambda c: c["scaler"].update({"none": {}, "standard": {}}), "scaler"),
    ],
)
def test_corrupted_configurations_name_the_path(corrupt, path):
    space = nested_space()
    config = {
        "scaler": {"none": {}},
        "model": {"svc": {"C": 1.0, "kernel": {"rbf": {"gamma": 0.1}}, "probability": True}},
    }
    corrupt(config)
    with pytest.raises(InvalidConfigurationError, match=f"'{path}'"):
        space.validate(config)


def test_unflatten_refuses_inactive_parameters():
    space = nested_space()
    flat = space.flatten(space.default())
    flat["model.knn.n_neighbors"] = 3
    with pytest.raises(InvalidConfigurationError, match="model.knn.n_neighbors"):
        space.unflatten(flat)


def test_sample_is_reproducible_under_a_seed():
    space = nested_space()
    a = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    with pytest.raises(TypeError, match="Generator"):
        space.sample(7)  # type: ignore[arg-type]


# -- whole-space operations -------------------------------------------------------------------


def test_space_roundtrips_through_json():
    space = nested_space()
    data = json.loads(json.dumps(space.to_dict()))
    again = Space.from_dict(data)
    assert again == space
    assert again.to_dict() == space.to_dict()
    assert again.branch("model", "svc").tags == {"cost": 3}


def test_restrict_include_exclude():
    space = nested_space()
    assert space.restrict(include=["knn"]).algorithms == ["knn"]
    assert space.restrict(exclude=["knn"]).algorithms == ["svc"]
    assert space.algorithms == ["svc", "knn"]  # the original is untouched
    with pytest.raises(ValueError, match="unknown algorithms"):
        space.restrict(include=["forest"])
    with pytest.raises(ValueError, match="leave no algorithm"):
        space.restrict(exclude=["svc", "knn"])


def test_nodes_carry_conditions():
    nodes = {path: condition for path, _, condition in nested_space().nodes()}
    assert nodes["model"] is None
    assert nodes["model.svc.kernel"] == ("model", "svc")
    assert nodes["model.svc.kernel.rbf.gamma"] == ("model.svc.kernel", "rbf")


def test_tree_rendering_shows_every_path_segment():
    text = str(nested_space())
    for fragment in ("model: Choice", "- svc <sklearn.svm.SVC>", "kernel: Choice", "gamma: Float"):
        assert fragment in text


def test_component_resolves_lazily_and_names_missing_package():
    comp = Component("no_such_package_xyz.Model", {})
    with pytest.raises(ImportError, match="no_such_package_xyz"):
        comp.resolve()


def test_importing_space_does_not_import_sklearn_or_pandas():
    code = (
        "import sys, automl.space; "
        "bad = [m for m in ('sklearn', 'pandas', 'lightgbm', 'xgboost') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

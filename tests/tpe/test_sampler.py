"""TPESampler and RandomSampler: validity, determinism, allowed, liar, portfolio, quality."""

import json
import math

import numpy as np
import pytest

from automl.exceptions import InvalidConfigurationError
from automl.space import Categorical, Choice, Component, Constant, Float, Int, Space
from automl.tpe import STATUSES, RandomSampler, TPESampler, acquisition
from automl.tpe.tree import build_groups, leaf_paths

PLAIN = (float, int, str, bool, type(None))


@pytest.fixture
def nested_space():
    return Space({
        "impute": Choice({"simple": {"strategy": Categorical(["mean", "median"])}}),
        "scale": Choice({"none": None, "std": {"with_mean": Categorical([True, False])}}),
        "model": Choice({
            "svc": Component("sklearn.svm.SVC", {
                "C": Float(1e-3, 1e3, log=True),
                "kernel": Choice({"rbf": {"gamma": Float(1e-4, 1.0, log=True)},
                                  "poly": {"degree": Int(2, 5), "coef0": Float(0.0, 1.0)},
                                  "linear": None}),
                "random_state": Constant(0)}),
            "knn": {"n_neighbors": Int(1, 100, log=True), "p": Categorical([1, 2, None]),
                    "fixed": Float(0.5, 0.5), "one": Categorical(["only"])},
            "tree": {"depth": Int(1, 20), "leaf": Float(0.0, 0.5)},
        }),
    })


def _assert_plain(value):
    if isinstance(value, dict):
        for v in value.values():
            _assert_plain(v)
    else:
        assert type(value) in PLAIN, f"{value!r} is a {type(value).__name__}"


def _loss(space, config):
    flat = space.flatten(config)
    numbers = [v for v in flat.values() if isinstance(v, float)]
    return float(np.sin(sum(numbers)) + len(flat) * 0.1)


def test_suggestions_are_valid_plain_and_have_no_inactive_parameters(nested_space):
    sampler = TPESampler(nested_space, seed=0, n_startup=5)
    rng = np.random.default_rng(0)
    for i in range(300):
        config = sampler.suggest(allowed=["knn", "tree"] if i % 5 == 0 else None)
        nested_space.validate(config)  # also refuses any parameter not on the active branch
        _assert_plain(config)
        assert json.loads(json.dumps(config)) == config
        status = STATUSES[int(rng.integers(len(STATUSES)))] if i % 3 else "ok"
        loss = math.nan if status in ("error", "crashed") else _loss(nested_space, config)
        if i % 7 != 0:  # leave some pending forever
            sampler.observe(config, loss, status)


def test_same_seed_and_history_give_the_same_suggestions(nested_space):
    def run(seed):
        sampler, out = TPESampler(nested_space, seed=seed, n_startup=3), []
        for _ in range(25):
            config = sampler.suggest()
            out.append(config)
            sampler.observe(config, _loss(nested_space, config))
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_allowed_restricts_the_algorithm(nested_space):
    sampler = TPESampler(nested_space, seed=1, n_startup=4)
    for i in range(40):
        config = sampler.suggest(allowed=["tree"] if i >= 20 else None)
        if i >= 20:
            assert nested_space.choice(config) == "tree"
        sampler.observe(config, 0.0 if nested_space.choice(config) == "svc" else 1.0)
    with pytest.raises(ValueError, match="unknown"):
        sampler.suggest(allowed=["nope"])
    with pytest.raises(ValueError, match="algorithm choice"):
        TPESampler(Space({"x": Float(0, 1)}), seed=0).suggest(allowed=["a"])


def test_startup_configs_come_first_in_order_and_respect_allowed(nested_space):
    portfolio = [nested_space.default(), nested_space.sample(np.random.default_rng(5))]
    portfolio[1]["model"] = {"tree": {"depth": 3, "leaf": 0.1}}
    for cls in (TPESampler, RandomSampler):
        sampler = cls(nested_space, seed=0, startup_configs=portfolio)
        assert sampler.suggest(allowed=["tree"]) == portfolio[1]
        assert sampler.suggest() == portfolio[0]
        assert sampler.suggest() not in portfolio
    with pytest.raises(InvalidConfigurationError, match=r"startup_configs\[0\]"):
        TPESampler(nested_space, startup_configs=[{"model": {"svc": {}}}])


def test_observe_checks_its_input(nested_space):
    sampler = TPESampler(nested_space, seed=0)
    config = sampler.suggest()
    with pytest.raises(ValueError, match="status"):
        sampler.observe(config, 1.0, "done")
    with pytest.raises(TypeError, match="loss"):
        sampler.observe(config, "bad")
    with pytest.raises(InvalidConfigurationError):
        sampler.observe({"model": {"svc": {}}}, 1.0)


def _one_d():
    return Space({"x": Float(0.0, 1.0)})


def test_observing_configs_never_suggested_steers_the_model():
    space = _one_d()
    sampler = TPESampler(space, seed=0)
    for x in np.linspace(0.0, 1.0, 40):  # resume: history from elsewhere
        sampler.observe({"x": float(x)}, abs(x - 0.8))
    xs = []
    for _ in range(10):
        config = sampler.suggest()
        xs.append(config["x"])
        sampler.observe(config, abs(config["x"] - 0.8))
    assert abs(np.median(xs) - 0.8) < 0.1


def test_constant_liar_spreads_pending_suggestions():
    space = _one_d()
    history = [({"x": float(x)}, (x - 0.5) ** 2) for x in np.random.default_rng(0).uniform(size=30)]

    def fresh(seed):
        sampler = TPESampler(space, seed=seed)
        for config, loss in history:
            sampler.observe(config, loss)
        return sampler

    independent = [fresh(seed).suggest()["x"] for seed in range(12)]  # nobody pending
    batch = fresh(0)
    pending = [batch.suggest()["x"] for _ in range(12)]  # each sees the others pending
    gaps = lambda xs: np.diff(np.sort(xs)).min()  # noqa: E731
    assert len(set(pending)) == 12
    assert np.std(pending) > np.std(independent)
    assert gaps(pending) > gaps(independent)


def _toy_loss(config):
    (algo, params), = config["model"].items()
    if algo == "quad":
        return (params["a"] - 0.7) ** 2 + (params["b"] - 0.2) ** 2 + 0.01 * abs(params["k"] - 6)
    if algo == "ridge":
        return 0.1 + 0.05 * abs(math.log10(params["alpha"]) + 2)
    return 0.3 + 0.1 * params["c"]


def test_tpe_beats_random_search_on_a_toy_conditional_problem():
    space = Space({"model": Choice({
        "quad": {"a": Float(0.0, 1.0), "b": Float(0.0, 1.0), "k": Int(0, 20)},
        "ridge": {"alpha": Float(1e-6, 1e2, log=True)},
        "flat": {"c": Float(0.0, 1.0), "kind": Categorical(["x", "y", "z"])},
    })})

    def best(cls, seed):
        sampler, values = cls(space, seed=seed), []
        for _ in range(60):
            config = sampler.suggest()
            values.append(_toy_loss(config))
            sampler.observe(config, values[-1])
        return min(values)

    tpe = np.median([best(TPESampler, s) for s in range(5)])
    rand = np.median([best(RandomSampler, s) for s in range(5)])
    assert tpe < 0.5 * rand


def _two_branch_history(sampler, rng):
    """Branch "a" holds every globally good trial (best x near 0.2); "b" only bad ones,
    its own best at y near 0.9."""
    for _ in range(40):
        x, y = float(rng.uniform()), float(rng.uniform())
        sampler.observe({"m": {"a": {"x": x}}}, 0.1 * abs(x - 0.2))
        sampler.observe({"m": {"b": {"y": y}}}, 1.0 + abs(y - 0.9))


def test_groups_model_the_global_good_trials_or_else_their_own_best():
    space = Space({"m": Choice({"a": {"x": Float(0.0, 1.0)}, "b": {"y": Float(0.0, 1.0)}})},
                  algorithm_key="m")
    sampler = TPESampler(space, seed=0)
    _two_branch_history(sampler, np.random.default_rng(0))
    xs = [sampler.suggest(allowed=["a"])["m"]["a"]["x"] for _ in range(30)]
    ys = [sampler.suggest(allowed=["b"])["m"]["b"]["y"] for _ in range(30)]
    assert abs(np.median(xs) - 0.2) < 0.1  # the globally good trials
    assert abs(np.median(ys) - 0.9) < 0.1  # no global good trial in "b": its own best
    assert all(space.choice(sampler.suggest()) == "a" for _ in range(10))


def test_random_sampler_is_reproducible_and_restricted(nested_space):
    a, b = RandomSampler(nested_space, seed=3), RandomSampler(nested_space, seed=3)
    assert [a.suggest() for _ in range(5)] == [b.suggest() for _ in range(5)]
    assert all(nested_space.choice(a.suggest(allowed={"knn"})) == "knn" for _ in range(20))
    a.observe(a.suggest(), 0.5, "timeout")
    assert a.n_observed == 1


@pytest.mark.parametrize("kwargs,match", [({"n_startup": -1}, "n_startup"),
                                          ({"n_candidates": 0}, "n_candidates"),
                                          ({"prior_weight": 0.0}, "prior_weight"),
                                          ({"seed": -3}, "seed")])
def test_bad_settings_are_refused_with_a_clear_message(nested_space, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TPESampler(nested_space, **kwargs)


@pytest.mark.parametrize("cls", [TPESampler, RandomSampler])
def test_discard_forgets_one_pending_entry_only(nested_space, cls):
    sampler = cls(nested_space, seed=0)
    config = sampler.suggest()
    assert sampler.discard(config) is True
    assert sampler.discard(config) is False  # nothing pending any more
    again = sampler.suggest()
    sampler.observe(again, 0.5)
    assert sampler.discard(again) is False  # observed, not pending
    with pytest.raises(InvalidConfigurationError):
        sampler.discard({"model": {"svc": {}}})


def test_discarded_suggestions_leave_no_constant_liar():
    space = _one_d()
    history = [({"x": float(x)}, (x - 0.5) ** 2) for x in np.random.default_rng(0).uniform(size=30)]
    replayed, fresh = TPESampler(space, seed=3), TPESampler(space, seed=3)
    for sampler in (replayed, fresh):
        for config, loss in history:
            sampler.observe(config, loss)
    stale = [replayed.suggest() for _ in range(6)]
    assert all(replayed.discard(config) for config in stale)
    fresh._n_suggested = replayed._n_suggested  # same draw counter, nothing ever pending
    after = [replayed.suggest() for _ in range(4)]
    assert after == [fresh.suggest() for _ in range(4)]
    kept = TPESampler(space, seed=3)
    for config, loss in history:
        kept.observe(config, loss)
    assert [kept.suggest() for _ in range(6)] == stale
    assert kept.suggest() != after[0]  # same draw, but six liars still pending


def test_joint_subtree_scoring_gives_valid_reproducible_suggestions(nested_space):
    def run(seed):
        sampler, out = TPESampler(nested_space, seed=seed, n_startup=4, joint_subtree=True), []
        for i in range(40):
            config = sampler.suggest(allowed=["knn", "tree"] if i % 4 == 0 else None)
            nested_space.validate(config)
            _assert_plain(config)
            if i % 4 == 0:
                assert nested_space.choice(config) in ("knn", "tree")
            out.append(config)
            sampler.observe(config, _loss(nested_space, config))
        return out

    assert run(2) == run(2)


def test_choice_smoothing_spreads_the_same_share_on_each_option():
    from automl.tpe.parzen import categorical_smoothing
    from automl.tpe.tree import build_groups

    space = Space({"two": Choice({"a": None, "b": None}),
                   "four": Choice({c: None for c in "cdef"}),
                   "cat": Categorical(["x", "y", "z"])})
    dims = dict(zip(build_groups(space)[0].names, build_groups(space)[0].dims))
    assert (dims["two"].exploration, dims["four"].exploration) == (1.5, 3.0)
    assert dims["cat"].exploration == 1.0  # plain categoricals are not Choices
    shares = [categorical_smoothing(80, d.n_choices, d.exploration) / d.n_choices
              for d in (dims["two"], dims["four"])]
    assert shares[0] == pytest.approx(shares[1]) == pytest.approx(0.75 / 9)


def test_integers_decode_to_plain_ints_within_bounds():
    from automl.tpe.parzen import Dim
    from automl.tpe.tree import decode_value

    node = Int(2, 64, log=True)
    dim = Dim.integer(2, 64, log=True)
    values = [decode_value(node, dim, z) for z in (math.log(7.4), math.log(1.0), math.log(90.0))]
    assert values == [7, 2, 64] and all(type(v) is int for v in values)
    assert decode_value(Int(0, 9), Dim.integer(0, 9), 4.5) == 4  # halves to even, as numpy


def test_single_option_choices_are_modelled_in_their_parents_row():
    from automl.tpe.tree import build_groups, encode

    space = Space({"impute": Choice({"simple": {"strategy": Categorical(["mean", "median"]),
                                                "deep": Choice({"only": {"k": Int(1, 9)}})}}),
                   "model": Choice({"a": {"x": Float(0.0, 1.0)}, "b": None})},
                  algorithm_key="model")
    groups = build_groups(space)
    root = groups[0]
    assert root.names == ["model"] and list(root.inlined) == ["impute"]
    assert len(root.dims) == 3 and root.columns == [2]  # strategy, k, then model
    assert [g.prefix for g in groups] == ["", "model.a.", "model.b."]
    config = {"impute": {"simple": {"strategy": "median", "deep": {"only": {"k": 4}}}},
              "model": {"a": {"x": 0.5}}}
    rows = {g.prefix: row for g, row in encode(root, config)}
    assert rows == {"": [1.0, 4.0, 0.0], "model.a.": [0.5]}
    suggestions = []
    for _ in range(2):
        sampler = TPESampler(space, seed=3, n_startup=5)
        for i in range(25):
            config = sampler.suggest(allowed=["b"] if i == 20 else None)
            space.validate(config)
            assert i != 20 or "b" in config["model"]  # the algorithm column is still found
            sampler.observe(config, abs(config["impute"]["simple"]["deep"]["only"]["k"] - 3))
        suggestions.append(config)
    assert suggestions[0] == suggestions[1]


def _draws(space, monkeypatch, weight: float, steps: int = 40) -> list:
    """Suggestions of a seeded run with ``PATHS_BONUS = weight`` (losses: a fixed hash)."""
    monkeypatch.setattr(acquisition, "PATHS_BONUS", weight)
    sampler = TPESampler(space, seed=3)
    out = []
    for i in range(steps):
        config = sampler.suggest()
        out.append(config)
        sampler.observe(config, float(np.random.default_rng([i, 7]).random()))
    return out


def test_paths_exploration_acts_only_where_an_option_holds_several_branches(monkeypatch):
    flat = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": {"y": Float(0, 1)},
                                   "c": None})})
    assert _draws(flat, monkeypatch, 0.0) == _draws(flat, monkeypatch, 5.0)
    nested = Space({"model": Choice({
        "a": {"x": Float(0, 1), "kernel": Choice({"k1": None, "k2": None, "k3": None})},
        "b": {"y": Float(0, 1)}, "c": None})})
    assert leaf_paths(build_groups(nested)[0]) == 5
    off, on = _draws(nested, monkeypatch, 0.0), _draws(nested, monkeypatch, 5.0)
    assert off != on
    tried_a = [sum("a" in c["model"] for c in run[10:]) for run in (off, on)]
    assert tried_a[1] > tried_a[0]  # the option with three branches is explored more

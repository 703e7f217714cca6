"""What the sampler keeps between calls changes no suggestion (same seed, same history)."""

import numpy as np
import pytest

from automl.space import Categorical, Choice, Float, Int, Space
from automl.tpe import TPESampler
from automl.tpe.counts import CategoryCounts
from automl.tpe.parzen import Dim


class _Uncached(TPESampler):
    """The sampler recomputing everything at every call."""

    def suggest(self, allowed=None):
        self._forget_caches()
        return super().suggest(allowed)

    def observe(self, config, loss, status="ok"):
        self._forget_caches()
        super().observe(config, loss, status)

    def discard(self, config):
        self._forget_caches()
        return super().discard(config)


@pytest.fixture
def space():
    return Space({
        "scale": Choice({"none": None, "std": {"with_mean": Categorical([True, False])}}),
        "model": Choice({
            "svc": {"C": Float(1e-3, 1e3, log=True),
                    "kernel": Choice({"rbf": {"gamma": Float(1e-4, 1.0, log=True)},
                                      "poly": {"degree": Int(2, 5)}, "linear": None})},
            "knn": {"n_neighbors": Int(1, 100, log=True), "p": Categorical([1, 2])},
            "tree": {"depth": Int(1, 20), "leaf": Float(0.0, 0.5)},
        }),
    })


def _script(sampler, seed):
    """A search with everything that touches the caches: batches of pending suggestions,
    new best losses (the global split moves), failures, pruned trials, discards, and
    configurations observed without being suggested. Returns every suggestion."""
    events = np.random.default_rng(seed)
    out, pending = [], []
    for step in range(70):
        pending += [sampler.suggest() for _ in range(int(events.integers(1, 4)))]
        out += pending[-1:]
        action = events.uniform()
        config = pending.pop(int(events.integers(len(pending))))
        if action < 0.12:
            sampler.discard(config)
        elif action < 0.2:
            sampler.observe(config, None, "error")
        elif action < 0.26:
            sampler.observe(config, float(events.uniform()), "pruned")
        else:  # losses that improve now and then (a new good trial)
            sampler.observe(config, float(events.uniform() * (1.0 - step / 80)))
        if action > 0.95:
            sampler.observe(sampler.space.sample(events), float(events.uniform()))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kept_state_changes_no_suggestion(space, seed):
    cached, fresh = TPESampler(space, seed=seed, n_startup=8), _Uncached(space, seed=seed,
                                                                         n_startup=8)
    assert _script(cached, seed) == _script(fresh, seed)


def test_observing_a_suggested_config_skips_checking_it_again(space, monkeypatch):
    sampler = TPESampler(space, seed=0)
    checked = []
    monkeypatch.setattr(space, "validate", lambda config: checked.append(config))
    config = sampler.suggest()
    sampler.observe(config, 0.5)
    assert checked == []  # an exact copy of a suggestion: valid by construction
    config = sampler.suggest()
    config["model"] = {"tree": {"depth": 3, "leaf": 0.1}}  # changed after the suggestion
    sampler.observe(config, 0.5)
    assert checked == [config]
    copy = sampler.suggest()
    sampler.discard(copy)
    sampler.observe(copy, 0.4)  # no longer pending: checked, recorded as a new trial
    assert checked[-1] == copy


def test_choice_tallies_equal_a_recount_of_the_rows(space):
    sampler = TPESampler(space, seed=4, n_startup=8)
    _script(sampler, 4)  # discards included: rows come and go
    tallied = 0
    for group, rows, tally in zip(sampler._groups, sampler._rows, sampler._tallies):
        if tally is None:
            continue
        options = rows.values[:, tally.columns].astype(np.int64)
        radix = np.cumprod([1, *tally.n_choices[:-1]])
        assert rows.tags.tolist() == (options @ radix).tolist()
        for j, column in enumerate(tally.columns):
            assert tally.counts[column] == np.bincount(
                options[:, j], minlength=tally.n_choices[j]).tolist()
        if tally.trials is not None:
            assert tally.trials.tolist() == np.bincount(
                rows.tags, minlength=len(tally.trials)).tolist()
            tallied += 1
    assert tallied  # the root of this space holds options with nested choices


def test_category_counts_equal_a_recount_of_the_rows(space):
    sampler = TPESampler(space, seed=4, n_startup=8)
    _script(sampler, 4)
    counted = [(rows, counts) for rows, counts in zip(sampler._rows, sampler._counts) if counts]
    assert counted  # the root of this space is purely categorical
    for rows, counts in counted:
        fresh = CategoryCounts(_dims_of(counts))
        for row in rows.values:
            fresh.add(row)
        assert fresh._table.tolist() == counts._table.tolist()


def _dims_of(counts):
    return [Dim.categorical(int(k), float(e)) for k, e in zip(counts.n_choices,
                                                              counts.exploration)]


class _TermByTerm(TPESampler):
    """The sampler scoring g term by term at every group (no counts)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counts = [None] * len(self._counts)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counted_bad_density_changes_no_suggestion(space, seed):
    counted, plain = TPESampler(space, seed=seed, n_startup=8), _TermByTerm(space, seed=seed,
                                                                            n_startup=8)
    assert _script(counted, seed) == _script(plain, seed)


def test_rows_written_while_decoding_a_suggestion_are_its_encoding(space):
    sampler = TPESampler(space, seed=5, n_startup=4)
    for step in range(30):
        config = sampler.suggest()
        rows, key = sampler._encode(config)
        assert sampler._pending[key]  # recorded under the key encode() gives
        for group, row in rows:
            assert sampler._rows[group.index].values[-1].tolist() == row
        sampler.observe(config, float(np.sin(step)))

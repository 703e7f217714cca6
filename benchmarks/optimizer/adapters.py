"""Run our samplers, Optuna's TPE and hyperopt's TPE through one ask/tell interface.

Each adapter has ``ask() -> nested config`` and ``tell(config, loss)``, and
``preload(configs, losses)`` to fill the history without timing it. Optuna and
hyperopt see an equivalent space: same parameter names (full paths), same ranges and
scales; hyperopt gets nested ``hp.choice`` trees, Optuna a define-by-run walk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from automl.space import Categorical, Choice, Constant, Float, Int, Space
from automl.tpe import RandomSampler, TPESampler

OPTIMIZERS = ("ours", "ours_joint", "random", "optuna", "optuna_mv", "hyperopt")


class Ours:
    """Our TPESampler (or RandomSampler with ``random=True``); keywords go to TPESampler."""

    def __init__(self, space: Space, seed: int, random: bool = False, **kwargs: Any) -> None:
        self.sampler = RandomSampler(space, seed=seed) if random else TPESampler(
            space, seed=seed, **kwargs)

    def ask(self) -> dict[str, Any]:
        return self.sampler.suggest()

    def tell(self, config: dict[str, Any], loss: float) -> None:
        self.sampler.observe(config, loss)

    def preload(self, configs: list, losses: list) -> None:
        for config, loss in zip(configs, losses):
            self.sampler.observe(config, loss)


def _optuna_walk(trial: Any, params: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in params.items():
        path = prefix + name
        if isinstance(node, Choice):
            option = trial.suggest_categorical(path, node.names)
            out[name] = {option: _optuna_walk(trial, node.options[option].params, f"{path}.{option}.")}
        elif isinstance(node, Constant):
            out[name] = node.value
        elif isinstance(node, Categorical):
            out[name] = trial.suggest_categorical(path, node.choices)
        elif isinstance(node, Int):
            out[name] = trial.suggest_int(path, node.low, node.high, log=node.log)
        else:
            out[name] = trial.suggest_float(path, node.low, node.high, log=node.log)
    return out


def _optuna_distributions(space: Space) -> dict[str, Any]:
    import optuna.distributions as d
    out: dict[str, Any] = {}
    for path, node, _ in space.nodes():
        if isinstance(node, Choice):
            out[path] = d.CategoricalDistribution(node.names)
        elif isinstance(node, Categorical):
            out[path] = d.CategoricalDistribution(node.choices)
        elif isinstance(node, Int):
            out[path] = d.IntDistribution(node.low, node.high, log=node.log)
        elif isinstance(node, Float):
            out[path] = d.FloatDistribution(node.low, node.high, log=node.log)
    return out


class Optuna:
    """Optuna's TPESampler, default or ``multivariate=True, group=True``."""

    def __init__(self, space: Space, seed: int, multivariate: bool = False) -> None:
        import optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate, group=multivariate)
        self.study = optuna.create_study(sampler=sampler)
        self.space, self._trials = space, {}

    def ask(self) -> dict[str, Any]:
        trial = self.study.ask()
        config = _optuna_walk(trial, self.space.params, "")
        self._trials[id(config)] = trial
        return config

    def tell(self, config: dict[str, Any], loss: float) -> None:
        self.study.tell(self._trials.pop(id(config)), loss)

    def preload(self, configs: list, losses: list) -> None:
        import optuna
        dists = _optuna_distributions(self.space)
        trials = []
        for config, loss in zip(configs, losses):
            flat = {k: v for k, v in self.space.flatten(config).items() if k in dists}
            trials.append(optuna.trial.create_trial(
                params=flat, distributions={k: dists[k] for k in flat}, value=loss))
        self.study.add_trials(trials)


def _hp_tree(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    from hyperopt import hp
    out: dict[str, Any] = {}
    for name, node in params.items():
        path = prefix + name
        if isinstance(node, Choice):
            out[name] = hp.choice(path, [{option: _hp_tree(branch.params, f"{path}.{option}.")}
                                         for option, branch in node.options.items()])
        elif isinstance(node, Constant):
            out[name] = node.value
        elif isinstance(node, Categorical):
            out[name] = hp.choice(path, list(node.choices))
        elif isinstance(node, Int):
            lo, hi = node.low - 0.49, node.high + 0.49
            out[name] = (hp.qloguniform(path, math.log(lo), math.log(hi), 1) if node.log
                         else hp.quniform(path, lo, hi, 1))
        else:
            out[name] = (hp.loguniform(path, math.log(node.low), math.log(node.high)) if node.log
                         else hp.uniform(path, node.low, node.high))
    return out


def _fix_types(params: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in params.items():
        value = config[name]
        if isinstance(node, Choice):
            option, sub = next(iter(value.items()))
            out[name] = {option: _fix_types(node.options[option].params, sub)}
        elif isinstance(node, Int):
            out[name] = int(min(node.high, max(node.low, round(value))))
        elif isinstance(node, Float):
            out[name] = float(min(node.high, max(node.low, value)))
        else:
            out[name] = value
    return out


class Hyperopt:
    """hyperopt's TPE (``tpe.suggest`` with its defaults), driven one trial at a time."""

    def __init__(self, space: Space, seed: int) -> None:
        from hyperopt import Domain, Trials
        self.space, self.seed = space, seed
        self.trials = Trials()
        self.domain = Domain(lambda cfg: 0.0, _hp_tree(space.params, ""))
        self._pending: dict[int, Any] = {}

    def ask(self) -> dict[str, Any]:
        from hyperopt import base, tpe
        tid = self.trials.new_trial_ids(1)
        self.trials.refresh()
        seed = int(np.random.default_rng([self.seed, len(self.trials)]).integers(2 ** 31 - 1))
        docs = tpe.suggest(tid, self.domain, self.trials, seed)
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = self.trials._dynamic_trials[-1]
        spec = base.spec_from_misc(doc["misc"])
        config = _fix_types(self.space.params, self._evaluate(spec))
        self._pending[id(config)] = doc
        return config

    def _evaluate(self, spec: dict[str, Any]) -> dict[str, Any]:
        from hyperopt.pyll import rec_eval
        memo = self.domain.memo_from_config(spec)
        return rec_eval(self.domain.expr, memo=memo)

    def tell(self, config: dict[str, Any], loss: float) -> None:
        from hyperopt import STATUS_OK, JOB_STATE_DONE
        doc = self._pending.pop(id(config))
        doc["state"] = JOB_STATE_DONE
        doc["result"] = {"loss": loss, "status": STATUS_OK}
        self.trials.refresh()

    def preload(self, configs: list, losses: list) -> None:
        from hyperopt import rand
        for loss in losses:  # hyperopt's own random draws stand in for the given history
            tid = self.trials.new_trial_ids(1)
            docs = rand.suggest(tid, self.domain, self.trials, int(self.seed + len(self.trials)))
            for doc in docs:
                doc["state"], doc["result"] = 2, {"loss": loss, "status": "ok"}
            self.trials.insert_trial_docs(docs)
        self.trials.refresh()


def make(name: str, space: Space, seed: int) -> Any:
    """An adapter by name (one of :data:`OPTIMIZERS`)."""
    if name == "ours":
        return Ours(space, seed)
    if name == "ours_joint":
        return Ours(space, seed, joint_subtree=True)
    if name == "random":
        return Ours(space, seed, random=True)
    if name in ("optuna", "optuna_mv"):
        return Optuna(space, seed, multivariate=name == "optuna_mv")
    if name == "hyperopt":
        return Hyperopt(space, seed)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}.")

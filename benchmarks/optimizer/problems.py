"""Spaces and synthetic conditional problems for the optimizer benchmarks.

* :func:`cash_space`: a CASH-like space (~19 conditional parameters) used when
  ``search_spaces.default_space`` is not available; :func:`overhead_space` picks.
* :data:`PROBLEMS`: synthetic problems with a known optimum. Each is a ``Space`` plus a
  noise-free objective; the benchmark adds Gaussian noise to what the optimizer sees and
  measures simple regret on the noise-free value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from automl.space import Categorical, Choice, Constant, Float, Int, Space


def cash_space() -> Space:
    """A CASH-like space: preprocessing choices beside a choice of 5 models (19 leaves)."""
    return Space({
        "scale": Choice({"none": None, "standard": None,
                         "quantile": {"output_distribution": Categorical(["uniform", "normal"])}}),
        "select": Choice({"none": None, "fraction": {"fraction": Float(0.1, 1.0)}}),
        "model": Choice({
            "gbm": {"learning_rate": Float(0.01, 0.3, log=True), "num_leaves": Int(4, 256, log=True),
                    "subsample": Float(0.5, 1.0), "reg_lambda": Float(1e-8, 10.0, log=True)},
            "rf": {"max_features": Float(0.05, 1.0, log=True), "min_samples_leaf": Int(1, 20, log=True),
                   "criterion": Categorical(["gini", "entropy"]), "n_estimators": Constant(100)},
            "svc": {"C": Float(0.01, 1000.0, log=True),
                    "kernel": Choice({"rbf": {"gamma": Float(1e-4, 10.0, log=True)}, "linear": None,
                                      "poly": {"degree": Int(2, 3), "coef0": Float(0.0, 1.0)}})},
            "logreg": {"C": Float(1e-3, 1e3, log=True),
                       "penalty": Choice({"l2": None, "elasticnet": {"l1_ratio": Float(0.05, 0.95)}})},
            "knn": {"n_neighbors": Int(1, 100, log=True), "weights": Categorical(["uniform", "distance"])},
        }),
    })


def overhead_space() -> tuple[str, Space]:
    """The default classification space if it exists, else :func:`cash_space`."""
    try:
        import search_spaces
        return "search_spaces.default_space('binary')", search_spaces.default_space("binary")
    except (ImportError, AttributeError):
        return "benchmarks.optimizer.problems.cash_space()", cash_space()


# -- classic test functions on [0, 1]^d (rescaled inside) -----------------------------

def branin(u: np.ndarray) -> float:
    """Branin on [-5, 10] x [0, 15]; minimum 0.397887."""
    x, y = -5.0 + 15.0 * u[0], 15.0 * u[1]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5.0 / math.pi, 1.0 / (8 * math.pi)
    return (y - b * x * x + c * x - 6.0) ** 2 + 10.0 * (1 - t) * math.cos(x) + 10.0


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann3(u: np.ndarray) -> float:
    """Hartmann 3-D on [0, 1]^3; minimum -3.86278."""
    return float(-_H_ALPHA @ np.exp(-(_H3_A * (u - _H3_P) ** 2).sum(axis=1)))


def hartmann6(u: np.ndarray) -> float:
    """Hartmann 6-D on [0, 1]^6; minimum -3.32237."""
    return float(-_H_ALPHA @ np.exp(-(_H6_A * (u - _H6_P) ** 2).sum(axis=1)))


def rosenbrock(u: np.ndarray) -> float:
    """Rosenbrock on [-2, 2]^d; minimum 0 at (1, ..., 1)."""
    x = -2.0 + 4.0 * u
    return float(((1 - x[:-1]) ** 2 + 100.0 * (x[1:] - x[:-1] ** 2) ** 2).sum())


# -- problems ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """A space, a noise-free objective on its configurations, its optimum and noise."""

    name: str
    space: Space
    objective: Callable[[dict[str, Any]], float]
    optimum: float
    noise: float
    conditional: bool


def _branch(config: dict[str, Any], key: str) -> tuple[str, dict[str, Any]]:
    return next(iter(config[key].items()))


def _functions_objective(config: dict[str, Any]) -> float:
    name, p = _branch(config, "function")
    if name == "branin":  # offset 0.0, scaled so its range is comparable
        return (branin(np.array([p["x0"], p["x1"]])) - 0.397887) / 10.0
    if name == "hartmann3":
        return (hartmann3(np.array([p["x0"], p["x1"], p["x2"]])) + 3.86278) + 0.1
    if name == "rosenbrock":
        return math.log1p(rosenbrock(np.array([p["x0"], p["x1"], p["x2"]]))) / 3.0 + 0.2
    grid = np.array([p["k0"], p["k1"], p["k2"]], dtype=float)  # integer sphere, optimum at 7
    return float(((grid - 7) ** 2).sum()) / 100.0 + 0.3


def functions_problem() -> Problem:
    """A root choice between four classic functions with optimum values 0, 0.1, 0.2, 0.3."""
    unit = Float(0.0, 1.0)
    space = Space({"function": Choice({
        "branin": {"x0": unit, "x1": unit},
        "hartmann3": {"x0": unit, "x1": unit, "x2": unit},
        "rosenbrock": {"x0": unit, "x1": unit, "x2": unit},
        "int_sphere": {"k0": Int(0, 20), "k1": Int(0, 20), "k2": Int(0, 20)},
    })}, algorithm_key="function")
    return Problem("functions", space, _functions_objective, 0.0, 0.01, True)


def _nested_objective(config: dict[str, Any]) -> float:
    name, p = _branch(config, "model")
    if name == "kernel_machine":
        c = math.log10(p["C"])  # best C = 10
        kernel, q = _branch(p, "kernel")
        if kernel == "rbf":
            g = math.log10(q["gamma"])  # best gamma = 1e-2
            return 0.05 + 0.02 * (c - 1) ** 2 + 0.03 * (g + 2) ** 2 + 0.01 * (c - 1) * (g + 2)
        if kernel == "poly":
            return 0.12 + 0.02 * (c - 1) ** 2 + 0.04 * abs(q["degree"] - 3) + 0.05 * (q["coef0"] - 0.3) ** 2
        return 0.2 + 0.02 * (c - 1) ** 2
    if name == "trees":
        depth, leaf = p["max_depth"], math.log(p["min_leaf"])
        crit = {"gini": 0.0, "entropy": 0.02, "log_loss": 0.04}[p["criterion"]]
        return 0.08 + crit + 0.004 * (depth - 9) ** 2 + 0.02 * (leaf - 1.5) ** 2
    if name == "boosting":
        lr, n = math.log10(p["learning_rate"]), math.log10(p["n_rounds"])
        return 0.07 + 0.1 * (lr + n - 1.3) ** 2 + 0.02 * (n - 2.5) ** 2 + 0.2 * (p["subsample"] - 0.8) ** 2
    return 0.3 + 0.05 * abs(math.log10(p["alpha"]) + 3)


def nested_problem() -> Problem:
    """CASH-like: 4 'models', a nested kernel choice, ints, categoricals, log scales."""
    space = Space({
        "scaling": Choice({"none": None, "standard": None}),
        "model": Choice({
            "kernel_machine": {"C": Float(1e-3, 1e3, log=True), "kernel": Choice({
                "rbf": {"gamma": Float(1e-5, 10.0, log=True)}, "linear": None,
                "poly": {"degree": Int(2, 5), "coef0": Float(0.0, 1.0)}})},
            "trees": {"max_depth": Int(1, 30), "min_leaf": Int(1, 64, log=True),
                      "criterion": Categorical(["gini", "entropy", "log_loss"])},
            "boosting": {"learning_rate": Float(1e-3, 1.0, log=True),
                         "n_rounds": Int(10, 3000, log=True), "subsample": Float(0.3, 1.0)},
            "linear": {"alpha": Float(1e-7, 1.0, log=True)},
        }),
    })

    def objective(config: dict[str, Any]) -> float:
        penalty = 0.03 if (_branch(config, "scaling")[0] == "none"
                           and _branch(config, "model")[0] == "kernel_machine") else 0.0
        return _nested_objective(config) - 0.05 + penalty

    return Problem("nested", space, objective, 0.0, 0.005, True)


def _deep_objective(config: dict[str, Any]) -> float:
    family, p = _branch(config, "family")
    member, q = _branch(p, "member")
    base = {"a": 0.0, "b": 0.15}[family] + {"x": 0.0, "y": 0.05, "z": 0.1}[member]
    cat = {"red": 0.0, "green": 0.03, "blue": 0.06}[p["color"]]
    shape = sum((v - 0.3) ** 2 for k, v in sorted(q.items()) if isinstance(v, float))
    ints = sum(abs(v - 4) * 0.01 for v in q.values() if isinstance(v, int) and not isinstance(v, bool))
    return base + cat + shape + ints + 0.1 * (p["shift"] - 0.6) ** 2


def deep_problem() -> Problem:
    """Three levels of nesting; the best leaf needs the right path at every level."""
    members = {"x": {"u": Float(0.0, 1.0), "v": Float(0.0, 1.0), "n": Int(0, 10)},
               "y": {"u": Float(0.0, 1.0), "n": Int(0, 10)},
               "z": {"u": Float(0.0, 1.0), "v": Float(0.0, 1.0), "w": Float(0.0, 1.0)}}
    family = {"color": Categorical(["red", "green", "blue"]), "shift": Float(0.0, 1.0),
              "member": Choice(members)}
    space = Space({"family": Choice({"a": dict(family), "b": dict(family)})}, algorithm_key="family")
    return Problem("deep", space, _deep_objective, 0.0, 0.005, True)


def flat_problem() -> Problem:
    """Hartmann 6-D, no conditionality (control problem)."""
    space = Space({f"x{i}": Float(0.0, 1.0) for i in range(6)})

    def objective(config: dict[str, Any]) -> float:
        return hartmann6(np.array([config[f"x{i}"] for i in range(6)])) + 3.32237

    return Problem("hartmann6", space, objective, 0.0, 0.01, False)


PROBLEMS = {p.name: p for p in (functions_problem(), nested_problem(), deep_problem(), flat_problem())}

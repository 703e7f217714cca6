"""Overhead benchmark: milliseconds per suggestion after 100, 1,000 and 5,000 trials.

Each optimizer first receives a history of ``n`` random configurations of the default
classification space (``search_spaces.default_space("binary")``, or the CASH-like
fallback of :mod:`benchmarks.optimizer.problems` when it does not exist) with random
losses, untimed; then ``--repeats`` ask + tell steps are timed one by one and the median
is reported. hyperopt cannot import a foreign history, so it gets ``n`` of its own random
trials instead.

Run (from the repository root; a few minutes)::

    chrt --idle 0 python -m benchmarks.optimizer.overhead
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from benchmarks.optimizer.adapters import make
from benchmarks.optimizer.problems import overhead_space

SIZES = (100, 1000, 5000)
TIMED = ("ours", "optuna", "optuna_mv", "hyperopt")


def measure(name: str, space, n: int, repeats: int, seed: int = 0) -> tuple[float, float]:
    """Median CPU and wall-clock milliseconds of one ask + tell after ``n`` trials."""
    rng = np.random.default_rng(seed)
    configs = [space.sample(rng) for _ in range(n)]
    opt = make(name, space, seed)
    opt.preload(configs, [float(v) for v in rng.uniform(size=n)])
    cpu, wall = [], []
    for _ in range(repeats):
        start, start_wall = time.process_time(), time.perf_counter()
        config = opt.ask()
        opt.tell(config, float(rng.uniform()))
        cpu.append(time.process_time() - start)
        wall.append(time.perf_counter() - start_wall)
    return 1000.0 * float(np.median(cpu)), 1000.0 * float(np.median(wall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--optimizers", nargs="*", default=list(TIMED))
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings, in this script only
    label, space = overhead_space()
    n_leaves = sum(1 for _, node, _ in space.nodes())
    print(f"space: {label} ({n_leaves} nodes); cells: CPU / wall ms per ask + tell\n")
    print("| optimizer | " + " | ".join(f"{n} trials" for n in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for name in args.optimizers:
        cells = ["{:.2f} / {:.2f} ms".format(*measure(name, space, n, args.repeats))
                 for n in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

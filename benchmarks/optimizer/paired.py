"""Paired overhead A/B: two checkouts of our sampler in one process, step for step.

On a shared machine the run-to-run spread of ``overhead.py`` (about +-25% at load 2-3)
hides changes of a few percent. Here both samplers live in one process, get the same
history and the same losses, and take turns (the order flips every step), so both see
the same load; when the change under test leaves the draws bit-identical, step ``i`` of
both does the same work, and the median of the per-step ratios measures the change
itself. The script reports how many suggestions were identical (a check of that claim).

Run (from the repository root; each directory holds ``automl/``, ``benchmarks/`` and
``search_spaces/``, e.g. a ``git archive`` of a commit)::

    chrt --idle 0 python -m benchmarks.optimizer.paired /tmp/before . --trials 1000 --steps 300

With ``--after-trials`` the second sampler starts from another number of trials, so one
checkout against itself (``paired.py . . --trials 100 --after-trials 1000``) measures
how much of a step grows with the history (the suggestions then differ; compare the
ratio of totals).

Examples
--------
>>> summary(np.array([2.0, 4.0]), np.array([1.0, 4.0]))["ratio"]
0.75
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Any

import numpy as np

_PACKAGES = ("automl", "search_spaces", "benchmarks")


def load_sampler(root: str, n_trials: int, seed: int = 0) -> Any:
    """Our adapter imported from the checkout at ``root``, preloaded with ``n_trials``
    random configurations of the overhead space and random losses (as ``overhead.py``)."""
    for name in [m for m in sys.modules if m.split(".")[0] in _PACKAGES]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        problems = importlib.import_module("benchmarks.optimizer.problems")
        adapters = importlib.import_module("benchmarks.optimizer.adapters")
    finally:
        sys.path.remove(root)
    _, space = problems.overhead_space()
    rng = np.random.default_rng(seed)
    configs = [space.sample(rng) for _ in range(n_trials)]
    optimizer = adapters.make("ours", space, seed)
    optimizer.preload(configs, [float(v) for v in rng.uniform(size=n_trials)])
    return optimizer


def run_pairs(optimizers: list[Any], steps: int, seed: int = 1) -> tuple[np.ndarray, int]:
    """CPU milliseconds of each ask + tell, shape ``(2, steps)``, and the number of steps
    where both suggestions were equal. Each optimizer gets its own loss stream (same seed)."""
    streams = [np.random.default_rng(seed) for _ in optimizers]
    times = np.empty((len(optimizers), steps))
    same = 0
    for step in range(steps):
        order = range(len(optimizers)) if step % 2 == 0 else reversed(range(len(optimizers)))
        configs = {}
        for k in order:
            start = time.process_time()
            config = optimizers[k].ask()
            optimizers[k].tell(config, float(streams[k].uniform()))
            times[k, step] = 1000.0 * (time.process_time() - start)
            configs[k] = config
        same += configs[0] == configs[1]
    return times, same


def summary(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Medians of both, the median per-step ratio after / before, and the ratio of totals."""
    return {"before": float(np.median(before)), "after": float(np.median(after)),
            "ratio": float(np.median(after / before)), "total": float(after.sum() / before.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="directory of the reference checkout")
    parser.add_argument("after", help="directory of the checkout under test")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--after-trials", type=int, default=None,
                        help="trials preloaded into the second sampler (default: --trials)")
    args = parser.parse_args()
    after_trials = args.trials if args.after_trials is None else args.after_trials
    optimizers = [load_sampler(args.before, args.trials), load_sampler(args.after, after_trials)]
    times, same = run_pairs(optimizers, args.steps)
    s = summary(times[0], times[1])
    trials = f"{args.trials}" if after_trials == args.trials else f"{args.trials} vs {after_trials}"
    print(f"{trials} trials, {args.steps} paired steps, "
          f"identical suggestions {same}/{args.steps}")
    print(f"median CPU ms: before {s['before']:.2f}, after {s['after']:.2f}; "
          f"median per-step ratio after/before {s['ratio']:.3f}; ratio of totals {s['total']:.3f}")


if __name__ == "__main__":
    main()

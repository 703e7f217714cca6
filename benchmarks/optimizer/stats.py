"""Statistics of the quality traces that survive bimodal outcomes.

The median of the simple regret is fragile when the runs split into two groups (on
``nested``, runs that found the narrow optimum have a regret near 0.001, the others near
0.02, so the median jumps between them with the seed set). Next to it this module reports:

* the mean of ``log10`` of the regret with its standard error (regret floored at
  :data:`FLOOR`), which weighs how far each run got;
* the number of runs past a problem's landmark (:data:`EVENTS`: on ``nested`` the runs
  below the easy optimum's regret, which only the narrow optimum reaches; on
  ``functions`` the runs still above 0.2, stuck on a trap branch);
* the paired per-seed comparison with a reference optimizer (the same seed gives the
  same noise draws to every optimizer): the mean ``log10`` ratio of the regrets with its
  standard error, and the seeds won and lost.

Run (from the repository root, on the JSON that ``quality.py`` writes)::

    python -m benchmarks.optimizer.stats benchmarks/optimizer/quality.json --budgets 100 200

Examples
--------
>>> log_summary([[0.1, 0.01], [0.1, 0.001]], optimum=0.0, budget=2)
(-2.5, 0.5)
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from benchmarks.optimizer.problems import PROBLEMS

__all__ = ["EVENTS", "FLOOR", "final_regrets", "log_summary", "event_count", "paired", "report"]

#: Regrets are floored here before taking logs (noise-free values can reach the optimum).
FLOOR = 1e-6
#: Per problem: (what the count means, ">" or "<", threshold on the regret).
EVENTS = {
    "nested": ("found the narrow optimum", "<", 0.0185),
    "functions": ("stuck above 0.2 (a trap branch)", ">", 0.2),
}


def final_regrets(runs: list[list[float]], optimum: float, budget: int) -> np.ndarray:
    """Simple regret of each run after ``budget`` evaluations (runs shorter are skipped).

    Examples
    --------
    >>> final_regrets([[3.0, 1.0, 2.0], [0.5]], optimum=0.5, budget=2).tolist()
    [0.5]
    """
    return np.array([min(values[:budget]) - optimum for values in runs if len(values) >= budget])


def log_summary(runs: list[list[float]], optimum: float, budget: int) -> tuple[float, float]:
    """Mean of ``log10(max(regret, FLOOR))`` over the runs and its standard error."""
    logs = np.log10(np.maximum(final_regrets(runs, optimum, budget), FLOOR))
    if len(logs) < 2:
        raise ValueError(f"need at least 2 runs of {budget} evaluations; got {len(logs)}.")
    return float(logs.mean()), float(logs.std(ddof=1) / math.sqrt(len(logs)))


def event_count(runs: list[list[float]], problem: str, budget: int) -> int | None:
    """Runs past the problem's landmark (:data:`EVENTS`) after ``budget``; None if it has none.

    Examples
    --------
    >>> event_count([[0.01], [0.03], [0.001]], "nested", 1)
    2
    """
    if problem not in EVENTS:
        return None
    _, side, threshold = EVENTS[problem]
    regret = final_regrets(runs, PROBLEMS[problem].optimum, budget)
    return int((regret < threshold).sum() if side == "<" else (regret > threshold).sum())


def paired(runs: list[list[float]], reference: list[list[float]], optimum: float,
           budget: int) -> tuple[float, float, int, int]:
    """Per seed, ``log10(regret / reference regret)``: mean, standard error, wins, losses.

    Run ``i`` of both lists must come from the same seed (``quality.py`` stores runs in
    seed order). Negative means lower regret than the reference; "wins" are the seeds
    where ``runs`` is strictly lower.

    Examples
    --------
    >>> paired([[0.01], [0.1]], [[0.1], [0.1]], optimum=0.0, budget=1)
    (-0.5, 0.5, 1, 0)
    """
    if len(runs) != len(reference):
        raise ValueError(f"paired runs need the same seeds; got {len(runs)} and "
                         f"{len(reference)} runs. Compare traces of the same seed range.")
    a = np.log10(np.maximum(final_regrets(runs, optimum, budget), FLOOR))
    b = np.log10(np.maximum(final_regrets(reference, optimum, budget), FLOOR))
    diff = a - b
    return (float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff))),
            int((diff < 0).sum()), int((diff > 0).sum()))


def report(traces: dict[str, dict[str, list[list[float]]]], budgets: list[int],
           reference: str = "ours") -> str:
    """Markdown: per problem, optimizer and budget, the median, the mean log10 regret
    +- its standard error, the landmark count and the paired comparison with ``reference``."""
    lines = ["| problem | optimizer | budget | median [q1, q3] | mean log10 regret | landmark "
             f"| vs {reference}: mean log10 ratio, seeds better / worse |",
             "|---|---|---|---|---|---|---|"]
    for problem, by_opt in traces.items():
        optimum = PROBLEMS[problem].optimum
        for optimizer, runs in by_opt.items():
            for budget in budgets:
                regret = final_regrets(runs, optimum, budget)
                q1, med, q3 = np.percentile(regret, [25, 50, 75])
                mean, se = log_summary(runs, optimum, budget)
                count = event_count(runs, problem, budget)
                landmark = "-" if count is None else f"{count}/{len(regret)}"
                versus = "-"
                if optimizer != reference and reference in by_opt:
                    d, d_se, wins, losses = paired(runs, by_opt[reference], optimum, budget)
                    versus = f"{d:+.2f} +- {d_se:.2f}, {wins} / {losses}"
                lines.append(f"| {problem} | {optimizer} ({len(regret)}) | {budget} | "
                             f"{med:.4f} [{q1:.4f}, {q3:.4f}] | {mean:.2f} +- {se:.2f} | "
                             f"{landmark} | {versus} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", help="a JSON file written by benchmarks.optimizer.quality")
    parser.add_argument("--budgets", nargs="*", type=int, default=[100, 200])
    parser.add_argument("--reference", default="ours")
    args = parser.parse_args()
    print(report(json.loads(Path(args.traces).read_text()), args.budgets, args.reference))
    for problem, (meaning, side, threshold) in EVENTS.items():
        print(f"\nlandmark, {problem}: runs with regret {side} {threshold} ({meaning})")


if __name__ == "__main__":
    main()

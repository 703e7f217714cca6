"""Quality benchmark: simple regret after 25, 50, 100 and 200 evaluations.

For each synthetic problem of :mod:`benchmarks.optimizer.problems`, each optimizer and
each seed, run 200 ask/tell steps on the noisy objective and record the noise-free value
of every evaluated configuration. Simple regret after ``b`` evaluations is the best
noise-free value among the first ``b`` minus the known optimum. Prints median and
quartiles over seeds as a Markdown table and saves the raw traces as JSON.

Run (from the repository root; about 15 minutes on 2 shared cores)::

    chrt --idle 0 python -m benchmarks.optimizer.quality --seeds 20 --jobs 2

More seeds can be run in parts and merged in seed order (``--first-seed 40 --seeds 40``,
then ``--concat``); :mod:`benchmarks.optimizer.stats` adds statistics that do not jump
with the seed set when the runs split in two groups.
"""

from __future__ import annotations

import argparse
import json
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.optimizer.adapters import OPTIMIZERS, make
from benchmarks.optimizer.problems import PROBLEMS

BUDGETS = (25, 50, 100, 200)


def run_one(problem_name: str, optimizer: str, seed: int, n_evals: int) -> list[float]:
    """Noise-free values of the configurations one optimizer evaluates, in order."""
    warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings, in this worker only
    problem = PROBLEMS[problem_name]
    noise = np.random.default_rng([seed, 12345])
    opt = make(optimizer, problem.space, seed)
    values = []
    for _ in range(n_evals):
        config = opt.ask()
        value = problem.objective(config)
        values.append(value)
        opt.tell(config, value + problem.noise * float(noise.normal()))
    return values


def regrets(values: list[float], optimum: float) -> dict[int, float]:
    """Simple regret after each budget."""
    best = np.minimum.accumulate(np.asarray(values)) - optimum
    return {b: float(best[b - 1]) for b in BUDGETS if b <= len(best)}


def table(traces: dict[str, dict[str, list[list[float]]]]) -> str:
    """Markdown: one row per problem and optimizer, median [q1, q3] per budget."""
    lines = ["| problem | optimizer | " + " | ".join(f"{b} evals" for b in BUDGETS) + " |",
             "|---|---|" + "---|" * len(BUDGETS)]
    for problem_name, by_opt in traces.items():
        optimum = PROBLEMS[problem_name].optimum
        for optimizer, runs in by_opt.items():
            cells = []
            for b in BUDGETS:
                r = [regrets(v, optimum)[b] for v in runs if len(v) >= b]
                q1, med, q3 = np.percentile(r, [25, 50, 75]) if r else (np.nan,) * 3
                cells.append(f"{med:.4f} [{q1:.4f}, {q3:.4f}]" if r else "-")
            lines.append(f"| {problem_name} | {optimizer} ({len(runs)} seeds) | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def _order(item: tuple[str, list]) -> tuple[int, str]:
    """Table order: as in OPTIMIZERS, a tagged run ("ours@229bcef") beside its optimizer."""
    name = item[0]
    base = name.split("@")[0]
    return (OPTIMIZERS.index(base) if base in OPTIMIZERS else len(OPTIMIZERS), name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run are first-seed, ..., first-seed + seeds - 1")
    parser.add_argument("--evals", type=int, default=max(BUDGETS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--optimizers", nargs="*", default=list(OPTIMIZERS))
    parser.add_argument("--out", default=str(Path(__file__).with_name("quality.json")))
    parser.add_argument("--reuse", action="store_true",
                        help="keep traces already in --out for optimizers not re-run")
    parser.add_argument("--merge", nargs="*", default=[],
                        help="also keep the traces stored in these files (runs made apart)")
    parser.add_argument("--concat", nargs="*", default=[],
                        help="append these files' traces, in the order given, to those of the "
                             "same problem and optimizer (runs over disjoint seed ranges)")
    parser.add_argument("--tag", default="",
                        help="suffix of the stored names, e.g. '@229bcef' for an older checkout")
    args = parser.parse_args()
    out = Path(args.out)
    traces = json.loads(out.read_text()) if args.reuse and out.exists() else {}
    for path in args.merge:
        for problem, by_opt in json.loads(Path(path).read_text()).items():
            traces.setdefault(problem, {}).update(by_opt)
    for path in args.concat:
        for problem, by_opt in json.loads(Path(path).read_text()).items():
            for optimizer, runs in by_opt.items():
                traces.setdefault(problem, {}).setdefault(optimizer, []).extend(runs)
    jobs = [(p, o, s, args.evals) for p in args.problems for o in args.optimizers
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run_one, *zip(*jobs))) if jobs else []
    for p in args.problems:
        for o in args.optimizers:
            traces.setdefault(p, {})[o + args.tag] = [v for (pp, oo, _, _), v in zip(jobs, results)
                                           if (pp, oo) == (p, o)]
    out.write_text(json.dumps(traces))
    print(table({p: dict(sorted(traces[p].items(), key=_order)) for p in traces}))


if __name__ == "__main__":
    main()

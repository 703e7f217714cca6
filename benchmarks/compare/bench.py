"""Command line of the side-by-side benchmark (run it with the harness environment).

    PY=benchmarks/compare/.envs/harness/bin/python
    $PY benchmarks/compare/bench.py run --budget 60 --datasets all --systems all
    $PY benchmarks/compare/bench.py report --budget 60

See benchmarks/compare/README.md for the whole procedure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from amlbench.data import load_manifest  # noqa: E402
from amlbench.runner import plan, run_all  # noqa: E402
from amlbench.systems import SYSTEMS  # noqa: E402

MAIN_SYSTEMS = [name for name, system in SYSTEMS.items() if not system.ablation]


def pick(value: str, known: list, what: str, default: list | None = None) -> list:
    """Parse a comma-separated selection ('all' for ``default``, else everything known)."""
    if value == "all":
        return list(known if default is None else default)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown}; choose from: {', '.join(known)}")
    return chosen


def results_path(args: argparse.Namespace) -> Path:
    """The results file: ``--results`` or ``results/results_<budget>s.jsonl``."""
    return Path(args.results or HERE / "results" / f"results_{args.budget:g}s.jsonl")


def cmd_run(args: argparse.Namespace) -> None:
    datasets = load_manifest()
    names = pick(args.datasets, sorted(datasets, key=lambda d: datasets[d].n_rows), "datasets")
    systems = pick(args.systems, list(SYSTEMS), "systems", MAIN_SYSTEMS)
    splits = list(range(args.splits))
    jobs = plan(systems, {n: datasets[n] for n in names}, splits, args.budget)
    ran = run_all(jobs, datasets, results_path(args), cores=args.cores,
                  kill_factor=args.kill_factor, kill_margin=args.kill_margin,
                  retry_failed=args.retry_failed, keep=args.keep, commit=args.commit)
    print(f"ran {ran} of {len(jobs)} jobs; results in {results_path(args)}")


def cmd_report(args: argparse.Namespace) -> None:
    from amlbench.report import write_report

    out = Path(args.out or HERE / "results" / f"report_{args.budget:g}s.md")
    if args.plot:
        plot = Path(args.plot)
    elif args.out:   # a report elsewhere keeps its plot beside it, not over the committed one
        plot = out.with_suffix(".png")
    else:
        plot = HERE / "results" / f"normalized_score_{args.budget:g}s.png"
    systems = None if args.systems == "all" else pick(args.systems, list(SYSTEMS), "systems")
    text = write_report(results_path(args), out, plot, args.budget, systems)
    print(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the jobs not yet in the results file")
    run.add_argument("--budget", type=float, default=60.0, help="seconds per fit")
    run.add_argument("--datasets", default="all", help="comma-separated names or 'all'")
    run.add_argument("--systems", default="all", help="comma-separated names or 'all'")
    run.add_argument("--splits", type=int, default=1, help="number of splits (0..N-1)")
    run.add_argument("--cores", type=int, default=2)
    run.add_argument("--kill-factor", type=float, default=3.0,
                     help="hard kill after budget x factor + margin seconds")
    run.add_argument("--kill-margin", type=float, default=60.0)
    run.add_argument("--retry-failed", action="store_true",
                     help="rerun jobs recorded as error/timeout (the newest record counts)")
    run.add_argument("--keep", action="store_true", help="keep the job folders in .work/")
    run.add_argument("--results", help="results file (JSON lines)")
    run.add_argument("--commit", help="commit of the code installed in ours' environment, "
                     "recorded as repo_commit (default: this checkout's HEAD)")
    run.set_defaults(func=cmd_run)
    rep = sub.add_parser("report", help="tables, ranks, normalized scores and the plot")
    rep.add_argument("--budget", type=float, default=60.0)
    rep.add_argument("--results", help="results file (JSON lines)")
    rep.add_argument("--systems", default="all",
                     help="comma-separated systems to compare (the prior is always kept)")
    rep.add_argument("--out", help="Markdown file for the tables")
    rep.add_argument("--plot", help="PNG file for the plot (default: beside --out, else "
                     "results/normalized_score_<budget>s.png)")
    rep.set_defaults(func=cmd_report)
    return p


def main(argv: list | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

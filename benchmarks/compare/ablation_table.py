"""Issue 9's ablation table: ours against ours with one mechanism switched off.

Reads the ablation variants' rows from the ablation file, and ours' rows (``automl``) and
the prior's from it too when it has them (a run of all four on other splits), else from
the main results file, and prints per dataset the holdout score of each
variant, then per variant the mean normalized score (0 = prior, 1 = the best variant on
that dataset), the mean fit time over the budget and the number of datasets where the
variant is worse than ours in full.

    PY=benchmarks/compare/.envs/harness/bin/python
    $PY benchmarks/compare/ablation_table.py --budget 60
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from amlbench.report import fmt, load_results, normalize  # noqa: E402
from amlbench.scoring import HIGHER_IS_BETTER  # noqa: E402

VARIANTS = ["automl", "automl_no_portfolio", "automl_no_racing", "automl_no_ensemble"]


def ablation_frame(main: Path, ablation: Path, budget: float) -> pd.DataFrame:
    """Rows of ours, its variants and the prior on the datasets the variants ran on."""
    variants = load_results(ablation, budget)
    base = load_results(main, budget)
    own = set(variants["system"])      # ours / the prior run into the ablation file win
    base = base[base["system"].isin({"automl", "prior"} - own)
                & base["dataset"].isin(set(variants["dataset"]))
                & base["split"].isin(set(variants["split"]))]
    return normalize(pd.concat([base, variants], ignore_index=True))


def tables(df: pd.DataFrame, budget: float) -> str:
    """The per-dataset score table and the per-variant summary, as Markdown."""
    scores = df[df["system"].isin(VARIANTS)].pivot_table(
        index=["dataset", "metric"], columns="system", values="filled")
    present = [name for name in VARIANTS if name in scores.columns]
    scores = scores[present]
    sign = pd.Series([1.0 if HIGHER_IS_BETTER[m] else -1.0
                      for m in scores.index.get_level_values("metric")], index=scores.index)
    gain = scores.sub(scores["automl"], axis=0).mul(sign, axis=0)   # > 0: better than full
    worse = (gain < 0).sum()
    ours = df[df["system"].isin(VARIANTS)]
    summary = ours.groupby("system").agg(
        mean_normalized=("normalized", "mean"), mean_rank=("rank", "mean"),
        mean_fit_over_budget=("fit_time", lambda s: float((s / budget).mean())),
        datasets=("dataset", "nunique")).reindex(present)
    summary["worse_than_full"] = pd.Series(worse)
    return (fmt(scores.round(4)) + "\n\n"
            + fmt(summary.round(4)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--ablation", type=Path, default=None)
    args = parser.parse_args()
    main_file = args.results or HERE / "results" / f"results_{args.budget:g}s.jsonl"
    ablation = args.ablation or HERE / "results" / f"ablation_{args.budget:g}s.jsonl"
    print(tables(ablation_frame(main_file, ablation, args.budget), args.budget))


if __name__ == "__main__":
    main()

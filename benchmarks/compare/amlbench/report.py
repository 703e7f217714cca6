"""Per-dataset tables, mean rank, mean normalized score, budget overruns, and the plot.

Normalized score on one (dataset, split): 0 = the class-prior predictor, 1 = the best
system there; for log loss the loss is used the same way, ``(prior - loss) / (prior -
best)``. A job that failed or was killed counts as the prior (normalized 0) for ranks and
means, as in the AutoML Benchmark; the tables still show it as failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from amlbench.scoring import HIGHER_IS_BETTER
from amlbench.systems import SYSTEMS

KEY = ["system", "dataset", "split", "budget"]


def load_results(path: Path, budget: float | None = None) -> pd.DataFrame:
    """The newest record of every job in a JSON-lines file (optionally one budget)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no results file at {path}; run 'bench.py run' first")
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    df = pd.DataFrame(rows).drop_duplicates(subset=KEY, keep="last")
    if budget is not None:
        df = df[df["budget"] == float(budget)]
    return df.reset_index(drop=True)


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``filled`` (score, failures replaced by the prior's), ``normalized`` and
    ``rank`` per (dataset, split). Needs the prior's record on each (dataset, split).

    Examples
    --------
    >>> df = pd.DataFrame({"system": ["prior", "a", "b"], "dataset": "d", "split": 0,
    ...     "metric": "roc_auc", "status": ["ok", "ok", "error"], "score": [0.5, 0.9, None]})
    >>> normalize(df)["normalized"].tolist()
    [0.0, 1.0, 0.0]
    """
    parts = []
    for _, grp in df.groupby(["dataset", "split"], sort=False):
        grp = grp.copy()
        prior = grp.loc[(grp["system"] == "prior") & (grp["status"] == "ok"), "score"]
        if prior.empty:
            continue
        base = float(prior.iloc[0])
        grp["filled"] = np.where(grp["status"] == "ok", grp["score"].astype(float), base)
        sign = 1.0 if HIGHER_IS_BETTER[grp["metric"].iloc[0]] else -1.0
        gain = sign * (grp["filled"] - base)
        top = gain.max()
        grp["normalized"] = gain / top if top > 0 else 0.0
        parts.append(grp)
    return rank(pd.concat(parts, ignore_index=True)) if parts else df.iloc[0:0]


def rank(df: pd.DataFrame) -> pd.DataFrame:
    """(Re)compute ``rank`` per (dataset, split) among the systems present (1 = best;
    ties share the average rank), from the failure-filled scores."""
    sign = df["metric"].map(HIGHER_IS_BETTER).map({True: -1.0, False: 1.0})
    df = df.assign(_key=sign * df["filled"])
    df["rank"] = df.groupby(["dataset", "split"])["_key"].rank(method="average")
    return df.drop(columns="_key")


def complete_datasets(df: pd.DataFrame, systems: list) -> list:
    """Datasets on which every listed system has a record on every split run there."""
    counts = df.groupby("dataset")["system"].nunique()
    return sorted(d for d, n in counts.items() if n == len(systems))


def dataset_table(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One dataset: score, normalized score, rank, fit time, overrun, memory, status."""
    d = df[df["dataset"] == dataset]
    agg = d.groupby("system").agg(
        score=("score", "mean"), normalized=("normalized", "mean"), rank=("rank", "mean"),
        fit_s=("fit_time", "mean"), overrun=("overrun", "max"),
        wall_s=("wall_time", "mean"), peak_mb=("peak_rss_mb", "max"),
        status=("status", lambda s: ",".join(sorted(set(s)))),
    )
    return agg.sort_values("rank")


def summary_table(df: pd.DataFrame, datasets: list) -> pd.DataFrame:
    """Per system over ``datasets``: mean rank, mean normalized score, failures, and
    how far fit times went over the budget."""
    d = df[df["dataset"].isin(datasets)]
    per_ds = d.groupby(["system", "dataset"]).agg(rank=("rank", "mean"),
                                                 normalized=("normalized", "mean"))
    out = per_ds.groupby("system").agg(mean_rank=("rank", "mean"),
                                       mean_normalized=("normalized", "mean"),
                                       datasets=("rank", "size"))
    ratio = d["fit_time"] / d["budget"]
    d = d.assign(ratio=ratio)
    out["failed"] = d.groupby("system")["status"].apply(lambda s: int((s != "ok").sum()))
    out["median_fit/budget"] = d.groupby("system")["ratio"].median()
    out["max_fit/budget"] = d.groupby("system")["ratio"].max()
    out["over_10pct"] = d.groupby("system")["ratio"].apply(lambda r: int((r > 1.1).sum()))
    return out.sort_values("mean_rank")


def gap_table(df: pd.DataFrame, ours: str = "automl") -> pd.DataFrame:
    """Per dataset: our score, the best other system and its score, and our normalized
    score minus theirs (negative = we trail), sorted from the largest loss."""
    rows = []
    for dataset, d in df.groupby("dataset"):
        per = d.groupby("system").agg(score=("score", "mean"), norm=("normalized", "mean"),
                                      status=("status", "first"))
        if ours not in per.index or len(per) < 2:
            continue
        others = per.drop(index=ours).sort_values("norm", ascending=False)
        best = others.index[0]
        rows.append({"dataset": dataset, "metric": d["metric"].iloc[0],
                     "ours": per.loc[ours, "score"], "ours_status": per.loc[ours, "status"],
                     "best_other": best, "their_score": others.loc[best, "score"],
                     "norm_gap": per.loc[ours, "norm"] - others.loc[best, "norm"]})
    return pd.DataFrame(rows).set_index("dataset").sort_values("norm_gap")


def plot_normalized(df: pd.DataFrame, datasets: list, path: Path, budget: float) -> None:
    """Normalized score per system: one dot per dataset (a red x where it failed),
    a bar at the mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = df[df["dataset"].isin(datasets)].assign(failed=lambda x: x["status"] != "ok")
    per_ds = d.groupby(["system", "dataset"]).agg(normalized=("normalized", "mean"),
                                                 failed=("failed", "all")).reset_index()
    order = per_ds.groupby("system")["normalized"].mean().sort_values().index.tolist()
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(order) + 1.5))
    for i, system in enumerate(order):
        rows = per_ds[per_ds["system"] == system]
        vals = rows["normalized"].clip(lower=-0.5).to_numpy()
        y = i + (np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else np.zeros(1))
        ok = ~rows["failed"].to_numpy()
        ax.scatter(vals[ok], y[ok], s=14, alpha=0.6)
        ax.scatter(vals[~ok], y[~ok], s=24, marker="x", color="red")
        ax.plot([rows["normalized"].mean()] * 2, [i - 0.3, i + 0.3], color="black", lw=2)
    ax.set_yticks(range(len(order)), order)
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("normalized score (0 = class prior, 1 = best system; below -0.5 clipped)")
    ax.set_title(f"{len(datasets)} datasets, {budget:g} s budget, 2 cores "
                 "(bar = mean, red x = failed, counted as 0)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no extra dependency)."""
    df = df.reset_index()
    cells = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
             for row in df.itertuples(index=False)]
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(r) + " |" for r in cells])


def write_report(results: Path, out: Path, plot: Path, budget: float,
                 systems: list | None = None) -> str:
    """Build the Markdown report (and the plot) for one budget; return its text.

    With ``systems``, only those (and the prior) are tabulated and ranked, but normalized
    scores still use the best of every system run on the dataset."""
    df = normalize(load_results(results, budget))  # best = best of every system run
    if systems:
        df = rank(df[df["system"].isin(set(systems) | {"prior"})].copy())
    systems = sorted(df["system"].unique(), key=list(SYSTEMS).index)
    full = complete_datasets(df, systems)
    lines = [f"# Results at a {budget:g} s budget", "",
             f"Systems: {', '.join(systems)}. Datasets with every system: {len(full)} "
             f"of {df['dataset'].nunique()}.", "", "## Summary (complete datasets)", "",
             fmt(summary_table(df, full)) if full else "(no complete dataset yet)", ""]
    if "automl" in systems:
        lines += ["## automl against the best other system, per dataset", "",
                  fmt(gap_table(df)), ""]
    for dataset in sorted(df["dataset"].unique()):
        metric = df.loc[df["dataset"] == dataset, "metric"].iloc[0]
        lines += [f"## {dataset} ({metric})", "", fmt(dataset_table(df, dataset)), ""]
    text = "\n".join(lines)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    if full:
        plot_normalized(df, full, Path(plot), budget)
    return text

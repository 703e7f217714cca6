"""Scoring and the report's normalization, ranks and overrun figures."""

import json

import numpy as np
import pandas as pd
import pytest

from amlbench.report import complete_datasets, normalize, summary_table, write_report
from amlbench.scoring import score


def test_score_uses_the_second_class_as_positive():
    y = np.array(["neg", "pos", "pos", "neg"])
    p = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.1, 0.9]])
    assert score("roc_auc", y, p, ["neg", "pos"]) == pytest.approx(0.5)
    assert score("roc_auc", y, p[:, ::-1], ["neg", "pos"]) == pytest.approx(0.5)
    assert score("roc_auc", y, np.array([[.9, .1], [.2, .8], [.3, .7], [.6, .4]]),
                 ["neg", "pos"]) == 1.0


def test_log_loss_is_finite_for_a_hard_zero():
    y = np.array(["a", "b", "c"])
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    value = score("log_loss", y, p, ["a", "b", "c"])
    assert np.isfinite(value) and value > 10


@pytest.mark.parametrize("bad", [np.ones((3, 3)), np.full((4, 2), np.nan)])
def test_score_rejects_malformed_probabilities(bad):
    with pytest.raises(ValueError, match="probabilities"):
        score("roc_auc", np.array(["a", "b", "a", "b"]), bad, ["a", "b"])


def records(metric: str, scores: dict, dataset: str = "d") -> list:
    return [{"system": s, "dataset": dataset, "split": 0, "budget": 60.0, "metric": metric,
             "status": "ok" if v is not None else "timeout", "score": v,
             "fit_time": None if v is None else 20.0 + i * 30, "wall_time": 1.0,
             "peak_rss_mb": 1.0, "overrun": None if v is None else (20.0 + i * 30) / 60}
            for i, (s, v) in enumerate(scores.items())]


def test_log_loss_normalization_uses_the_loss_the_same_way():
    df = normalize(pd.DataFrame(records("log_loss", {"prior": 1.0, "a": 0.2, "b": 0.6,
                                                     "c": None})))
    got = dict(zip(df["system"], df["normalized"]))
    assert got == pytest.approx({"prior": 0.0, "a": 1.0, "b": 0.5, "c": 0.0})
    ranks = dict(zip(df["system"], df["rank"]))
    assert ranks["a"] == 1 and ranks["b"] == 2 and ranks["prior"] == ranks["c"] == 3.5


def test_summary_counts_failures_and_overruns():
    rows = records("roc_auc", {"prior": 0.5, "a": 0.9, "b": 0.7, "c": None})
    rows += records("roc_auc", {"prior": 0.5, "a": 0.8}, dataset="partial")
    df = normalize(pd.DataFrame(rows))
    full = complete_datasets(df, ["prior", "a", "b", "c"])
    assert full == ["d"]
    table = summary_table(df, full)
    assert table.loc["c", "failed"] == 1 and table.loc["a", "failed"] == 0
    assert table.loc["b", "max_fit/budget"] == pytest.approx(80 / 60)
    assert table.loc["b", "over_10pct"] == 1 and table.loc["a", "over_10pct"] == 0
    assert table.index[0] == "a"


def test_write_report_keeps_the_newest_record_and_draws_the_plot(tmp_path):
    pytest.importorskip("matplotlib")
    rows = records("roc_auc", {"prior": 0.5, "automl": None, "flaml": 0.8})
    rows.append({**rows[1], "status": "ok", "score": 0.9, "fit_time": 59.0})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = write_report(path, tmp_path / "r.md", tmp_path / "p.png", 60)
    assert "| automl | 1 | 1 |" in text
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_a_subset_report_ranks_within_but_normalizes_against_every_system(tmp_path):
    rows = records("roc_auc", {"prior": 0.5, "automl": 0.9, "flaml": 0.7})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = write_report(path, tmp_path / "r.md", tmp_path / "p.png", 60, ["flaml"])
    assert "automl" not in text.split("## d")[0]
    assert "| flaml | 1 | 0.5 |" in text  # rank 1 of the subset, yet half of the best


def test_a_report_written_elsewhere_keeps_its_plot_beside_it(tmp_path):
    pytest.importorskip("matplotlib")
    import argparse

    import bench

    committed = bench.HERE / "results" / "normalized_score_60s.png"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    rows = records("roc_auc", {"prior": 0.5, "automl": 0.9, "flaml": 0.8})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    bench.cmd_report(argparse.Namespace(budget=60.0, results=str(path), systems="all",
                                        out=str(tmp_path / "r.md"), plot=None))
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert (committed.stat().st_mtime_ns if committed.exists() else None) == before

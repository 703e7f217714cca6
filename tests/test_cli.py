"""The `automl` command line (automl/cli.py): the happy path and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from automl.cli import EXIT_USAGE, main


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "row": np.arange(n), "x": rng.normal(size=n), "c": rng.choice(["p", "q", "r"], size=n),
    })
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    frame["target"] = np.where(frame["x"].fillna(0) + (frame["c"] == "p") > 0.3, "hi", "lo")
    frame.iloc[:150].to_csv(folder / "train.csv", index=False)
    frame.iloc[150:].drop(columns="target").to_csv(folder / "test.csv", index=False)
    frame.iloc[:20].assign(target="only").to_csv(folder / "one_class.csv", index=False)
    frame.iloc[150:].drop(columns=["target", "c"]).to_csv(folder / "test_missing.csv", index=False)
    (folder / "broken.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x01")
    return folder


@pytest.fixture(scope="module")
def model_path(csvs):
    path = csvs / "model.joblib"
    code = main(["fit", str(csvs / "train.csv"), "--target", "target", "--id-column", "row",
                 "--n-trials", "3", "--cv", "3", "--quiet", "--output", str(path)])
    assert code == 0
    return path


def test_fit_predict_show_export(csvs, model_path, capsys):
    sub = csvs / "submission.csv"
    assert main(["predict", str(model_path), str(csvs / "test.csv"), "--output", str(sub)]) == 0
    out = pd.read_csv(sub)
    assert list(out.columns) == ["row", "target"] and len(out) == 50
    assert set(out["target"]) <= {"hi", "lo"}
    assert main(["predict", str(model_path), str(csvs / "test.csv"), "--proba",
                 "--output", str(sub)]) == 0
    proba = pd.read_csv(sub)
    assert list(proba.columns) == ["row", "hi", "lo"]
    np.testing.assert_allclose(proba[["hi", "lo"]].sum(axis=1), 1.0)
    capsys.readouterr()
    assert main(["show", str(model_path)]) == 0
    shown = capsys.readouterr().out
    assert "best CV roc_auc" in shown and "leaderboard" in shown
    script = csvs / "pipe.py"
    assert main(["export", str(model_path), "--python", str(script)]) == 0
    run = subprocess.run([sys.executable, str(script), str(csvs / "train.csv"),
                          str(csvs / "test.csv")], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[0] == "row,target"


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "{d}/nope.csv", "--target", "target"], "not found"),
    (["fit", "{d}/train.csv", "--target", "missing"], "target column 'missing' not found"),
    (["fit", "{d}/one_class.csv", "--target", "target"], "single class"),
    (["fit", "{d}/broken.csv", "--target", "target"], "cannot read"),
    (["predict", "{d}/model.joblib", "{d}/test_missing.csv"], "missing: - c"),
    (["predict", "{d}/nope.joblib", "{d}/test.csv"], "model file not found"),
    (["predict", "{d}/train.csv", "{d}/test.csv"], "not"),
])
def test_bad_input_gives_one_line_and_exit_2(csvs, model_path, capsys, argv, fragment):
    code = main([a.format(d=csvs) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_USAGE
    assert len(err) == 1 and err[0].startswith("automl: error:") and fragment in err[0]
    assert "Traceback" not in err[0]


def test_console_entry_point_runs(csvs):
    run = subprocess.run([sys.executable, "-m", "automl.cli", "fit", str(csvs / "nope.csv"),
                          "--target", "t"], capture_output=True, text=True)
    assert run.returncode == EXIT_USAGE
    assert run.stderr.strip().splitlines() == [f"automl: error: training file not found: "
                                               f"{csvs / 'nope.csv'}"]

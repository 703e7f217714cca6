"""Export (standalone Python), save/load and metadata (automl/export.py, automl/persist.py)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl import AutoClassifier, AutoRegressor
from automl.export import pipeline_source
from automl.persist import VersionMismatchWarning, load, read_metadata, save

# Running a script with `automl` made unimportable proves the script does not need it.
_NO_AUTOML = "import runpy, sys; sys.modules['automl'] = None; sys.argv = sys.argv[1:]; " \
             "runpy.run_path(sys.argv[0], run_name='__main__')"


def mixed_frame(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(n),
        "num": rng.normal(size=n),
        "skew": rng.exponential(size=n),
        "cat": rng.choice(["a", "b", "c", None], size=n),
        "flag": rng.random(n) > 0.5,
    })
    frame.loc[rng.random(n) < 0.1, "num"] = np.nan
    logit = frame["num"].fillna(0) + (frame["cat"] == "a") * 1.5 - frame["skew"] * 0.3
    target = np.where(logit + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return frame, pd.Series(target, name="label")


@pytest.fixture(scope="module")
def fitted_classifier() -> tuple[AutoClassifier, pd.DataFrame, pd.Series]:
    X, y = mixed_frame()
    clf = AutoClassifier(time_budget=None, n_trials=4, cv=3, include=["logreg", "lightgbm"],
                         random_state=0).fit(X.drop(columns="id"), y)
    return clf, X, y


def test_pipeline_source_rebuilds_an_equal_pipeline():
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", Pipeline([("imp", SimpleImputer(add_indicator=True)),
                              ("scale", StandardScaler())]), ["a", "b"]),
            ("cat", OneHotEncoder(handle_unknown="ignore", max_categories=20,
                                  dtype=np.float32), ["c"]),
        ])),
        ("model", __import__("lightgbm").LGBMClassifier(n_estimators=7, random_state=3,
                                                          verbose=-1)),
    ])
    imports, expression, inline = pipeline_source(pipe)
    namespace: dict = {}
    exec("\n".join(imports) + f"\nobj = {expression}", namespace)
    assert repr(namespace["obj"]) == repr(pipe)
    assert namespace["obj"].get_params()["model__random_state"] == 3
    assert inline == []


def test_pipeline_source_refuses_unknown_objects():
    with pytest.raises(TypeError, match="Cannot export"):
        pipeline_source(StandardScaler().set_params(copy=object()))


def test_exported_script_reproduces_predictions_without_automl(fitted_classifier, tmp_path):
    clf, X, y = fitted_classifier
    train = X.assign(label=y)
    train.iloc[:180].to_csv(tmp_path / "train.csv", index=False)
    test = X.iloc[180:]
    test.to_csv(tmp_path / "test.csv", index=False)
    source = clf.export_python(tmp_path / "pipe.py", target="label", id_column="id")
    assert "import automl" not in source and "from automl" not in source
    subprocess.run([sys.executable, "-c", _NO_AUTOML, str(tmp_path / "pipe.py"),
                    str(tmp_path / "train.csv"), str(tmp_path / "test.csv"),
                    str(tmp_path / "out.csv")], check=True, capture_output=True, text=True,
                   cwd=tmp_path)
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "label"]
    # The script refits on the first 180 rows; compare with the same refit in-process.
    from sklearn.base import clone
    reference = clone(clf.model_).fit(
        clf._features(X.iloc[:180].drop(columns="id")),
        pd.Series(y.iloc[:180]).map({c: i for i, c in enumerate(clf.classes_)}).to_numpy())
    expected = clf.classes_[reference.predict(clf._features(test.drop(columns="id")))]
    np.testing.assert_array_equal(out["label"].to_numpy(), expected)
    np.testing.assert_array_equal(out["id"].to_numpy(), test["id"].to_numpy())


def test_save_and_load_in_a_new_process_give_identical_probabilities(fitted_classifier, tmp_path):
    clf, X, _ = fitted_classifier
    path = save(clf, tmp_path / "model.joblib")
    features = X.drop(columns="id")
    np.save(tmp_path / "expected.npy", clf.predict_proba(features))
    features.to_pickle(tmp_path / "X.pkl")
    code = textwrap.dedent(f"""
        import numpy as np, pandas as pd, warnings
        from automl.persist import load
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = load({str(path)!r})
        got = model.predict_proba(pd.read_pickle({str(tmp_path / 'X.pkl')!r}))
        np.testing.assert_array_equal(got, np.load({str(tmp_path / 'expected.npy')!r}))
        print("same")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "same"


def test_metadata_describes_the_model(fitted_classifier, tmp_path):
    clf, _, _ = fitted_classifier
    meta = read_metadata(save(clf, tmp_path / "m.joblib"))
    assert meta["libraries"]["scikit-learn"] and meta["python"]
    model = meta["model"]
    assert model["metric"] == "roc_auc" and model["best_score"] == clf.best_score_
    assert model["best_config"] == clf.best_config_
    assert model["space"]["params"].keys() == clf.search_space_.to_dict()["params"].keys()
    assert [c["name"] for c in model["schema"]["columns"]] == ["num", "skew", "cat", "flag"]


def test_loading_under_other_versions_warns(fitted_classifier, tmp_path):
    import joblib

    clf, _, _ = fitted_classifier
    path = save(clf, tmp_path / "m.joblib")
    payload = joblib.load(path)
    payload["metadata"]["libraries"]["scikit-learn"] = "0.0.1"
    joblib.dump(payload, path)
    with pytest.warns(VersionMismatchWarning, match="scikit-learn 0.0.1 ->"):
        load(path)


def test_load_refuses_foreign_files(tmp_path):
    (tmp_path / "x.joblib").write_bytes(pickle.dumps({"some": "dict"}))
    with pytest.raises(ValueError, match="not written by automl.save"):
        load(tmp_path / "x.joblib")
    with pytest.raises(FileNotFoundError, match="No model file"):
        load(tmp_path / "missing.joblib")


def test_regressor_exports_and_reloads(tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["u", "v"], size=150)})
    y = X["a"] * 2 + (X["b"] == "u") + rng.normal(scale=0.1, size=150)
    reg = AutoRegressor(time_budget=None, n_trials=3, cv=3, include=["ridge"],
                        random_state=0).fit(X, y)
    X.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    X.to_csv(tmp_path / "test.csv", index=False)
    reg.export_python(tmp_path / "pipe.py", target="y")
    subprocess.run([sys.executable, "-c", _NO_AUTOML, str(tmp_path / "pipe.py"),
                    str(tmp_path / "train.csv"), str(tmp_path / "test.csv"),
                    str(tmp_path / "out.csv")], check=True, capture_output=True, cwd=tmp_path)
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["y"].to_numpy(), reg.predict(X), rtol=1e-9, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VersionMismatchWarning)
        again = load(save(reg, tmp_path / "r.joblib"))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_an_exported_ensemble_runs_without_automl(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline

    from automl.ensemble import WeightedEnsembleClassifier
    from automl.export import write_script

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = np.where(X["a"] + rng.normal(scale=0.5, size=120) > 0, "pos", "neg")
    codes = (y == "pos").astype(int)
    members = [make_pipeline(StandardScaler(), LogisticRegression()).fit(X, codes),
               make_pipeline(GaussianNB()).fit(X, codes)]
    ensemble = WeightedEnsembleClassifier.from_fitted(members, [0.7, 0.3])
    X.assign(t=y).to_csv(tmp_path / "train.csv", index=False)
    X.to_csv(tmp_path / "test.csv", index=False)
    source = write_script(str(tmp_path / "ens.py"), ensemble, target="t",
                          columns=[("a", "float64"), ("b", "float64")], classes=["neg", "pos"])
    assert "class WeightedEnsembleClassifier" in source
    subprocess.run([sys.executable, "-c", _NO_AUTOML, str(tmp_path / "ens.py"),
                    str(tmp_path / "train.csv"), str(tmp_path / "test.csv"),
                    str(tmp_path / "out.csv")], check=True, capture_output=True, cwd=tmp_path)
    expected = np.array(["neg", "pos"])[ensemble.predict(X)]
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "out.csv")["t"].to_numpy(), expected)

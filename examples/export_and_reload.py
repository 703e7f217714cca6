"""Fit, save, reload in a fresh process, export a standalone script, and check all agree.

    python examples/export_and_reload.py [TIME_BUDGET_SECONDS]     (default 30)

Shows the three ways to take a model out of automl:

1. ``automl.save`` / ``automl.load``: the whole fitted estimator plus metadata (library
   versions, search space, best configuration, metric, CV score, data schema). Loading
   unpickles, which runs code: load only files you trust.
2. ``automl.persist.save_skops``: the best pipeline in the skops format, which refuses to
   load types you have not approved (``pip install "automl[safe]"``).
3. ``export_python``: a standalone script that rebuilds the model with scikit-learn,
   LightGBM and XGBoost only, fits it on a CSV and writes predictions.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import automl
from automl import AutoClassifier

DATA = Path(__file__).resolve().parent / "data"


def main(budget: float) -> None:
    train = pd.read_csv(DATA / "credit_train.csv")
    test = pd.read_csv(DATA / "credit_test.csv")
    y = train.pop("Status")
    clf = AutoClassifier(time_budget=budget, n_jobs=2, random_state=0, verbose=1)
    clf.fit(train.drop(columns="id"), y)
    expected = clf.predict_proba(test.drop(columns="id"))
    folder = Path(tempfile.mkdtemp(prefix="automl-example-"))

    # 1. save / load in a new process
    path = automl.save(clf, folder / "credit.joblib")
    test.to_csv(folder / "test.csv", index=False)
    code = (f"import automl, pandas as pd, numpy as np; m = automl.load({str(path)!r}); "
            f"np.save({str(folder / 'p.npy')!r}, m.predict_proba(pd.read_csv("
            f"{str(folder / 'test.csv')!r}).drop(columns='id')))")
    subprocess.run([sys.executable, "-c", code], check=True)
    same = np.array_equal(np.load(folder / "p.npy"), expected)
    print(f"1. save -> load in a new process: identical probabilities: {same}")

    # 2. skops (optional extra)
    try:
        from automl.persist import load_skops, save_skops

        skops_path = save_skops(clf.best_pipeline_, folder / "best.skops")
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=skops_path)
        print(f"2. skops: types to review before trusting: {untrusted}")
        pipeline = load_skops(skops_path, trusted=untrusted)
        print(f"   reloaded {type(pipeline).__name__} with steps {list(pipeline.named_steps)}")
    except ImportError as exc:
        print(f"2. skops skipped: {exc}")

    # 3. standalone script
    script = folder / "credit_pipeline.py"
    clf.export_python(script, target="Status", id_column="id")
    out = folder / "predictions.csv"
    subprocess.run([sys.executable, str(script), str(DATA / "credit_train.csv"),
                    str(DATA / "credit_test.csv"), str(out)], check=True)
    agree = (pd.read_csv(out)["Status"].to_numpy() == clf.predict(test.drop(columns="id"))).mean()
    print(f"3. standalone script {script}: labels agree with predict() on {agree:.1%} of rows "
          "(it refits on the training CSV with the same seeds)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)

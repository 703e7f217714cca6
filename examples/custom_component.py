"""Add an algorithm of your own to the search space, and search it with the others.

A component is an estimator (a class, or its import path) plus a dict that maps its
``__init__`` parameter names to search-space primitives. ``with_component`` returns a
copy of the default space with one more option in the algorithm choice; the builder
turns any configuration of that space into a plain scikit-learn pipeline
(preprocessing + your model), and ``AutoClassifier(search_space=...)`` searches it.

Run from the repository root::

    python examples/custom_component.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import NearestCentroid

ROOT = Path(__file__).resolve().parent.parent
try:
    import automl
except ImportError:  # a checkout that was not installed
    sys.path.insert(0, str(ROOT))
    import automl  # noqa: F401

from automl import AutoClassifier, Categorical, Component, Float
from automl.builder import build_pipeline, describe_columns
from search_spaces import default_space, with_component


class ShrunkCentroidClassifier(ClassifierMixin, BaseEstimator):
    """A user's own estimator: nearest shrunken centroid with softmax probabilities.

    Any class that follows the scikit-learn contract works: ``__init__`` stores its
    keyword arguments, ``fit`` returns ``self``, fitted attributes end in ``_``.
    """

    def __init__(self, shrink_threshold: float = 0.1, temperature: float = 1.0) -> None:
        self.shrink_threshold = shrink_threshold
        self.temperature = temperature

    def fit(self, X, y):
        self.model_ = NearestCentroid(shrink_threshold=self.shrink_threshold).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        distances = ((X[:, None, :] - self.model_.centroids_[None]) ** 2).sum(axis=2)
        logits = -distances / (self.temperature * X.shape[1])
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)

    # 1. A class you wrote, declared with the space of its parameters.
    mine = Component(ShrunkCentroidClassifier, {
        "shrink_threshold": Float(1e-3, 1.0, log=True),
        "temperature": Float(0.1, 10.0, log=True),
    }, cost=1, scale_sensitive=True)
    space = with_component(default_space("binary"), "shrunk_centroid", mine)

    # 2. Any scikit-learn compatible estimator by import path (imported only when used).
    space = with_component(space, "adaboost", Component("sklearn.ensemble.AdaBoostClassifier", {
        "n_estimators": Categorical([50, 100]),
        "learning_rate": Float(0.05, 2.0, log=True),
    }, cost=2))
    print(f"algorithms: {space.algorithms}")

    # 3. Any configuration of the space becomes a plain pipeline: here the default
    #    configuration restricted to the new algorithm, scored by cross-validation.
    columns = describe_columns(X)
    for name in ("shrunk_centroid", "adaboost"):
        only = space.restrict(include=[name])
        pipeline = build_pipeline(only.default(), only, columns, "binary", random_state=0)
        scores = cross_val_score(pipeline, X, y, cv=5, scoring="roc_auc")
        print(f"{name:16s} default configuration, 5-fold ROC AUC {scores.mean():.3f}")
        assert scores.mean() > 0.9

    # 4. A random configuration: preprocessing and hyperparameters drawn from the space.
    rng = np.random.default_rng(1)
    config = space.restrict(include=["shrunk_centroid"]).sample(rng)
    pipeline = build_pipeline(config, space, columns, "binary", random_state=0)
    print(f"sampled pipeline steps: {[name for name, _ in pipeline.steps]}")
    print(f"score of a sampled configuration: "
          f"{cross_val_score(pipeline, X, y, cv=3, scoring='roc_auc').mean():.3f}")

    # 5. The space still serialises: a run can record exactly what it searched.
    assert type(space).from_dict(space.to_dict()).algorithms == space.algorithms

    # 6. Search it: the new algorithms compete with the built-in ones.
    clf = AutoClassifier(search_space=space, include=["shrunk_centroid", "adaboost", "logreg"],
                         time_budget=20, random_state=0).fit(X, y)
    board = clf.leaderboard()
    print(board[["algorithm", "status"]].value_counts().to_string())
    assert {"shrunk_centroid", "adaboost"} & set(board.loc[board["status"] == "ok", "algorithm"])
    print(f"best: {clf.best_config_['model']}")


if __name__ == "__main__":
    main()

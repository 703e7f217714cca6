"""Fold models of trials cut short, blended into the final model without a refit.

A trial that its time limit stops between folds (status "timeout") has scored only its
first folds: it has no complete out-of-fold predictions for the ensemble selection and
no refit on all rows, and on a short budget there is often no time for one. Its fold
models, though, are fitted: under a :class:`~automl.racing.KeepFoldModels` policy the
worker sends them back (pickled; at most :data:`MAX_BAGS` best are kept), and at the end
of the search :func:`blend_cut_short` averages each one's fold models (a bag: each
trained on the other folds' rows) and blends the bags into the final model, best first,
each with the weight that minimises the metric on the rows its folds predicted out of
fold (none if no weight improves it).

Where it matters (leaf_flavia, 32 classes, 10 s budget): one fold of LightGBM takes about
a quarter of the budget, no booster finishes its cross-validation, and the final model
was a logistic-regression ensemble; with one or two LightGBM fold models blended in at
weights of 0.4-0.7, the 3-split mean holdout log loss went from 0.217 to 0.15-0.16
(``benchmarks/RESULTS.md``, session 7). A weight is taken only if it wins clearly in
bootstrap resamples of the bag's rows (:func:`blend_weight`): chosen on one fold of a
small dataset, it can be luck.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 0, 1])
>>> base = np.array([[0.6, 0.4], [0.5, 0.5], [0.5, 0.5], [0.4, 0.6]])
>>> bag = np.array([[0.9, 0.1], [0.2, 0.8], [np.nan, np.nan], [np.nan, np.nan]])
>>> from automl.scoring import get_metric
>>> float(blend_weight(get_metric("log_loss", "binary"), y, base, bag, None))
1.0
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from automl.evaluate import CVResult, unpack_models

__all__ = ["BLEND_WEIGHTS", "CONFIDENCE", "MAX_BAGS", "MAX_BLEND_ROWS", "RESAMPLES",
           "blend_cut_short", "blend_weight", "choose_clearly", "final_oof", "keep_bag",
           "metric_loss", "predicted_rows"]

#: Cut-short trials whose fold models are kept at a time (the best by partial loss).
MAX_BAGS = 3
#: Weights of the bag tried in the blend (0, the final model alone, is the reference).
BLEND_WEIGHTS = tuple(np.round(np.linspace(0.1, 1.0, 10), 2))
#: Bootstrap resamples of the rows and the share the blend must win.
RESAMPLES, CONFIDENCE = 20, 0.9
#: Rows the weight is chosen and tested on at most (a seeded sample of the bag's rows):
#: 32-class log loss on 20,000 rows took 2.9 s (grid and 50 resamples); 2,000 rows 0.8 s,
#: dominated by the metric's per-call cost, hence 20 resamples: 0.3 s.
MAX_BLEND_ROWS = 2_000


def keep_bag(state: Any, record: dict, result: CVResult | None) -> None:
    """Keep a cut-short trial's packed fold models and partial out-of-fold predictions in
    ``state.bags`` (trial id -> (loss, models, oof)), the :data:`MAX_BAGS` best."""
    if result is None or result.models is None or record["status"] != "timeout" \
            or record.get("stage") not in (None, "full") or not math.isfinite(record["loss"]):
        return
    state.bags[record["trial_id"]] = (float(record["loss"]), result.models, result.oof)
    if len(state.bags) > MAX_BAGS:
        del state.bags[max(state.bags, key=lambda i: (state.bags[i][0], i))]


def blend_weight(metric: Any, y: np.ndarray, base: np.ndarray, bag: np.ndarray,
                 sample_weight: np.ndarray | None) -> float:
    """The weight in :data:`BLEND_WEIGHTS` of ``bag`` in ``(1 - w) * base + w * bag`` that
    gives the lowest loss on the rows both predict (a seeded sample of
    :data:`MAX_BLEND_ROWS` of them at most), or 0.0 if none beats ``base`` alone clearly
    (:func:`choose_clearly`).

    ``base`` and ``bag`` are out-of-fold predictions in the rows of ``y`` (NaN rows: not
    predicted, left out). The bootstrap guards against a weight chosen on a fold of a few
    dozen rows: on wine (133 training rows, 10 s) a one-fold bag won on its 27 rows and,
    taken alone, lost on the holdout (log loss 0.23 against 0.014).
    """
    rows = predicted_rows(base, bag)

    def loss(w: float, index: np.ndarray) -> float:
        return metric_loss(metric, y, (1.0 - w) * base[index] + w * bag[index], sample_weight, index)

    return float(choose_clearly(loss, BLEND_WEIGHTS, 0.0, rows))


def predicted_rows(*predictions: np.ndarray) -> np.ndarray:
    """Indices of the rows every one of ``predictions`` predicts (no NaN), a seeded sample
    of :data:`MAX_BLEND_ROWS` at most."""
    finite = np.ones(len(predictions[0]), dtype=bool)
    for p in predictions:
        finite &= np.isfinite(p.reshape(len(p), -1)).all(axis=1)
    rows = np.flatnonzero(finite)
    if len(rows) > MAX_BLEND_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, size=MAX_BLEND_ROWS, replace=False))
    return rows


def metric_loss(metric: Any, y: np.ndarray, prediction: np.ndarray,
                sample_weight: np.ndarray | None, index: np.ndarray) -> float:
    """``metric``'s loss of ``prediction`` (already restricted to ``index``) on the rows
    ``index`` of ``y``; inf where it cannot be computed (a resample with one class only)."""
    weight = None if sample_weight is None else sample_weight[index]
    try:
        value = metric.loss(metric.score(y[index], prediction, weight))
    except ValueError:
        return math.inf
    return value if math.isfinite(value) else math.inf


def choose_clearly(loss: Any, options: Any, reference: Any, rows: np.ndarray) -> Any:
    """The option of lowest ``loss(option, rows)``, if it beats ``reference`` in at least
    :data:`CONFIDENCE` of :data:`RESAMPLES` seeded bootstrap resamples of ``rows``; else
    ``reference``. One parameter chosen and tested on the same rows: optimistic, but a
    win on a few lucky rows does not pass.

    >>> rows = np.arange(50)
    >>> choose_clearly(lambda x, i: float(np.mean((i % 7 - x) ** 2)), [1, 2, 3], 0, rows)
    3
    >>> choose_clearly(lambda x, i: float(np.mean((i % 7 - x) ** 2)), [5, 6], 3, rows)
    3
    """
    if len(rows) == 0:
        return reference
    reference_loss = loss(reference, rows)
    best_loss, best = min(((loss(x, rows), x) for x in options), key=lambda pair: pair[0])
    if not best_loss < reference_loss:
        return reference
    rng, wins = np.random.default_rng(0), 0
    for _ in range(RESAMPLES):
        index = rows[rng.integers(0, len(rows), size=len(rows))]
        wins += loss(best, index) < loss(reference, index)
    return best if wins >= CONFIDENCE * RESAMPLES else reference


def final_oof(state: Any, chosen: dict, members: list[tuple[int, float]]) -> np.ndarray | None:
    """Out-of-fold predictions of the final model: the ensemble's weighted average (a
    blended bag's rows only where it predicted: NaN elsewhere), or the chosen trial's;
    None when they are not all kept (a cut-short challenger, a fallback)."""
    if not members:
        return state.oof.get(chosen["trial_id"]) if chosen["status"] == "ok" else None
    oof = {i: state.oof[i] if i in state.oof else state.bags[i][2] if i in state.bags else None
           for i, _ in members}
    if any(p is None for p in oof.values()):
        return None
    weights = np.array([w for _, w in members], dtype=float)
    weights /= weights.sum()
    return sum(w * oof[i] for (i, _), w in zip(members, weights))


def blend_cut_short(state: Any, data: Any, chosen: dict, pipeline: Any, ensemble: Any,
                    members: list[tuple[int, float]]) -> tuple[Any, list[tuple[int, float]], str]:
    """Blend the kept bags (:func:`keep_bag`), best first, into the final model, each when
    that lowers the metric on the rows it predicted.

    Each bag is weighed against the model blended so far, on the rows both predicted out
    of fold: a cut-short trial's folds are the run's first ones, so the rows of a bag with
    fewer folds are among those of one with more, and a blend's out-of-fold predictions
    are known where its last bag's are.

    Returns the final ensemble (a :class:`~automl.ensemble.WeightedEnsembleClassifier` or
    ``...Regressor`` of the previous final model's members and the bags' fold models, all
    fitted), its members as (trial id, weight, summing to 1) with the bags' trials among
    them, and a note for the summary; or ``(ensemble, members, "")`` unchanged.
    """
    from automl.ensemble import WeightedEnsembleClassifier, WeightedEnsembleRegressor

    current = final_oof(state, chosen, members) if state.bags else None
    if current is None or time.monotonic() >= state.budget.deadline:   # the budget is a promise
        return ensemble, members, ""
    if ensemble is None:
        estimators, weights, blended = [pipeline], [1.0], [(chosen["trial_id"], 1.0)]
    else:
        total = sum(x for _, x in members)
        estimators, weights = list(ensemble.estimators_), list(ensemble.weights_)
        blended = [(i, x / total) for i, x in members]
    notes = []
    for trial_id in sorted(state.bags, key=lambda i: (state.bags[i][0], i)):
        _, packed, oof = state.bags[trial_id]
        w = blend_weight(data.metric, data.y, current, oof, data.sample_weight)
        if w == 0.0:
            continue
        models = unpack_models(packed)
        estimators = estimators + models
        weights = [(1.0 - w) * x for x in weights] + [w / len(models)] * len(models)
        blended = [(i, (1.0 - w) * x) for i, x in blended] + [(trial_id, w)]
        current = (1.0 - w) * current + w * oof      # NaN where this bag predicted nothing
        notes.append(f"trial {trial_id}'s {len(models)} fold model(s) x {w:.1f}")
    if not notes:
        return ensemble, members, ""
    kind = WeightedEnsembleRegressor if data.n_classes == 0 else WeightedEnsembleClassifier
    return (kind.from_fitted(estimators, weights), [(i, x) for i, x in blended if x > 0],
            "; blended with the cut-short " + ", ".join(notes))

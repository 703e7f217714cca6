"""Temperature scaling of the final model's probabilities, chosen on out-of-fold predictions.

For a metric that scores the probabilities themselves (log loss, Brier score), a model can
rank the classes well and still be too cautious or too sure. The end of a search knows
the final model's out-of-fold predictions (the ensemble's weighted average of its
members', :func:`automl.bagging.final_oof`); :func:`temperature` picks the ``t`` of
``p ** (1 / t)`` (renormalised, :func:`automl.ensemble.temper`) that minimises the metric
on them, and :func:`temper_final` sets it on the final model.

Where it matters: an ensemble's average is flatter than its members. leaf_flavia (32
classes, 10 s, three splits; ``benchmarks/compare/probes/temperature.py``): ``t`` = 0.67,
1 (refused by the bootstrap) and 0.53, holdout log loss 0.162 / 0.146 / 0.149 -> 0.144 /
0.146 / 0.153 (mean 0.152 -> 0.148); in the 10 s benchmark runs 0.142-0.165 against
0.158 without (``benchmarks/RESULTS.md``, session 8).
Guards: ``t`` is taken only if it beats 1 in :data:`~automl.bagging.CONFIDENCE` of
bootstrap resamples of the rows (:func:`~automl.bagging.choose_clearly`), and never at the
ends of :data:`TEMPERATURES`: when every out-of-fold prediction is right (wine), the loss
keeps falling as the probabilities sharpen, and one confident mistake on new rows then
costs more than all the gain (wine split 2: 0.039 -> 0.071).

Examples
--------
>>> import numpy as np
>>> from automl.scoring import get_metric
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 3, 2000)
>>> p = np.full((2000, 3), 0.2); p[np.arange(2000), y] = 0.6    # right, but too cautious
>>> p[:600] = np.roll(p[:600], 1, axis=1)                       # 30 % wrong
>>> temperature(get_metric("log_loss", "multiclass"), y, p, None)    # calibrated: 0.71
0.7071
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.bagging import choose_clearly, final_oof, metric_loss, predicted_rows
from automl.ensemble import WeightedEnsembleClassifier, temper

__all__ = ["METRICS", "TEMPERATURES", "temper_final", "temperature"]

#: Metrics of the probabilities' values, for which the temperature is chosen.
METRICS = ("log_loss", "brier")
#: Temperatures tried, 0.5 to 2 in geometric steps (1: the model as it is).
TEMPERATURES = tuple(float(t) for t in np.round(np.geomspace(0.5, 2.0, 25), 4))


def temperature(metric: Any, y: np.ndarray, oof: np.ndarray,
                sample_weight: np.ndarray | None) -> float:
    """The temperature in :data:`TEMPERATURES` that minimises ``metric`` on the rows of
    ``oof`` (class probabilities; NaN rows left out), or 1.0 when none beats 1 clearly or
    the best is at either end of the grid."""
    if metric.name not in METRICS or oof.ndim != 2:
        return 1.0
    rows = predicted_rows(oof)

    def loss(t: float, index: np.ndarray) -> float:
        return metric_loss(metric, y, temper(oof[index], t), sample_weight, index)

    best = choose_clearly(loss, TEMPERATURES, 1.0, rows)
    return 1.0 if best in (TEMPERATURES[0], TEMPERATURES[-1]) else float(best)


def temper_final(state: Any, data: Any, chosen: dict, pipeline: Any, ensemble: Any,
                 members: list[tuple[int, float]]) -> tuple[Any, list[tuple[int, float]], str]:
    """Set the :func:`temperature` of the final model's out-of-fold predictions on it.

    A single pipeline becomes a one-member :class:`~automl.ensemble.WeightedEnsembleClassifier`
    (so ``predict_proba`` and the export carry the temperature); ``best_pipeline_`` stays
    the pipeline. Returns ``(ensemble, members, note)``, unchanged with a note of "" when
    the metric is not one of :data:`METRICS`, the out-of-fold predictions are not all kept,
    or 1 is best.
    """
    if data.n_classes == 0 or data.metric.name not in METRICS:
        return ensemble, members, ""
    oof = final_oof(state, chosen, members)
    if oof is None:
        return ensemble, members, ""
    t = temperature(data.metric, data.y, oof, data.sample_weight)
    if t == 1.0:
        return ensemble, members, ""
    if ensemble is None:
        ensemble = WeightedEnsembleClassifier.from_fitted([pipeline], [1.0], temperature=t)
        members = [(chosen["trial_id"], 1.0)]
    else:
        ensemble.set_params(temperature=t)
    return ensemble, members, f"; probabilities at temperature {t:.3g}"

"""The end of a search: refit the best trial on all rows, then the ensemble, in time.

Steps 5 and 6 of :func:`automl.search.run_search`, on its state (``trials``, ``budget``,
``settings``, ``oof``, and the early "safety" refit of trial 0):

5. the best trial whose refit fits in the time left is refit on all rows in a worker,
   falling back to the next best, then to the early refit of the first (cheapest) trial;
   near the end of a budget the best trial of the moment is refit ahead of time in the
   spare worker (:func:`refit_ahead`), so the trials need not leave its refit's time free
   and a better trial found too late to be refit loses to it;
6. ensemble selection over the kept out-of-fold predictions runs in a worker, limited to
   the time left, and the chosen members are refit in parallel.

Examples
--------
>>> pipeline, record = refit_best(state, pool, shared)          # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from automl.budget import MIN_TRIAL
from automl.evaluate import SharedTrialData, TrialData, fit_final
from automl.exceptions import NoSuccessfulTrialError
from automl.racing import racing_rule

__all__ = ["cut_short_challenger", "refit_ahead", "refit_best", "refit_ensemble",
           "selection_seconds", "short_error", "take_background", "take_safety"]


def short_error(error: Any) -> str | None:
    """The ``"Type: message"`` head of a worker's error report, without the traceback."""
    if error is None:
        return None
    return str(error).strip().split("\n\n")[0].strip()


# ---------------------------------------------------------------------------------------
# step 5: refit


def take_safety(state: Any, task_result: Any) -> bool:
    """Keep the early refit of trial 0 (the cheapest default), the model of last resort.

    Under a time budget, the first trial's configuration is also fitted on all rows as
    soon as a worker is free, so that ``fit`` can return a usable model even when no
    later refit finishes in time. Returns True if ``task_result`` was that refit.
    """
    if task_result.task_id != state.safety_task:
        return False
    state.safety_task = None
    if task_result.status == "ok":
        state.safety = (task_result.value, 0)
    return True


def refit_ahead(state: Any, pool: Any, shared: SharedTrialData) -> None:
    """Refit the trial :func:`refit_best` would take now (the best trial of the moment, or
    a cut-short challenger clearly better than it) on all rows in a free (spare) worker,
    ahead of the end: once the time left is within a trial cap (or a second reserve) of
    the reserve or of that refit's estimate, when the refit fits, one at a time.

    The reserve held back for the end assumes the best trial's refit runs after the
    search; estimated with a wide margin, it left 20-35 % of a 10 s budget unused when a
    booster led. Once the best trial is fitted, the trials go on until the rest of the
    reserve (:meth:`~automl.budget.Budget.held_back`), and :func:`refit_best` takes the
    fitted pipeline without waiting. A challenger (a booster that no trial cap lets finish
    its CV, say) is slow to refit: ahead, it no longer needs the time left at the end.
    """
    budget, best = state.budget, state.best
    if best is None or state.ahead_task is not None or not math.isfinite(budget.deadline) \
            or pool.n_free == 0:
        return
    target = _all_folds(cut_short_challenger(state, best) or best, state.n_folds)
    if target["trial_id"] in state.ahead:
        return
    left, cap = budget.left(), state.settings.per_trial_time_limit
    estimate = budget.refit_estimate(target)
    reach = max(budget.reserve, estimate)
    if left > reach + (reach if cap is None else cap) or estimate > left - budget.floor:
        return
    task = _submit_refit(pool, shared, target, min(left, 2.0 * estimate), budget)
    state.ahead_task = (task, target["trial_id"])


def _all_folds(record: dict, n_folds: int) -> dict:
    """``record`` with its duration extrapolated to all folds if it was cut short: its
    refit fits every row, whatever the folds it finished."""
    done = len(record.get("fold_scores") or ())
    if record["status"] == "ok" or not 0 < done < n_folds:
        return record
    return dict(record, duration=record["duration"] * n_folds / done)


def take_background(state: Any, task_result: Any) -> bool:
    """Keep the result of a refit run beside the trials (the safety refit of trial 0, or a
    refit ahead of the end); True if ``task_result`` was one."""
    if take_safety(state, task_result):
        return True
    if state.ahead_task is None or task_result.task_id != state.ahead_task[0]:
        return False
    trial_id, state.ahead_task = state.ahead_task[1], None
    state.ahead[trial_id] = task_result.value if task_result.status == "ok" else None
    if task_result.status == "ok":     # a failed refit (None) is not tried again ahead
        state.budget.note_refit(trial_id)
        record = _trial_record(state, trial_id)
        if record is not None:          # fitted twice: refit_ahead gives it the time
            state.budget.note_refit_time(_all_folds(record, state.n_folds), task_result.duration)
    return True


def _safety_fallback(state: Any) -> tuple[Pipeline, dict] | None:
    """The early refit of trial 0 with its record, if both exist."""
    if state.safety is None:
        return None
    record = _trial_record(state, state.safety[1])
    return None if record is None else (state.safety[0], record)


def _trial_record(state: Any, trial_id: int) -> dict | None:
    """The finished trial ``trial_id``'s record, if it is in the history yet."""
    return next((t for t in state.trials if t["trial_id"] == trial_id), None)


def cut_short_challenger(state: Any, best: dict | None) -> dict | None:
    """The best trial the deadline stopped mid-CV that is clearly better than ``best`` on
    the folds it finished (:meth:`RacingRule.clearly_better`), or None.

    Near the end of a budget a slow but strong candidate (a booster after a few cheap
    linear models, say) may finish only a fold or two; it would be a waste to refit a
    clearly worse complete trial instead. A trial whose fold models were kept
    (``state.bags``) is no challenger: the complete trials are refit and its fold models
    are blended in at the end (:func:`automl.bagging.blend_cut_short`), with no refit of
    its own (on leaf_flavia, 3 splits: our LightGBM refit on all rows scored 0.18-0.23
    holdout log loss offline, the blend at 10 s 0.15-0.19).
    """
    rule = racing_rule(best, state.loss)
    if rule is None:
        return None
    return next((t for t in _cut_short_trials(state) if t.get("stage") in (None, "full")
                 and t["trial_id"] not in state.bags
                 and rule.clearly_better([state.loss(s) for s in t["fold_scores"]])), None)


def _cut_short_trials(state: Any) -> list[dict]:
    """Trials the deadline stopped after at least one fold, best mean fold loss first: the
    challengers of :func:`cut_short_challenger`, and the candidates of last resort when no
    trial finished its cross-validation."""
    cut = [t for t in state.trials if t["status"] == "timeout" and t["fold_scores"]
           and math.isfinite(t["loss"])]
    return sorted(cut, key=lambda t: (t["loss"], t["trial_id"]))


def refit_best(state: Any, pool: Any, shared: SharedTrialData) -> tuple[Pipeline, dict]:
    """Refit the best trial that can finish in the time left, best first (a trial cut
    short by the deadline that is clearly better than every complete one goes first);
    a trial already refit ahead (:func:`refit_ahead`) ends the list: it is taken as it is
    when no better trial's refit fits."""
    if state.ahead_task is not None:     # started with a time limit: bounded wait
        take_background(state, _wait_for(pool, state, state.ahead_task[0]))
    candidates = sorted((t for t in state.trials if t["status"] == "ok"),
                        key=lambda t: (t["loss"], t["trial_id"]))
    challenger = cut_short_challenger(state, candidates[0] if candidates else None)
    if challenger is not None:
        candidates.insert(0, challenger)
    if not candidates:
        fallback = _safety_fallback(state)
        if fallback is not None:
            warnings.warn("No trial finished its cross-validation within the budget; the "
                          "model is the first configuration fitted on all rows, unscored. "
                          "Increase time_budget for a searched model.", UserWarning, stacklevel=4)
            return fallback
        candidates = _cut_short_trials(state)
        if not candidates:
            raise NoSuccessfulTrialError(_failure_message(state))
        warnings.warn(f"No trial finished its cross-validation within the budget; the model is "
                      f"trial {candidates[0]['trial_id']} ({candidates[0]['algorithm']}), scored "
                      f"on the {len(candidates[0]['fold_scores'])} fold(s) it finished. Increase "
                      "time_budget for a fully cross-validated model.", UserWarning, stacklevel=4)
    ready = next((t for t in candidates if state.ahead.get(t["trial_id"]) is not None), None)
    if ready is not None:
        candidates = candidates[:candidates.index(ready)]
    budget = state.budget
    cheapest = None if ready is not None else min(candidates, key=budget.refit_estimate)
    failures: list[str] = []
    for record in candidates:
        left = budget.left()
        if record is not cheapest and \
                budget.refit_estimate(_all_folds(record, state.n_folds), single=True) > left:
            continue
        done = _wait_for(pool, state, _submit_refit(pool, shared, record, left, budget))
        if done.status == "ok":
            return done.value, record
        failures.append(f"trial {record['trial_id']} ({record['algorithm']}): {done.status} "
                        f"{short_error(done.error) or ''}".strip())
        if record is cheapest:
            break
    if ready is not None:
        return state.ahead[ready["trial_id"]], ready
    fallback = _safety_fallback(state)
    if fallback is not None:
        return fallback
    raise NoSuccessfulTrialError(
        "The search found successful trials but no final refit on all rows could finish in "
        f"the time left: {'; '.join(failures) or 'none fitted in time'}. Increase time_budget."
    )


def _submit_refit(pool: Any, shared: SharedTrialData, record: dict, left: float,
                  budget: Any) -> int:
    """Fit a trial's pipeline on all rows in a worker, limited to ``left`` seconds; a
    booster is fitted twice (stopping point, then all rows) only if that fits in time."""
    limit = None if not math.isfinite(left) else max(left, MIN_TRIAL)
    twice = not math.isfinite(left) or budget.refit_estimate(record) <= left
    return pool.submit(fit_final, shared.path, record["config"], seed=record["seed"],
                       n_threads=1, refit_boosters=twice, time_limit=limit)


def _wait_for(pool: Any, state: Any, task_id: int) -> Any:
    """Wait for one task's result; the early safety refit may arrive meanwhile."""
    while True:
        for result in pool.wait(timeout=None):
            if result.task_id == task_id:
                return result
            take_background(state, result)


def _failure_message(state: Any) -> str:
    if not state.trials:
        return ("No trial finished within the time budget. Increase time_budget (or set "
                "n_trials with time_budget=None).")
    counts = Counter(t["status"] for t in state.trials)
    common = Counter((t["status"], t["error"]) for t in state.trials).most_common(1)[0]
    (status, error), n = common
    detail = f"{status}: {error.rstrip('.')}" if error else status
    return (f"No trial succeeded out of {len(state.trials)} ({dict(counts)}). Most common "
            f"failure ({n} trials): {detail}. Fix the cause above, or raise the time or memory "
            "limits if trials were stopped.")


# ---------------------------------------------------------------------------------------
# step 6: ensemble selection over the kept OOF predictions


#: CPU seconds per candidate, row and output of one pass of the greedy selection over its
#: candidates (measured on this project's 2-core machine, numpy 2.4, 20 candidates: 46-48 ns
#: for ROC AUC, which sorts, 2-4 ns for the other built-in losses), per candidate for a
#: metric called from Python, and the passes of a typical :func:`choose_ensemble` (five
#: folds, then all rows: 49-163 measured).
_PASS_SECONDS = {"roc_auc": 50e-9}
_OTHER_PASS_SECONDS = 5e-9
_CALL_SECONDS = 2e-4
_PASSES = 100


def selection_seconds(metric: Any, n_candidates: int, n_rows: int, n_classes: int) -> float:
    """Rough seconds of the ensemble selection that ends a search, held back by the budget
    (on 7,500 rows with ROC AUC it takes about a second; on 1,000 rows, a tenth).

    Examples
    --------
    >>> from automl.scoring import get_metric
    >>> round(selection_seconds(get_metric("roc_auc", "binary"), 20, 7500, 2), 2)
    1.5
    """
    loss = _ensemble_loss(metric)
    outputs = 1 if loss in ("log_loss", "mse", "rmse", "mae") else max(n_classes, 1)
    # a metric called from Python is counted as slow per row as ROC AUC, plus its calls
    per_row = _PASS_SECONDS.get(loss, _OTHER_PASS_SECONDS) if isinstance(loss, str) \
        else _PASS_SECONDS["roc_auc"]
    per_candidate = n_rows * outputs * per_row + (0.0 if isinstance(loss, str) else _CALL_SECONDS)
    return _PASSES * n_candidates * per_candidate


def _ensemble_loss(metric: Any) -> Any:
    """The metric as an ensemble-selection loss: a fast built-in name, else a callable."""
    from automl.ensemble import FAST_LOSSES

    if metric.name in FAST_LOSSES:
        return metric.name

    def loss(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: Any = None) -> float:
        return metric.loss(metric.score(y_true, y_pred, sample_weight))

    return loss


def _plan_ensemble(state: Any, data: TrialData, pool: Any,
                   fitted: Any) -> list[tuple[dict, float]]:
    """Members (record, weight) of an ensemble that beats the best single trial, or [].

    The candidates are the trials that can be in the final model: fitted on all rows
    already (``fitted``: trial ids) or with a refit expected to end in the time left;
    after the selection, a member whose refit no longer fits is dropped
    (:func:`_refits_in_time`). A member that cannot be refit used to cost the whole
    ensemble (on cells at 30 s, a random forest whose refit needed 5.1 s of the 3.4 s
    left: the best single pipeline was kept, holdout ROC AUC 0.922 where the ensemble
    gave 0.928). Not ``left`` minus the selection's estimate: at 10 s that left room for
    almost no refit.
    The selection runs in a worker, limited to the time left: on many rows it takes
    seconds, and the budget is a promise.
    """
    from automl.ensemble import choose_ensemble, select_candidates

    if state.settings.ensemble_size < 2 or len(state.oof) < 2:
        return []
    budget, left = state.budget, state.budget.left()
    feasible = [t for t in state.trials if _refit_fits(budget, t, fitted, left)]
    ids = select_candidates(feasible, state.settings.ensemble_size, state.oof)
    if len(ids) < 2 or left < MIN_TRIAL:
        return []
    task = pool.submit(choose_ensemble, [state.oof[i] for i in ids], data.y,
                       _ensemble_loss(data.metric), sample_weight=data.sample_weight,
                       random_state=state.settings.run_seed % 2**31,
                       time_limit=None if not math.isfinite(left) else left)
    done = _wait_for(pool, state, task)
    if done.status != "ok" or not done.value.use_ensemble:
        return []
    choice = done.value
    by_id = {t["trial_id"]: t for t in state.trials}
    members = [(by_id[i], float(w)) for i, w in zip(ids, choice.weights) if w > 0]
    members = _refits_in_time(state, members, fitted)
    return members if len(members) > 1 else []


def _refits_in_time(state: Any, members: list[tuple[dict, float]],
                    fitted: Any) -> list[tuple[dict, float]]:
    """``members`` without those whose refit alone is no longer expected to end in the
    time left (the selection ran longer than its estimate), weights renormalised.

    Not a check of the refits' sum over the workers: with 1.5 times the CV-based time
    plus 0.5 s per member, a sum over eight members of a 10 s run always exceeded the
    time left, while the refits of small pipelines take a tenth of a second each; that
    check, tried in ``a3f1f04``, dropped members the refits would have finished (10 s
    benchmark: ad_data, cells, stackoverflow lower).
    """
    left = state.budget.left()
    kept = [(r, w) for r, w in members if _refit_fits(state.budget, r, fitted, left)]
    total = sum(w for _, w in kept)
    return [(r, w / total) for r, w in kept] if len(kept) < len(members) else members


def _refit_fits(budget: Any, record: dict, fitted: Any, left: float) -> bool:
    """The trial is fitted on all rows already (its id in ``fitted``), or its refit, as
    one fit, is expected to end in ``left`` seconds."""
    return record["trial_id"] in fitted or budget.refit_estimate(record, single=True) <= left


def refit_ensemble(state: Any, data: TrialData, pool: Any, shared: SharedTrialData,
                    chosen: dict, pipeline: Pipeline) -> tuple[Any, list[tuple[int, float]]]:
    """Refit the ensemble's other members in parallel; (None, []) if any cannot finish."""
    from automl.ensemble import WeightedEnsembleClassifier, WeightedEnsembleRegressor

    if chosen["status"] != "ok":     # a cut-short challenger: the OOF candidates are all worse
        return None, []
    fitted = {i: p for i, p in state.ahead.items() if p is not None}
    fitted[chosen["trial_id"]] = pipeline
    members = _plan_ensemble(state, data, pool, fitted.keys())
    if not members:
        return None, []
    tasks = {}
    for record, _ in members:
        if record["trial_id"] in fitted:
            continue
        left = state.budget.left()
        if not _refit_fits(state.budget, record, fitted, left):
            return None, []
        tasks[_submit_refit(pool, shared, record, left, state.budget)] = record["trial_id"]
    while tasks:
        for done in pool.wait(timeout=None):
            trial_id = tasks.pop(done.task_id, None)
            if trial_id is None:
                take_background(state, done)
                continue
            if done.status != "ok":
                return None, []
            fitted[trial_id] = done.value
    kind = WeightedEnsembleRegressor if data.n_classes == 0 else WeightedEnsembleClassifier
    weights = [w for _, w in members]
    ensemble = kind.from_fitted([fitted[r["trial_id"]] for r, _ in members], weights)
    return ensemble, [(r["trial_id"], w) for r, w in members]

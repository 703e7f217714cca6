"""Post-hoc ensemble selection over out-of-fold predictions (Caruana et al., 2004).

Every trial of a search leaves out-of-fold (OOF) predictions behind: for classification an
``(n_samples, n_classes)`` array of probabilities, for regression an ``(n_samples,)`` array.
This module turns the best of them into a weighted average:

- :func:`select_candidates` picks the trials worth considering (top-k by loss, identical
  predictions dropped, a little algorithm diversity);
- :func:`ensemble_selection` runs greedy forward selection with replacement and returns the
  weights;
- :func:`choose_ensemble` decides whether the ensemble beats the single best trial by more
  than a margin, estimating both without the optimistic bias of selecting and scoring on
  the same rows;
- :class:`WeightedEnsembleClassifier` / :class:`WeightedEnsembleRegressor` hold the fitted
  members and their weights as one scikit-learn estimator.

The module imports only numpy and scikit-learn, so an exporter can inline its source.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=200)
>>> oof = [y + rng.normal(scale=1.0, size=200) for _ in range(4)]
>>> weights = ensemble_selection(oof, y, "rmse", max_iter=20)
>>> bool(np.isclose(weights.sum(), 1.0)), int((weights > 0).sum()) > 1
(True, True)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "FAST_LOSSES",
    "EnsembleChoice",
    "WeightedEnsembleClassifier",
    "WeightedEnsembleRegressor",
    "choose_ensemble",
    "ensemble_selection",
    "select_candidates",
    "temper",
]

LossFn = Callable[..., float]
_EPS = float(np.finfo(np.float64).eps)
_TIE = 1e-12  # relative: a step must improve the loss by more than this
_CHUNK = 4_000_000  # floats per batch of candidates evaluated at once

# ---------------------------------------------------------------------------------------
# vectorised losses: a linear reduction of the stacked predictions, then a batch loss.
# Because the reduction is linear, the mean of reduced members is the reduced mean.
# A batch loss may overwrite its input (always a temporary).


def _mean(r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mean over the last axis (einsum: no BLAS threads to contend for)."""
    return np.einsum("cn,n->c", r, w)


def _true_class(stack: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.take_along_axis(stack, y[None, :, None], axis=2)[:, :, 0]


def _log_loss(r: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    np.clip(r, _EPS, 1.0 - _EPS, out=r)
    return -_mean(np.log(r, out=r), w)


def _auc(scores: np.ndarray, positive: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted binary ROC AUC of each row of ``scores`` (ties count one half)."""
    order = np.argsort(scores, axis=1)  # ties are scored as groups: their order is free
    s = np.take_along_axis(scores, order, axis=1)
    wp, wn = (w * positive)[order], (w * ~positive)[order]
    below = np.cumsum(wn, axis=1) - wn  # negative weight strictly before each position
    n = s.shape[1]
    starts = np.ones_like(s, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0), axis=1)
    ends = np.ones_like(s, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    last = np.minimum.accumulate(np.where(ends, np.arange(n), n - 1)[:, ::-1], axis=1)[:, ::-1]
    before = np.take_along_axis(below, first, axis=1)
    in_group = np.take_along_axis(below + wn, last, axis=1) - before
    total = w[positive].sum() * w[~positive].sum()
    return np.sum(wp * (before + 0.5 * in_group), axis=1) / total


def _roc_auc(r: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    if r.shape[2] == 2:
        return -_auc(r[:, :, 1], y == 1, w)
    present = [c for c in range(r.shape[2]) if 0 < np.sum(y == c) < len(y)]
    return -np.mean([_auc(r[:, :, c], y == c, w) for c in present], axis=0)


def _accuracy(r: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return -_mean((np.argmax(r, axis=2) == y).astype(float), w)


def _mse(r: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    r -= y
    return _mean(np.square(r, out=r), w)


#: Loss names computed in numpy over all candidates at once, oriented like
#: ``automl.scoring`` (``loss = -score`` for scores where greater is better).
FAST_LOSSES: dict[str, tuple[bool, Callable[..., np.ndarray] | None, Callable[..., np.ndarray]]] = {
    # name: (classification?, linear reduction or None, batch loss)
    "log_loss": (True, _true_class, _log_loss),
    "roc_auc": (True, None, _roc_auc),
    "accuracy": (True, None, _accuracy),
    "mse": (False, None, _mse),
    "rmse": (False, None, lambda r, y, w: np.sqrt(_mse(r, y, w))),
    "mae": (False, None, lambda r, y, w: _mean(np.abs(np.subtract(r, y, out=r), out=r), w)),
}


def _is_codes(y: np.ndarray, n_classes: int) -> bool:
    """Whether ``y`` holds class codes ``0 .. n_classes-1``."""
    if y.dtype.kind not in "iuf":
        return False
    return bool(np.all((y >= 0) & (y < n_classes) & (y == np.round(y))))


class _Losses:
    """Losses of averaged predictions; ``stack`` holds the (reduced) member predictions."""

    def __init__(self, loss_fn: str | LossFn, stack: np.ndarray, y: np.ndarray,
                 sample_weight: np.ndarray | None) -> None:
        self.y = y
        self.weight = sample_weight
        if callable(loss_fn):
            self.batch, self.stack = None, stack
            self.call = loss_fn
            return
        if loss_fn not in FAST_LOSSES:
            raise ValueError(
                f"loss_fn must be a callable (y_true, y_pred) -> float or one of "
                f"{sorted(FAST_LOSSES)}; got {loss_fn!r}. Wrap other metrics in a callable."
            )
        classification, reduce, self.batch = FAST_LOSSES[loss_fn]
        if classification != (stack.ndim == 3):
            kind = "classification (n_samples, n_classes)" if classification else "regression (n_samples,)"
            raise ValueError(f"loss {loss_fn!r} needs {kind} predictions; got shape {stack.shape[1:]}.")
        if classification and not _is_codes(y, stack.shape[2]):
            raise ValueError(f"loss {loss_fn!r} needs y encoded as 0 .. n_classes-1; got {np.unique(y)[:10]}.")
        weight = np.ones(len(y)) if sample_weight is None else sample_weight
        self.w = weight / weight.sum()
        self.stack = stack if reduce is None else reduce(stack, y.astype(int))

    def singles(self) -> np.ndarray:
        """Loss of each member alone."""
        return self.added(np.zeros(self.stack.shape[1:]), 0)

    def of(self, preds: np.ndarray) -> np.ndarray:
        """Loss of each (reduced) prediction in ``preds``, shape ``(c,) + stack.shape[1:]``."""
        if self.batch is not None:
            return np.asarray(self.batch(np.array(preds, dtype=float), self.y, self.w), dtype=float)
        kwargs = {} if self.weight is None else {"sample_weight": self.weight}
        return np.array([float(self.call(self.y, p, **kwargs)) for p in preds])

    def added(self, total: np.ndarray, size: int) -> np.ndarray:
        """Loss of ``(total + member) / (size + 1)`` for every member, in chunks."""
        chunk = max(1, _CHUNK // max(total.size, 1))
        buffer = np.empty((min(chunk, len(self.stack)),) + total.shape)
        losses = []
        for i in range(0, len(self.stack), chunk):
            part = self.stack[i:i + chunk]
            mean = np.add(total, part, out=buffer[:len(part)])
            mean /= size + 1
            losses.append(self.of(mean) if self.batch is None else self.batch(mean, self.y, self.w))
        return np.concatenate(losses)


def _stack(oof_predictions: Sequence[np.ndarray], y: Any) -> tuple[np.ndarray, np.ndarray]:
    if len(oof_predictions) == 0:
        raise ValueError("oof_predictions is empty; pass at least one array of predictions.")
    shapes = {np.shape(p) for p in oof_predictions}
    if len(shapes) != 1:
        raise ValueError(f"all OOF predictions must have one shape; got shapes {sorted(shapes)}.")
    stack = np.stack([np.asarray(p) for p in oof_predictions]).astype(float, copy=False)
    y = np.asarray(y)
    if stack.ndim not in (2, 3) or stack.shape[1] != len(y):
        raise ValueError(
            f"OOF predictions must be (n_samples,) or (n_samples, n_classes) arrays with "
            f"n_samples = len(y) = {len(y)}; got shape {stack.shape[1:]}."
        )
    if not np.all(np.isfinite(stack)):
        raise ValueError("OOF predictions contain NaN or infinite values; drop those trials first.")
    return stack, y


def _weights_array(sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"sample_weight must be {n} finite non-negative numbers with a positive sum; "
            f"got shape {w.shape}."
        )
    return w


def _greedy(losses: _Losses, max_iter: int, n_init: int, patience: int) -> np.ndarray:
    """Selection counts of the best prefix; ties go to the better single loss, then lower index."""
    single = losses.singles()
    rank = np.empty(len(single), dtype=int)
    rank[np.argsort(single, kind="stable")] = np.arange(len(single))
    counts = (rank < n_init).astype(int)
    total = np.tensordot(counts.astype(float), losses.stack, axes=1)
    best_loss, best_counts, stale = losses.of(total[None] / n_init)[0], counts.copy(), 0
    for size in range(n_init, max_iter):
        trial = losses.added(total, size)
        tied = np.flatnonzero(trial <= trial.min() + _TIE * max(1.0, abs(trial.min())))
        pick = int(tied[np.argmin(rank[tied])])
        counts[pick] += 1
        total += losses.stack[pick]
        if trial[pick] < best_loss - _TIE * max(1.0, abs(best_loss)):
            best_loss, best_counts, stale = trial[pick], counts.copy(), 0
        else:
            stale += 1
            if stale > patience:
                break
    return best_counts


def ensemble_selection(oof_predictions: Sequence[np.ndarray], y: Any, loss_fn: str | LossFn, *,
                       max_iter: int = 50, sample_weight: Any = None, n_init: int = 1,
                       patience: int = 5) -> np.ndarray:
    """Greedy forward ensemble selection with replacement (Caruana et al., 2004).

    Starts from the ``n_init`` best members by their own loss ("sorted initialization"),
    then repeatedly adds the member (possibly again) whose addition gives the lowest loss of
    the averaged predictions; stops after ``patience`` steps without improvement or at
    ``max_iter`` members in total, and returns the best ensemble met on the way. Ties go to
    the member with the lower single loss, then the lower index.

    Parameters
    ----------
    oof_predictions : sequence of arrays
        One array per candidate, all ``(n_samples,)`` (regression) or all
        ``(n_samples, n_classes)`` (class probabilities), rows in the order of ``y``.
    y : array-like of shape (n_samples,)
        Targets; for classification encoded as ``0 .. n_classes-1``.
    loss_fn : callable or str
        ``loss_fn(y_true, y_pred) -> float``, lower is better (called with
        ``sample_weight=`` when weights are given), or a name in :data:`FAST_LOSSES`,
        computed for all candidates at once (much faster).
    max_iter : int, default=50
        Maximum number of members (with repetition) in the ensemble.
    sample_weight : array-like of shape (n_samples,), optional
    n_init : int, default=1
        Number of best members the ensemble starts from.
    patience : int, default=5
        Steps without improvement tolerated; steps that do not improve still let weights
        such as 2/3 : 1/3 be reached. 0 stops at the first step that does not improve.

    Returns
    -------
    weights : ndarray of shape (n_candidates,)
        Non-negative, summing to 1 (selection counts over their total).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 1, 0])
    >>> a = np.array([[0.6, 0.4], [0.6, 0.4], [0.1, 0.9], [0.9, 0.1]])
    >>> b = np.array([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.6, 0.4]])
    >>> ensemble_selection([a, b], y, "log_loss").tolist()
    [0.5, 0.5]
    """
    stack, y = _stack(oof_predictions, y)
    if not (all(isinstance(v, int) for v in (max_iter, n_init, patience)) and 1 <= n_init <= max_iter
            and patience >= 0):
        raise ValueError(f"need integers 1 <= n_init <= max_iter and patience >= 0; got n_init={n_init!r}, "
                         f"max_iter={max_iter!r}, patience={patience!r}.")
    losses = _Losses(loss_fn, stack, y, _weights_array(sample_weight, len(y)))
    counts = _greedy(losses, max_iter, min(n_init, len(stack)), patience)
    return counts / counts.sum()


# ---------------------------------------------------------------------------------------
# whether to use the ensemble


@dataclass(frozen=True)
class EnsembleChoice:
    """Outcome of :func:`choose_ensemble`.

    Attributes
    ----------
    use_ensemble : bool
        True if the ensemble's estimated loss beats the single best's by the margin.
    weights : ndarray
        Final weights (selected on all rows); one-hot on ``best_index`` if not used.
    best_index : int
        The single best candidate on all rows.
    single_loss, ensemble_loss : float
        The estimates compared (out of selection for "cv" and "holdout").

    Examples
    --------
    >>> EnsembleChoice(False, np.array([1.0]), 0, 0.5, 0.5).use_ensemble
    False
    """

    use_ensemble: bool
    weights: np.ndarray
    best_index: int
    single_loss: float
    ensemble_loss: float


def _folds(y: np.ndarray, n_splits: int, stratify: bool, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row, classes spread evenly over folds when ``stratify``."""
    fold = np.empty(len(y), dtype=int)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    offset = 0
    for rows in groups:
        fold[rng.permutation(rows)] = (offset + np.arange(len(rows))) % n_splits
        offset += len(rows)
    return fold


def _out_of_selection(stack: np.ndarray, y: np.ndarray, w: np.ndarray | None, fold: np.ndarray,
                      evaluated: Sequence[int], loss_fn: str | LossFn,
                      options: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of (best single, ensemble), each chosen without the rows it predicts."""
    single, blend = np.empty_like(stack[0]), np.empty_like(stack[0])
    for f in evaluated:
        train, test = fold != f, fold == f
        w_train = None if w is None else w[train]
        weights = ensemble_selection(list(stack[:, train]), y[train], loss_fn, sample_weight=w_train, **options)
        sub = _Losses(loss_fn, stack[:, train], y[train], w_train)
        single[test] = stack[int(np.argmin(sub.singles())), test]
        blend[test] = np.tensordot(weights, stack[:, test], axes=1)
    return single, blend


def choose_ensemble(oof_predictions: Sequence[np.ndarray], y: Any, loss_fn: str | LossFn, *,
                    method: str = "cv", n_splits: int = 5, margin: float = 1e-3,
                    max_iter: int = 50, n_init: int = 1, sample_weight: Any = None,
                    random_state: int = 0) -> EnsembleChoice:
    """Select an ensemble and decide whether it beats the single best candidate.

    Selecting weights and scoring them on the same rows is optimistic. ``method`` sets how
    the two losses compared are estimated:

    - ``"cv"`` (default): the rows are split in ``n_splits`` folds; on each, the best single
      and the ensemble are chosen on the other folds and scored on it;
    - ``"holdout"``: chosen on half of the rows, scored on the other half;
    - ``"naive"``: chosen and scored on all rows.

    The ensemble is used if ``ensemble_loss < single_loss - margin * |single_loss|``; the
    returned weights are then selected again on all rows.

    Parameters
    ----------
    oof_predictions, y, loss_fn, max_iter, n_init, sample_weight
        As in :func:`ensemble_selection`.
    method : {"cv", "holdout", "naive"}, default="cv"
    n_splits : int, default=5
        Folds for ``method="cv"``.
    margin : float, default=1e-3
        Relative improvement required.
    random_state : int, default=0
        Seeds the split of the rows.

    Returns
    -------
    EnsembleChoice

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=300)
    >>> oof = [y + rng.normal(size=300) for _ in range(3)]
    >>> choose_ensemble(oof, y, "rmse").use_ensemble
    True
    """
    stack, y = _stack(oof_predictions, y)
    w = _weights_array(sample_weight, len(y))
    if method not in ("cv", "holdout", "naive") or not (isinstance(n_splits, int) and n_splits >= 2):
        raise ValueError(f"method must be 'cv', 'holdout' or 'naive' and n_splits an integer >= 2; "
                         f"got method={method!r}, n_splits={n_splits!r}.")
    options = {"max_iter": max_iter, "n_init": n_init}
    best = int(np.argmin(_Losses(loss_fn, stack, y, w).singles()))
    weights = ensemble_selection(list(stack), y, loss_fn, sample_weight=w, **options)
    if method == "naive":
        scored, single, blend = np.ones(len(y), dtype=bool), stack[best], np.tensordot(weights, stack, axes=1)
    else:
        rng = np.random.default_rng(random_state)
        fold = _folds(y, 2 if method == "holdout" else n_splits, stack.ndim == 3, rng)
        evaluated = [1] if method == "holdout" else range(n_splits)
        single, blend = _out_of_selection(stack, y, w, fold, evaluated, loss_fn, options)
        scored = np.isin(fold, evaluated)
    pair = np.stack([single[scored], blend[scored]])
    single_loss, ensemble_loss = _Losses(loss_fn, pair, y[scored], None if w is None else w[scored]).singles()
    use = bool(ensemble_loss < single_loss - margin * abs(single_loss) and np.count_nonzero(weights) > 1)
    if not use:
        weights = np.eye(len(stack))[best]
    return EnsembleChoice(use, weights, best, float(single_loss), float(ensemble_loss))


# ---------------------------------------------------------------------------------------
# candidates


def _digest(array: np.ndarray) -> bytes:
    """Fingerprint of predictions, blind to float noise below 1e-10."""
    return hashlib.sha1(np.ascontiguousarray(np.round(np.asarray(array, dtype=float), 10) + 0.0)).digest()


def select_candidates(trials: Sequence[Mapping[str, Any]], k: int, predictions: Mapping[Any, np.ndarray], *,
                      diversity: float = 0.05) -> list[Any]:
    """Trial ids of the best ``k`` distinct successful trials, with some algorithm diversity.

    Trials with status ``"ok"``, a finite loss and stored predictions are ranked by loss
    (ties by ``trial_id``); a trial whose predictions equal a better one's is dropped. Then,
    for each algorithm missing from the top ``k`` whose best trial's loss is within
    ``diversity * |best loss|`` of the best, that trial replaces the worst member of an
    algorithm holding several places.

    Parameters
    ----------
    trials : sequence of dict
        Trial records (``trial_id``, ``algorithm``, ``status``, ``loss``; lower is better).
    k : int
        Number of candidates wanted.
    predictions : mapping
        ``trial_id -> OOF predictions``; may load lazily on ``[]``.
    diversity : float, default=0.05
        Relative loss slack allowed to bring in another algorithm; 0 disables it.

    Returns
    -------
    list
        Trial ids, best first.

    Examples
    --------
    >>> import numpy as np
    >>> trials = [{"trial_id": i, "algorithm": a, "status": "ok", "loss": l}
    ...           for i, (a, l) in enumerate([("lgbm", 0.30), ("lgbm", 0.31), ("svc", 0.315)])]
    >>> preds = {i: np.full(4, float(i)) for i in range(3)}
    >>> select_candidates(trials, 2, preds)
    [0, 2]
    """
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k must be a positive integer; got {k!r}.")
    ranked = sorted((t for t in trials if t.get("status") == "ok" and math.isfinite(t.get("loss", math.nan))
                     and t["trial_id"] in predictions), key=lambda t: (t["loss"], str(t["trial_id"])))
    if not ranked:
        return []
    limit = ranked[0]["loss"] + diversity * abs(ranked[0]["loss"])
    chosen: list[Mapping[str, Any]] = []
    extras: dict[Any, Mapping[str, Any]] = {}
    seen: set[bytes] = set()
    for trial in ranked:
        if len(chosen) >= k and trial["loss"] > limit:
            break
        digest = _digest(predictions[trial["trial_id"]])
        if digest in seen:
            continue
        seen.add(digest)
        if len(chosen) < k:
            chosen.append(trial)
        elif trial.get("algorithm") not in extras:
            extras[trial.get("algorithm")] = trial
    for algorithm, trial in extras.items():
        names = [t.get("algorithm") for t in chosen]
        crowded = [i for i, name in enumerate(names) if names.count(name) > 1]
        if algorithm not in names and crowded:
            chosen[crowded[-1]] = trial
    return [t["trial_id"] for t in sorted(chosen, key=lambda t: (t["loss"], str(t["trial_id"])))]


# ---------------------------------------------------------------------------------------
# the ensemble as one estimator (self-contained: numpy and scikit-learn only)


def temper(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (rows summing to 1) raised to ``1 / temperature``, renormalised.

    >>> temper(np.array([[0.8, 0.2]]), 0.5).round(3).tolist()
    [[0.941, 0.059]]
    """
    if temperature == 1.0:
        return proba
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logp = np.log(np.clip(proba, 0.0, None)) / temperature
        logp -= np.max(logp, axis=-1, keepdims=True)
        out = np.exp(logp)
    return out / out.sum(axis=-1, keepdims=True)


class _WeightedEnsemble(BaseEstimator):
    """Shared parts of the weighted-average ensembles."""

    def __init__(self, estimators: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        self.estimators = estimators
        self.weights = weights

    def _members(self) -> tuple[list[Any], np.ndarray]:
        """Members with a positive weight and their weights, normalised to sum to 1."""
        estimators = list(self.estimators)
        weights = np.ones(len(estimators)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if not estimators or weights.shape != (len(estimators),) or not np.all(np.isfinite(weights)) \
                or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                f"need a non-empty list of estimators and as many finite non-negative weights with a "
                f"positive sum; got {len(estimators)} estimators and weights {self.weights!r}."
            )
        keep = np.flatnonzero(weights > 0)
        return [estimators[i] for i in keep], weights[keep] / weights[keep].sum()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _WeightedEnsemble:
        """Refit a clone of every member with a positive weight on ``(X, y)``.

        Members that are pipelines get the weights as ``<last step>__sample_weight``.
        """
        members, weights = self._members()
        fitted = []
        for member in members:
            member = clone(member)
            if sample_weight is None:
                fitted.append(member.fit(X, y))
            else:
                key = f"{member.steps[-1][0]}__sample_weight" if isinstance(member, Pipeline) else "sample_weight"
                fitted.append(member.fit(X, y, **{key: sample_weight}))
        self._set_fitted(fitted, weights)
        self.n_features_in_ = int(np.shape(X)[1])
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        return self

    @classmethod
    def from_fitted(cls, estimators: Sequence[Any], weights: Sequence[float] | None = None,
                    **params: Any) -> Any:
        """An ensemble of already fitted members, without refitting them (``params``: the
        class's other parameters, such as ``temperature``).

        ``get_params`` then returns these fitted members; ``clone`` gives unfitted copies.
        """
        ensemble = cls(list(estimators), None if weights is None else [float(w) for w in weights],
                       **params)
        members, normalised = ensemble._members()
        for member in members:
            check_is_fitted(member)
        ensemble._set_fitted(members, normalised)
        first = members[0]
        if hasattr(first, "n_features_in_"):
            ensemble.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            ensemble.feature_names_in_ = first.feature_names_in_
        return ensemble

    def _set_fitted(self, members: list[Any], weights: np.ndarray) -> None:
        self.estimators_ = members
        self.weights_ = weights

    def _average(self, outputs: list[np.ndarray]) -> np.ndarray:
        return np.tensordot(self.weights_, np.asarray(outputs, dtype=float), axes=1)


class WeightedEnsembleClassifier(ClassifierMixin, _WeightedEnsemble):
    """Weighted average of the class probabilities of several fitted classifiers.

    Parameters
    ----------
    estimators : list of estimators
        The members (usually fitted pipelines); members of weight 0 are dropped.
    weights : list of float, optional
        Non-negative weights, normalised to sum to 1; equal weights if None.
    temperature : float, default=1.0
        The averaged probabilities ``p`` become ``p ** (1 / temperature)``, renormalised:
        below 1 sharper, above 1 flatter (temperature scaling of the log-probabilities).
        The search sets it when that lowers a probability metric on the out-of-fold
        predictions (:func:`automl.calibration.temperature`).

    Attributes
    ----------
    estimators_ : list
        Fitted members with a positive weight.
    weights_ : ndarray
        Their weights, summing to 1.
    classes_ : ndarray
        Union of the members' classes, sorted; probabilities are aligned on it.
    n_features_in_ : int
    feature_names_in_ : ndarray
        Present when the members were fitted on column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> ens = WeightedEnsembleClassifier([LogisticRegression(max_iter=500),
    ...                                   DecisionTreeClassifier(random_state=0)], [0.75, 0.25])
    >>> ens.fit(X, y).predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(self, estimators: Sequence[Any], weights: Sequence[float] | None = None,
                 temperature: float = 1.0) -> None:
        super().__init__(estimators, weights)
        self.temperature = temperature

    def _check_temperature(self) -> float:
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature > 0):
            raise ValueError(f"temperature must be a positive finite number; got {self.temperature!r}.")
        return float(self.temperature)

    def _set_fitted(self, members: list[Any], weights: np.ndarray) -> None:
        self._check_temperature()
        super()._set_fitted(members, weights)
        self.classes_ = np.unique(np.concatenate([np.asarray(m.classes_) for m in members]))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' probabilities, columns in ``classes_`` order (then
        scaled by ``temperature``)."""
        check_is_fitted(self, "estimators_")
        outputs = []
        for member in self.estimators_:
            proba = np.zeros((np.shape(X)[0], len(self.classes_)))
            proba[:, np.searchsorted(self.classes_, member.classes_)] = member.predict_proba(X)
            outputs.append(proba)
        return temper(self._average(outputs), self._check_temperature())

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest averaged probability."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class WeightedEnsembleRegressor(RegressorMixin, _WeightedEnsemble):
    """Weighted average of the predictions of several fitted regressors.

    Parameters and attributes are those of :class:`WeightedEnsembleClassifier`, without
    ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> members = [Ridge().fit(X, y), DecisionTreeRegressor(max_depth=3).fit(X, y)]
    >>> ens = WeightedEnsembleRegressor.from_fitted(members, [0.5, 0.5])
    >>> bool(np.allclose(ens.predict(X[:3]), (members[0].predict(X[:3]) + members[1].predict(X[:3])) / 2))
    True
    """

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' predictions."""
        check_is_fitted(self, "estimators_")
        return self._average([np.asarray(m.predict(X), dtype=float).ravel() for m in self.estimators_])

"""Saving and loading fitted models, with the metadata needed to trust and reuse them.

.. warning::
   :func:`load` unpickles the file, and unpickling runs code. Load only files from a
   source you trust. For a safer route, :func:`save_skops` writes the best pipeline with
   `skops <https://skops.readthedocs.io>`_, whose loader refuses types you have not
   approved (``pip install automl[safe]``).
"""

from __future__ import annotations

import platform
import warnings
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

__all__ = ["save", "load", "read_metadata", "save_skops", "load_skops", "VersionMismatchWarning"]

FORMAT = "automl-model"
FORMAT_VERSION = 1
_LIBRARIES = ("automl", "scikit-learn", "numpy", "scipy", "pandas", "joblib", "lightgbm", "xgboost")


class VersionMismatchWarning(UserWarning):
    """A model is loaded under library versions other than the ones it was saved with."""


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries a saved model depends on."""
    versions: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def save(estimator: Any, path: str | Path, *, compress: int = 3) -> Path:
    """Save a fitted estimator (or pipeline) with its metadata to one file.

    The metadata holds library and Python versions and, for automl estimators, the search
    space, the best configuration, the metric, the CV score and the training data's schema.

    Parameters
    ----------
    estimator : object
        A fitted ``AutoClassifier``/``AutoRegressor`` or any fitted scikit-learn object.
    path : str or Path
        Destination file (conventionally ``*.joblib``).
    compress : int, default=3
        joblib compression level.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> import tempfile, os
    >>> model = LinearRegression().fit([[0], [1]], [0, 1])
    >>> path = save(model, os.path.join(tempfile.mkdtemp(), "m.joblib"))
    >>> load(path).predict([[2]]).round(3).tolist()
    [2.0]
    """
    import joblib

    path = Path(path)
    meta = dict(_environment())
    describe = getattr(estimator, "_model_metadata", None)
    if callable(describe):
        meta["model"] = describe()
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": meta,
               "estimator": estimator}
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(payload, tmp, compress=compress)
    tmp.replace(path)
    return path


def _read_payload(path: str | Path) -> dict[str, Any]:
    import joblib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our file"
        raise ValueError(
            f"{str(path)!r} is not a readable model file ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} was not written by automl.save.")
    return payload


def _warn_on_version_drift(meta: dict[str, Any]) -> None:
    saved = meta.get("libraries", {})
    now = library_versions()
    drift = {k: (saved.get(k), now.get(k)) for k in saved if saved.get(k) != now.get(k)}
    if drift:
        detail = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sorted(drift.items()))
        warnings.warn(
            f"This model was saved under other library versions ({detail}). It may predict "
            "differently or fail; reinstall the saved versions, or refit the model.",
            VersionMismatchWarning,
            stacklevel=3,
        )
    saved_python = meta.get("python", "")
    if saved_python.split(".")[:2] != platform.python_version().split(".")[:2]:
        warnings.warn(
            f"This model was saved with Python {saved_python}; this is Python "
            f"{platform.python_version()}.",
            VersionMismatchWarning,
            stacklevel=3,
        )


def load(path: str | Path) -> Any:
    """Load a model written by :func:`save`.

    .. warning:: This unpickles the file, which runs code: load only trusted files.

    Warns with :class:`VersionMismatchWarning` when library versions differ from the ones
    the model was saved with.
    """
    payload = _read_payload(path)
    _warn_on_version_drift(payload["metadata"])
    return payload["estimator"]


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata stored beside a saved model (this also unpickles the file)."""
    return _read_payload(path)["metadata"]


def save_skops(pipeline: Any, path: str | Path) -> Path:
    """Save a fitted pipeline in the skops format, which loads without arbitrary code.

    Requires the ``safe`` extra (``pip install automl[safe]``). Load it back with
    :func:`load_skops`, which shows you the types it would need to trust.
    """
    sio = _skops_io()
    path = Path(path)
    sio.dump(pipeline, path)
    return path


def load_skops(path: str | Path, trusted: list[str] | None = None) -> Any:
    """Load a skops file, trusting only the listed types beyond skops' safe defaults.

    Raises
    ------
    ValueError
        Listing the untrusted types found, if any are not in ``trusted``.
    """
    sio = _skops_io()
    untrusted = sio.get_untrusted_types(file=path)
    missing = sorted(set(untrusted) - set(trusted or []))
    if missing:
        raise ValueError(
            f"{str(path)!r} contains types that are not trusted by default: {missing}. "
            "Review them and pass them as trusted=[...] if you trust this file."
        )
    return sio.load(path, trusted=list(trusted or []))


def _skops_io() -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError(
            "Saving in the skops format needs the 'safe' extra: pip install 'automl[safe]'"
        ) from exc
    return sio


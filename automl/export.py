"""Export a pipeline as standalone Python source.

:func:`pipeline_source` renders an (unfitted or fitted) scikit-learn estimator as the Python
expression that constructs it, with the imports it needs. Estimators of our own (from
``automl.components``) are inlined as source, so the generated file imports scikit-learn,
LightGBM, XGBoost, numpy and pandas only, never ``automl``.

:func:`write_script` wraps that expression in a runnable script: it reads a training CSV,
prepares the columns exactly as the fitted model saw them, fits the pipeline with the same
seeds and writes predictions for a test CSV.
"""

from __future__ import annotations

import importlib
import inspect
import math
import types
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["pipeline_source", "write_script"]

_OWN_MODULES = ("automl.components", "automl.ensemble")


class _Renderer:
    """Turn objects into constructor source, collecting imports on the way."""

    def __init__(self) -> None:
        self.imports: set[str] = set()
        self.inline_modules: list[str] = []

    def render(self, obj: Any, indent: int = 0) -> str:
        if obj is None or isinstance(obj, (bool, str, int)) and not isinstance(obj, np.generic):
            return repr(obj)
        if isinstance(obj, float):
            return self._float(obj)
        if isinstance(obj, np.generic):
            return self.render(obj.item(), indent)
        if isinstance(obj, np.ndarray):
            self.imports.add("import numpy as np")
            return f"np.array({obj.tolist()!r}, dtype={str(obj.dtype)!r})"
        if isinstance(obj, (list, tuple)):
            return self._sequence(obj, indent)
        if isinstance(obj, dict):
            items = ", ".join(f"{self.render(k)}: {self.render(v, indent)}" for k, v in obj.items())
            return "{" + items + "}"
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
            return self._reference(obj)
        if isinstance(obj, np.dtype):
            self.imports.add("import numpy as np")
            return f"np.dtype({str(obj)!r})"
        if hasattr(obj, "get_params"):
            return self._estimator(obj, indent)
        raise TypeError(
            f"Cannot export an object of type {type(obj).__name__} ({obj!r}) as Python source."
        )

    def _float(self, value: float) -> str:
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)

    def _sequence(self, obj: list | tuple, indent: int) -> str:
        parts = [self.render(v, indent + 4) for v in obj]
        if isinstance(obj, tuple):
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if sum(len(p) for p in parts) < 60:
            return "[" + ", ".join(parts) + "]"
        pad = " " * (indent + 4)
        return "[\n" + "".join(f"{pad}{p},\n" for p in parts) + " " * indent + "]"

    def _reference(self, obj: Any) -> str:
        """A class or function: imported from its public module, or inlined if ours."""
        module = getattr(obj, "__module__", None) or ""
        name = getattr(obj, "__qualname__", None) or obj.__name__
        if module.startswith("automl"):
            if module not in _OWN_MODULES:
                raise TypeError(
                    f"{module}.{name} is not exportable: only classes from {_OWN_MODULES} are "
                    "inlined into standalone scripts."
                )
            if module not in self.inline_modules:
                self.inline_modules.append(module)
            return name
        if module == "builtins":
            return name
        public = _public_module(module, name, obj)
        self.imports.add(f"from {public} import {name}")
        return name

    def _estimator(self, obj: Any, indent: int) -> str:
        cls = type(obj)
        name = self._reference(cls)
        params = obj.get_params(deep=False)
        defaults = _init_defaults(cls)
        pad = " " * (indent + 4)
        args = []
        for key, value in params.items():
            if key in defaults and _same_default(defaults[key], value):
                continue
            args.append(f"{pad}{key}={self.render(value, indent + 4)},\n")
        if not args:
            return f"{name}()"
        return f"{name}(\n" + "".join(args) + " " * indent + ")"


def _init_defaults(cls: type) -> dict[str, Any]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    return {
        k: p.default
        for k, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _same_default(default: Any, value: Any) -> bool:
    if type(default) is not type(value):
        return False
    try:
        return bool(default == value)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare ambiguously
        return False


def _public_module(module: str, name: str, obj: Any) -> str:
    """The shortest parent package of ``module`` that exposes ``name`` as ``obj``."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        candidate = ".".join(parts[:end])
        if candidate.split(".")[-1].startswith("_") and end < len(parts):
            continue
        try:
            if getattr(importlib.import_module(candidate), name, None) is obj:
                return candidate
        except ImportError:
            continue
    return module


def pipeline_source(estimator: Any) -> tuple[list[str], str, list[str]]:
    """Render ``estimator`` as source.

    Returns
    -------
    imports : list of str
        Sorted import lines the expression needs.
    expression : str
        Python source constructing an unfitted copy of ``estimator``.
    inline_modules : list of str
        Our own modules whose source must be inlined before the expression.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> imports, expr, _ = pipeline_source(LogisticRegression(C=0.5))
    >>> imports, expr
    (['from sklearn.linear_model import LogisticRegression'], 'LogisticRegression(\\n    C=0.5,\\n)')
    """
    renderer = _Renderer()
    expression = renderer.render(_merge_identical_members(estimator))
    return sorted(renderer.imports), expression, renderer.inline_modules


def _merge_identical_members(estimator: Any) -> Any:
    """A weighted ensemble whose members render to the same source (the fold models of a
    blended bag: one configuration, one seed) as one member with their summed weight; an
    exported script refits every member, and refits of one configuration on the same rows
    are the same model. Anything else is returned as it is."""
    from automl.ensemble import WeightedEnsembleClassifier, WeightedEnsembleRegressor

    if not isinstance(estimator, (WeightedEnsembleClassifier, WeightedEnsembleRegressor)):
        return estimator
    members, weights = estimator._members()
    index: dict[str, int] = {}
    merged: list[list[Any]] = []
    for member, weight in zip(members, weights):
        key = _Renderer().render(member)
        if key in index:
            merged[index[key]][1] += float(weight)
        else:
            index[key] = len(merged)
            merged.append([member, float(weight)])
    if len(merged) == len(members):
        return estimator
    params = estimator.get_params(deep=False)
    params.update(estimators=[m for m, _ in merged], weights=[w for _, w in merged])
    return type(estimator)(**params)


def _module_body(module_name: str) -> str:
    """Source of one of our own modules, minus its ``from __future__`` line and ``__all__``."""
    source = inspect.getsource(importlib.import_module(module_name))
    lines = [
        line
        for line in source.splitlines()
        if not line.startswith("from __future__") and not line.startswith("from automl")
    ]
    return "\n".join(lines).strip() + "\n"


_SCRIPT = '''"""Standalone training script exported by automl {version}.

It rebuilds the model found by the search ({summary}), fits it on a training CSV and writes
predictions for a test CSV. It needs only the libraries imported below (no automl).

    python {filename} TRAIN.csv TEST.csv [OUTPUT.csv]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
{imports}

{inline}
TARGET = {target!r}
ID_COLUMN = {id_column!r}
# (name, dtype) of each model input column, as automl typed them at training time
COLUMNS = {columns!r}
CLASSES = {classes!r}


def prepare(frame):
    """Select the model's columns and give each its training dtype."""
    missing = [name for name, _ in COLUMNS if name not in frame.columns]
    if missing:
        sys.exit(f"error: the CSV lacks the columns {{missing}}")
    out = {{}}
    for name, dtype in COLUMNS:
        values = frame[name]
        if dtype == "float64":
            values = pd.to_numeric(values, errors="coerce").astype("float64")
            out[name] = values.where(np.isfinite(values))
        elif dtype == "boolean":
            out[name] = values.astype("boolean")
        elif dtype.startswith("datetime64"):
            out[name] = pd.to_datetime(values, errors="coerce").astype(dtype)
        else:
            out[name] = values.astype("str")
    return pd.DataFrame(out, index=frame.index)


def build_model():
    return {expression}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    train, test = pd.read_csv(argv[1]), pd.read_csv(argv[2])
    y = train.pop(TARGET)
    if CLASSES is not None:
        codes = {{label: code for code, label in enumerate(CLASSES)}}
        y = y.astype(str).map(codes).to_numpy()
    model = build_model().fit(prepare(train), y)
    out = pd.DataFrame(index=test.index)
    if ID_COLUMN is not None and ID_COLUMN in test.columns:
        out[ID_COLUMN] = test[ID_COLUMN]
    prediction = model.predict(prepare(test))
    if CLASSES is not None:
        prediction = np.asarray(CLASSES, dtype=object)[np.asarray(prediction, dtype=int)]
    out[TARGET] = prediction
    out.to_csv(argv[3] if len(argv) > 3 else sys.stdout, index=False)


if __name__ == "__main__":
    main(sys.argv)
'''


def write_script(path: str, model: Any, *, target: str, columns: list[tuple[str, str]],
                 classes: list[Any] | None, id_column: str | None = None,
                 summary: str = "", version: str = "") -> str:
    """Write a standalone script that fits ``model`` on a CSV and predicts another.

    Parameters
    ----------
    path : str
        The script to write.
    model : estimator
        The (fitted or unfitted) model to rebuild; for classification it was trained on
        the class codes ``0 .. k-1``.
    target : str
        The target column of the training CSV.
    columns : list of (name, dtype)
        The model's input columns and their training dtypes (``float64``, ``boolean``,
        ``str`` or a ``datetime64`` dtype).
    classes : list or None
        Class labels (their ``str`` forms) for classification; None for regression.
    id_column : str, optional
        Copied from the test CSV into the predictions.

    Returns
    -------
    str
        The source written.
    """
    imports, expression, inline = pipeline_source(model)
    source = _SCRIPT.format(
        version=version,
        summary=summary or "see the model's metadata",
        filename=Path(path).name,
        imports="\n".join(imports),
        inline="\n\n".join(_module_body(m) for m in inline),
        target=target,
        id_column=id_column,
        columns=[tuple(c) for c in columns],
        classes=None if classes is None else [str(c) for c in classes],
        expression=expression.replace("\n", "\n    "),
    )
    Path(path).write_text(source, encoding="utf-8")
    return source

"""The search-space language: hierarchical, conditional spaces as plain declarations.

A space is a tree. Leaves are :class:`Float`, :class:`Int`, :class:`Categorical` and
:class:`Constant`; the conditional node is :class:`Choice`, whose options are
:class:`Component` (an estimator plus its parameters), a plain ``dict`` of parameters,
or ``None`` (an option with no parameters, such as "no scaling").

Configurations
--------------
A configuration is a nested ``dict`` shaped like the tree. A leaf holds its value; a
``Choice`` holds a one-key ``dict`` ``{option: sub_configuration}``::

    {"model": {"svc": {"C": 1.0, "kernel": {"rbf": {"gamma": 0.1}}}}}

Its flat form maps full paths to values; a choice's own path holds the option name::

    {"model": "svc", "model.svc.C": 1.0, "model.svc.kernel": "rbf",
     "model.svc.kernel.rbf.gamma": 0.1}

This module imports neither scikit-learn nor pandas: it works on plain Python values and
takes an explicit :class:`numpy.random.Generator` wherever it draws random numbers.

Examples
--------
>>> import numpy as np
>>> space = Space({
...     "model": Choice({
...         "svc": Component("sklearn.svm.SVC", {
...             "C": Float(1e-3, 1e3, log=True),
...             "kernel": Choice({"rbf": {"gamma": Float(1e-4, 1.0, log=True)},
...                               "linear": None}),
...         }),
...         "knn": Component("sklearn.neighbors.KNeighborsClassifier",
...                          {"n_neighbors": Int(1, 50, log=True)}),
...     })
... })
>>> config = space.sample(np.random.default_rng(0))
>>> space.validate(config)
>>> space.unflatten(space.flatten(config)) == config
True
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any, Union

import numpy as np

from automl.exceptions import InvalidConfigurationError, SpaceDefinitionError

__all__ = [
    "Float",
    "Int",
    "Categorical",
    "Constant",
    "Choice",
    "Component",
    "Space",
]

SEP = "."

# ---------------------------------------------------------------------------------------
# leaves


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _same_value(a: Any, b: Any) -> bool:
    """Equality that tells ``True`` from ``1`` and ``1`` from ``"1"``."""
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and a == b
    if a is None or b is None:
        return a is None and b is None
    if _is_real(a) and _is_real(b):
        return a == b
    return type(a) is type(b) and a == b


def _json_scalar(value: Any, what: str) -> Any:
    """Return ``value`` as a plain JSON scalar, or fail with a clear message."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if _is_integer(value):
        return int(value)
    if _is_real(value):
        if not math.isfinite(float(value)):
            raise SpaceDefinitionError(f"{what} must be finite; got {value!r}.")
        return float(value)
    raise SpaceDefinitionError(
        f"{what} must be a JSON scalar (None, bool, int, float or str); got {value!r} "
        f"of type {type(value).__name__}."
    )


class Leaf:
    """Base class of the leaf primitives."""

    kind = "leaf"

    def sample(self, rng: np.random.Generator) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def default(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, value: Any) -> str | None:  # pragma: no cover - abstract
        """Return ``None`` if ``value`` is valid, else a phrase saying what was expected."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(repr(self))


class _Numeric(Leaf):
    """Shared code of :class:`Float` and :class:`Int`."""

    def __init__(self, low: float, high: float, log: bool = False, default: Any = None) -> None:
        name = type(self).__name__
        for label, bound in (("low", low), ("high", high)):
            if not _is_real(bound) or not math.isfinite(float(bound)):
                raise SpaceDefinitionError(f"{name}: {label} must be a finite number; got {bound!r}.")
        if low > high:
            raise SpaceDefinitionError(f"{name}: low must be <= high; got low={low!r}, high={high!r}.")
        if log and low <= 0:
            raise SpaceDefinitionError(
                f"{name}: a log-scaled range needs low > 0; got low={low!r}. "
                "Use log=False or a positive lower bound."
            )
        self.low, self.high, self.log = low, high, bool(log)
        self._default = default
        if default is not None and self.check(default) is not None:
            raise SpaceDefinitionError(f"{name}: default {default!r} is not {self.expected()}.")

    def expected(self) -> str:
        scale = ", log scale" if self.log else ""
        return f"a {self.number_word} in [{self.low}, {self.high}]{scale}"

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}
        if self._default is not None:
            out["default"] = self._default
        return out

    def __repr__(self) -> str:
        extra = ", log=True" if self.log else ""
        return f"{type(self).__name__}({self.low!r}, {self.high!r}{extra})"


class Float(_Numeric):
    """A real number in ``[low, high]``, uniform on a linear or log scale.

    Examples
    --------
    >>> Float(1e-4, 1.0, log=True).check(0.01) is None
    True
    """

    kind = "float"
    number_word = "number"

    def __init__(self, low: float, high: float, log: bool = False, default: float | None = None):
        super().__init__(float(low) if _is_real(low) else low, float(high) if _is_real(high) else high,
                         log, default)

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def default(self) -> float:
        if self._default is not None:
            return float(self._default)
        if self.log:
            return float(math.sqrt(self.low * self.high))
        return (self.low + self.high) / 2.0

    def check(self, value: Any) -> str | None:
        if not _is_real(value) or not math.isfinite(float(value)):
            return self.expected()
        if not self.low <= float(value) <= self.high:
            return self.expected()
        return None


class Int(_Numeric):
    """An integer in ``[low, high]`` (both included), uniform on a linear or log scale.

    Examples
    --------
    >>> Int(1, 10).check(10) is None
    True
    """

    kind = "int"
    number_word = "whole number"

    def __init__(self, low: int, high: int, log: bool = False, default: int | None = None):
        for label, bound in (("low", low), ("high", high)):
            if not _is_integer(bound):
                raise SpaceDefinitionError(f"Int: {label} must be an integer; got {bound!r}.")
        super().__init__(int(low), int(high), log, default)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            draw = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return int(min(self.high, max(self.low, math.floor(draw))))
        return int(rng.integers(self.low, self.high + 1))

    def default(self) -> int:
        if self._default is not None:
            return int(self._default)
        if self.log:
            return int(round(math.sqrt(self.low * self.high)))
        return int(round((self.low + self.high) / 2.0))

    def check(self, value: Any) -> str | None:
        if not _is_integer(value) or not self.low <= int(value) <= self.high:
            return self.expected()
        return None


class Categorical(Leaf):
    """One of a fixed list of JSON scalars (str, int, float, bool or None).

    Examples
    --------
    >>> Categorical(["gini", "entropy"]).default()
    'gini'
    """

    kind = "categorical"

    def __init__(self, choices: list[Any], default: Any = None) -> None:
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
            raise SpaceDefinitionError(f"Categorical: choices must be a list; got {choices!r}.")
        choices = [_json_scalar(c, "Categorical: a choice") for c in choices]
        if not choices:
            raise SpaceDefinitionError("Categorical: choices must not be empty.")
        for i, a in enumerate(choices):
            if any(_same_value(a, b) for b in choices[:i]):
                raise SpaceDefinitionError(f"Categorical: duplicate choice {a!r} in {choices!r}.")
        self.choices = choices
        self._default = default
        if default is not None and self.index(default) is None:
            raise SpaceDefinitionError(f"Categorical: default {default!r} is not one of {choices!r}.")

    def index(self, value: Any) -> int | None:
        """Position of ``value`` among the choices, or ``None``."""
        for i, choice in enumerate(self.choices):
            if _same_value(choice, value):
                return i
        return None

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def default(self) -> Any:
        return self.choices[0] if self._default is None else self._default

    def check(self, value: Any) -> str | None:
        return None if self.index(value) is not None else f"one of {self.choices!r}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "choices": list(self.choices)}
        if self._default is not None:
            out["default"] = self._default
        return out

    def __repr__(self) -> str:
        return f"Categorical({self.choices!r})"


class Constant(Leaf):
    """A fixed value (a JSON scalar). It appears in configurations but is never searched.

    Examples
    --------
    >>> Constant(-1).sample(None)
    -1
    """

    kind = "constant"

    def __init__(self, value: Any) -> None:
        self.value = _json_scalar(value, "Constant: the value")

    def sample(self, rng: np.random.Generator | None) -> Any:
        return self.value

    def default(self) -> Any:
        return self.value

    def check(self, value: Any) -> str | None:
        return None if _same_value(value, self.value) else f"the constant {self.value!r}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value}

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


# ---------------------------------------------------------------------------------------
# inner nodes

Params = dict  # name -> Node
Node = Union[Leaf, "Choice"]
Option = Union["Component", Mapping[str, Any], None]


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name or SEP in name:
        raise SpaceDefinitionError(
            f"{where}: names must be non-empty strings without {SEP!r}; got {name!r}."
        )
    return name


def _as_params(params: Any, where: str) -> dict[str, Any]:
    """Normalise a parameter declaration (dict or list of pairs), refusing duplicates."""
    if params is None:
        return {}
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    out: dict[str, Any] = {}
    for pair in items:
        name, node = pair
        _check_name(name, where)
        if name in out:
            raise SpaceDefinitionError(f"{where}: duplicate parameter name {name!r}.")
        if not isinstance(node, (Leaf, Choice)):
            raise SpaceDefinitionError(
                f"{where}: parameter {name!r} must be Float, Int, Categorical, Constant or "
                f"Choice; got {node!r}."
            )
        out[name] = node
    return out


def _check_kwarg_clashes(params: dict[str, Any], where: str, outer: frozenset = frozenset()) -> None:
    """Refuse a component whose branches would pass the same keyword twice."""
    clash = sorted(set(params) & outer)
    if clash:
        raise SpaceDefinitionError(
            f"{where}: {clash} declared inside an option clash with names the enclosing "
            "level already declares: a keyword may appear once per branch."
        )
    inner = outer | set(params)
    for node in params.values():
        if isinstance(node, Choice):
            for option in node.options.values():
                _check_kwarg_clashes(option.params, where, inner)


class Branch:
    """An option of a :class:`Choice`: a named group of parameters (maybe empty)."""

    def __init__(self, params: Any = None, where: str = "option") -> None:
        self.params: dict[str, Any] = _as_params(params, where)

    @property
    def is_component(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"type": "params", "params": {k: _node_to_dict(v) for k, v in self.params.items()}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Branch) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))


class Component(Branch):
    """An estimator (a class or its import path) with the space of its parameters.

    Parameter names are exactly the estimator's ``__init__`` names. Inside a component a
    ``Choice`` named ``k`` passes ``k=<option name>`` plus the option's own parameters, so
    conditional hyperparameters (an SVC's kernel and its gamma) nest naturally.

    Parameters
    ----------
    estimator : type or str
        The estimator class, or its import path (``"lightgbm.LGBMClassifier"``), which is
        imported only when the estimator is built.
    params : dict
        Parameter name -> primitive.
    **tags
        JSON-safe facts about the component for the builder and the search (for example
        ``native_categorical=True`` or ``scale_sensitive=True``).

    Examples
    --------
    >>> c = Component("sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": Int(1, 50)})
    >>> c.kwargs({"n_neighbors": 5})
    {'n_neighbors': 5}
    """

    def __init__(self, estimator: type | str, params: Any = None, **tags: Any) -> None:
        if isinstance(estimator, str):
            if SEP not in estimator:
                raise SpaceDefinitionError(
                    f"Component: an estimator path must look like 'package.Class'; got {estimator!r}."
                )
            self.estimator_path = estimator
            self._estimator: type | None = None
        elif isinstance(estimator, type):
            self.estimator_path = f"{estimator.__module__}.{estimator.__qualname__}"
            self._estimator = estimator
        else:
            raise SpaceDefinitionError(
                f"Component: estimator must be a class or an import path; got {estimator!r}."
            )
        super().__init__(params, where=f"Component({self.estimator_path})")
        _check_kwarg_clashes(self.params, f"Component({self.estimator_path})")
        self.tags = {k: v for k, v in tags.items()}

    @property
    def is_component(self) -> bool:
        return True

    def resolve(self) -> type:
        """Import and return the estimator class.

        Raises
        ------
        ImportError
            If the estimator's package is not installed; the message names it.
        """
        if self._estimator is None:
            module_name, _, attr = self.estimator_path.rpartition(SEP)
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise ImportError(
                    f"The component {self.estimator_path!r} needs the package "
                    f"{module_name.split(SEP)[0]!r}, which is not installed: pip install "
                    f"{module_name.split(SEP)[0]}"
                ) from exc
            self._estimator = getattr(module, attr)
        return self._estimator

    def kwargs(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the estimator from this component's sub-configuration."""
        return _params_to_kwargs(self.params, config)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(type="component", estimator=self.estimator_path)
        if self.tags:
            out["tags"] = dict(self.tags)
        return out


def _params_to_kwargs(params: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in params.items():
        value = config[name]
        if isinstance(node, Choice):
            option, sub = next(iter(value.items()))
            out[name] = option
            out.update(_params_to_kwargs(node.options[option].params, sub))
        else:
            out[name] = value
    return out


class Choice:
    """The conditional node: one of several named options, each with its own subtree.

    Parameters
    ----------
    options : dict
        Option name -> :class:`Component`, ``dict`` of parameters, or ``None``.
    default : str, optional
        The default option; the first one if not given.

    Examples
    --------
    >>> kernel = Choice({"rbf": {"gamma": Float(1e-4, 1.0, log=True)}, "linear": None})
    >>> kernel.names
    ['rbf', 'linear']
    """

    kind = "choice"

    def __init__(self, options: Any, default: str | None = None) -> None:
        items = list(options.items()) if isinstance(options, Mapping) else list(options or [])
        if not items:
            raise SpaceDefinitionError("Choice: options must not be empty.")
        self.options: dict[str, Branch] = {}
        for name, option in items:
            _check_name(name, "Choice")
            if name in self.options:
                raise SpaceDefinitionError(f"Choice: duplicate option name {name!r}.")
            self.options[name] = option if isinstance(option, Branch) else Branch(option, f"option {name!r}")
        if default is not None and default not in self.options:
            raise SpaceDefinitionError(f"Choice: default {default!r} is not one of {self.names}.")
        self._default = default

    @property
    def names(self) -> list[str]:
        return list(self.options)

    def default_option(self) -> str:
        return self._default if self._default is not None else self.names[0]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.kind,
            "options": {k: v.to_dict() for k, v in self.options.items()},
        }
        if self._default is not None:
            out["default"] = self._default
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Choice) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        return f"Choice({self.names!r})"


# ---------------------------------------------------------------------------------------
# (de)serialisation of nodes


def _node_to_dict(node: Any) -> dict[str, Any]:
    return node.to_dict()


def _node_from_dict(data: Mapping[str, Any]) -> Any:
    kind = data.get("type")
    if kind == "float":
        return Float(data["low"], data["high"], data.get("log", False), data.get("default"))
    if kind == "int":
        return Int(data["low"], data["high"], data.get("log", False), data.get("default"))
    if kind == "categorical":
        return Categorical(data["choices"], data.get("default"))
    if kind == "constant":
        return Constant(data["value"])
    if kind == "choice":
        options = {k: _branch_from_dict(v) for k, v in data["options"].items()}
        return Choice(options, data.get("default"))
    raise SpaceDefinitionError(f"Unknown node type {kind!r} in {dict(data)!r}.")


def _branch_from_dict(data: Mapping[str, Any]) -> Branch:
    params = {k: _node_from_dict(v) for k, v in data.get("params", {}).items()}
    if data.get("type") == "component":
        return Component(data["estimator"], params, **data.get("tags", {}))
    if data.get("type") == "params":
        return Branch(params)
    raise SpaceDefinitionError(f"Unknown option type {data.get('type')!r}.")


# ---------------------------------------------------------------------------------------
# walking the tree


def _sample(params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in params.items():
        if isinstance(node, Choice):
            option = node.names[int(rng.integers(len(node.options)))]
            out[name] = {option: _sample(node.options[option].params, rng)}
        else:
            out[name] = node.sample(rng)
    return out


def _default(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, node in params.items():
        if isinstance(node, Choice):
            option = node.default_option()
            out[name] = {option: _default(node.options[option].params)}
        else:
            out[name] = node.default()
    return out


def _fail(path: str, value: Any, expected: str) -> None:
    raise InvalidConfigurationError(
        f"Invalid configuration at {path!r}: got {value!r}, expected {expected}."
    )


def _validate(params: dict[str, Any], config: Any, prefix: str) -> None:
    where = prefix.rstrip(SEP) or "<root>"
    if not isinstance(config, Mapping):
        _fail(where, config, f"a dict with keys {sorted(params)}")
    extra = set(config) - set(params)
    if extra:
        _fail(prefix + sorted(map(str, extra))[0], config[sorted(extra, key=str)[0]],
              f"no such parameter (known here: {sorted(params)})")
    for name, node in params.items():
        path = prefix + name
        if name not in config:
            _fail(path, "<missing>", "a value" if not isinstance(node, Choice) else f"one of {node.names}")
        value = config[name]
        if isinstance(node, Choice):
            if not isinstance(value, Mapping) or len(value) != 1:
                _fail(path, value, f"a one-key dict {{option: {{...}}}} with option in {node.names}")
            option, sub = next(iter(value.items()))
            if option not in node.options:
                _fail(path, option, f"one of {node.names}")
            _validate(node.options[option].params, sub, f"{path}{SEP}{option}{SEP}")
        else:
            problem = node.check(value)
            if problem is not None:
                _fail(path, value, problem)


def _flatten(params: dict[str, Any], config: Mapping[str, Any], prefix: str, out: dict) -> None:
    for name, node in params.items():
        path = prefix + name
        value = config[name]
        if isinstance(node, Choice):
            option, sub = next(iter(value.items()))
            out[path] = option
            _flatten(node.options[option].params, sub, f"{path}{SEP}{option}{SEP}", out)
        else:
            out[path] = value


def _unflatten(params: dict[str, Any], flat: Mapping[str, Any], prefix: str, used: set) -> dict:
    out: dict[str, Any] = {}
    for name, node in params.items():
        path = prefix + name
        if path not in flat:
            _fail(path, "<missing>", "a value in the flat configuration")
        used.add(path)
        value = flat[path]
        if isinstance(node, Choice):
            if value not in node.options:
                _fail(path, value, f"one of {node.names}")
            sub = _unflatten(node.options[value].params, flat, f"{path}{SEP}{value}{SEP}", used)
            out[name] = {value: sub}
        else:
            out[name] = value
    return out


def _walk(params: dict[str, Any], prefix: str, parent: tuple[str, str] | None) -> Iterator:
    for name, node in params.items():
        path = prefix + name
        yield path, node, parent
        if isinstance(node, Choice):
            for option, branch in node.options.items():
                yield from _walk(branch.params, f"{path}{SEP}{option}{SEP}", (path, option))


def _render(params: dict[str, Any], indent: str, lines: list[str]) -> None:
    for name, node in params.items():
        if isinstance(node, Choice):
            lines.append(f"{indent}{name}: Choice")
            for option, branch in node.options.items():
                label = f" <{branch.estimator_path}>" if isinstance(branch, Component) else ""
                lines.append(f"{indent}  - {option}{label}")
                _render(branch.params, indent + "      ", lines)
        else:
            lines.append(f"{indent}{name}: {node!r}")


# ---------------------------------------------------------------------------------------
# the space


class Space:
    """A hierarchical, conditional search space.

    Parameters
    ----------
    params : dict
        Top-level name -> primitive; typically ``Choice`` nodes for the algorithm
        (``"model"``) and for each preprocessing step.
    algorithm_key : str, default="model"
        The top-level ``Choice`` that :meth:`restrict` filters.

    Examples
    --------
    >>> import numpy as np
    >>> space = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": None})})
    >>> space.flatten(space.default())
    {'model': 'a', 'model.a.x': 0.5}
    >>> space.active_parameters({"model": {"b": {}}})
    ['model']
    """

    def __init__(self, params: Any, algorithm_key: str = "model") -> None:
        self.params = _as_params(params, "Space")
        if not self.params:
            raise SpaceDefinitionError("Space: a space needs at least one parameter.")
        self.algorithm_key = algorithm_key

    # -- sampling -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one configuration from the prior (uniform over options and ranges)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
        return _sample(self.params, rng)

    def default(self) -> dict[str, Any]:
        """The default configuration: each choice's default option, each leaf's default."""
        return _default(self.params)

    # -- checking and converting --------------------------------------------------------
    def validate(self, config: Any) -> None:
        """Raise :class:`InvalidConfigurationError` naming the first bad path, if any."""
        _validate(self.params, config, "")

    def is_valid(self, config: Any) -> bool:
        """True if :meth:`validate` passes."""
        try:
            self.validate(config)
        except InvalidConfigurationError:
            return False
        return True

    def flatten(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Nested configuration -> ``{full path: value}`` of its active parameters."""
        self.validate(config)
        out: dict[str, Any] = {}
        _flatten(self.params, config, "", out)
        return out

    def unflatten(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """``{full path: value}`` -> nested configuration (inactive paths are refused)."""
        used: set[str] = set()
        config = _unflatten(self.params, flat, "", used)
        extra = sorted(set(flat) - used)
        if extra:
            _fail(extra[0], flat[extra[0]], "no such active parameter in this configuration")
        self.validate(config)
        return config

    def active_parameters(self, config: Mapping[str, Any]) -> list[str]:
        """Full path names of the parameters active in ``config``, top-down."""
        return list(self.flatten(config))

    def choice(self, config: Mapping[str, Any], key: str | None = None) -> str:
        """The option taken at top-level choice ``key`` (the algorithm by default)."""
        return next(iter(config[key or self.algorithm_key]))

    def branch(self, key: str, option: str) -> Branch:
        """The option ``option`` of the top-level choice ``key``."""
        node = self.params[key]
        if not isinstance(node, Choice):
            raise KeyError(f"{key!r} is not a Choice.")
        return node.options[option]

    # -- structure ----------------------------------------------------------------------
    def nodes(self) -> list[tuple[str, Any, tuple[str, str] | None]]:
        """Every node top-down as ``(path, node, condition)``.

        ``condition`` is ``(choice_path, option)`` of the nearest enclosing choice, or
        ``None`` for top-level parameters: a node is active exactly when its condition's
        choice is active and took that option.
        """
        return list(_walk(self.params, "", None))

    @property
    def algorithms(self) -> list[str]:
        """Option names of the algorithm choice."""
        node = self.params.get(self.algorithm_key)
        return node.names if isinstance(node, Choice) else []

    def restrict(self, include: list[str] | None = None, exclude: list[str] | None = None) -> "Space":
        """A copy of the space with only some algorithms.

        Raises
        ------
        ValueError
            If a name is unknown or nothing would be left.
        """
        node = self.params.get(self.algorithm_key)
        if not isinstance(node, Choice):
            raise ValueError(f"This space has no algorithm choice {self.algorithm_key!r} to restrict.")
        for label, names in (("include", include), ("exclude", exclude)):
            if names is None:
                continue
            if isinstance(names, str):
                names = [names]
            unknown = [n for n in names if n not in node.options]
            if unknown:
                raise ValueError(
                    f"{label} names unknown algorithms {unknown}; known: {node.names}."
                )
        keep = [n for n in node.names if (include is None or n in include)
                and (exclude is None or n not in exclude)]
        if not keep:
            raise ValueError(
                f"include={include!r} and exclude={exclude!r} leave no algorithm; "
                f"known: {node.names}."
            )
        default = node._default if node._default in keep else None
        params = dict(self.params)
        params[self.algorithm_key] = Choice({n: node.options[n] for n in keep}, default)
        return Space(params, self.algorithm_key)

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description of the whole space."""
        return {
            "format": 1,
            "algorithm_key": self.algorithm_key,
            "params": {k: _node_to_dict(v) for k, v in self.params.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Space":
        """Rebuild a space from :meth:`to_dict` output."""
        params = {k: _node_from_dict(v) for k, v in data["params"].items()}
        return cls(params, data.get("algorithm_key", "model"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __str__(self) -> str:
        lines = ["Space"]
        _render(self.params, "  ", lines)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Space({list(self.params)})"

"""The space seen as a tree of *groups*: the parameters active together on one branch.

The root group holds the top-level parameters; every option of every ``Choice`` holds
one group with that option's own parameters. A ``Choice`` is a categorical column of
its group (its value is the option's index) whose options lead to child groups. A group
is active in a configuration exactly when the choice leading to it took its option, so
each group is modelled only from the trials where it was active.

A ``Choice`` with a single option is always taken: its option's parameters are active
exactly when the branch holding it is, so they become columns of that branch's group
(one joint model and one decision less) instead of a group of their own.

Leaves that cannot vary (``Constant``, a one-category ``Categorical``, a numeric range
with ``low == high``) are not modelled: they are just emitted.

Examples
--------
>>> from automl.space import Choice, Float, Space
>>> space = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": None})})
>>> [g.prefix for g in build_groups(space)]
['', 'model.a.', 'model.b.']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from automl.space import Categorical, Choice, Constant, Float, Int, Space
from automl.tpe.parzen import Dim

__all__ = ["Group", "build_groups", "encode", "encode_value", "decode_value", "leaf_paths",
           "CHOICE_EXPLORATION"]

#: Extra smoothing of the kernels over a ``Choice``'s options, *per option*: an option
#: tried rarely keeps a fair chance, since one bad sub-branch should not condemn a whole
#: algorithm. The smoothing of a ``Choice`` with ``k`` options is scaled by
#: ``CHOICE_EXPLORATION * k``, so the share it spreads on each option,
#: ``0.75 / sqrt(n + 1)``, does not depend on how many options there are: 3 (as before)
#: for four options, which keeps the "functions" benchmark off its trap branch, but 1.5
#: for two and 2.25 for three, which lets nested choices settle sooner (RESULTS.md).
CHOICE_EXPLORATION = 0.75


@dataclass
class Group:
    """The searched parameters of one branch.

    A ``Choice`` with a single option is always taken, so its option's parameters are
    active exactly when the branch holding the choice is: they are columns of that
    branch's row (modelled jointly, no decision of their own), described by an
    *inlined* group that has no row of its own.

    Attributes
    ----------
    index : int
        Position in the list returned by :func:`build_groups` (top-down order); -1 for
        an inlined group.
    prefix : str
        Full-path prefix of the branch's parameters (``""`` for the root).
    names, nodes : lists
        The searched parameters of this branch: local name, space node.
    columns : list of int
        Column of the row holding each of ``names``.
    dims : list of Dim
        One per column of the row (the group's own parameters and those inlined into
        it); empty for an inlined group.
    constants : dict
        Local name -> value of the parameters that cannot vary.
    order : list of str
        Every local name, in declaration order (the order of the configuration dict).
    children : dict
        Column of a ``Choice`` -> option name -> child :class:`Group` (shared with the
        groups inlined into this one).
    inlined : dict
        Local name of a single-option ``Choice`` -> (option, inlined :class:`Group`).
    """

    index: int
    prefix: str
    names: list[str] = field(default_factory=list)
    nodes: list[Any] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)
    dims: list[Dim] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    children: dict[int, dict[str, "Group"]] = field(default_factory=dict)
    inlined: dict[str, tuple[str, "Group"]] = field(default_factory=dict)


def _fixed_value(node: Any) -> tuple[bool, Any]:
    """Whether a leaf cannot vary, and its only value."""
    if isinstance(node, Constant):
        return True, node.value
    if isinstance(node, Categorical) and len(node.choices) == 1:
        return True, node.choices[0]
    if isinstance(node, (Float, Int)) and node.low == node.high:
        return True, node.low
    return False, None


def _dim(node: Any) -> Dim:
    if isinstance(node, Choice):
        return Dim.categorical(len(node.options), CHOICE_EXPLORATION * len(node.options))
    if isinstance(node, Categorical):
        return Dim.categorical(len(node.choices))
    if isinstance(node, Int):
        return Dim.integer(node.low, node.high, node.log)
    return Dim.continuous(node.low, node.high, node.log)


def _build(params: Mapping[str, Any], prefix: str, groups: list[Group],
           host: Group | None = None) -> Group:
    """The group of ``params``; with ``host``, inlined into the host's row."""
    group = Group(index=len(groups) if host is None else -1, prefix=prefix, order=list(params))
    if host is None:
        groups.append(group)
        host = group
    group.children = host.children
    for name, node in params.items():
        fixed, value = _fixed_value(node)
        if fixed:
            group.constants[name] = value
        elif isinstance(node, Choice) and len(node.options) == 1:
            option, branch = next(iter(node.options.items()))
            group.inlined[name] = (option, _build(branch.params, f"{prefix}{name}.{option}.",
                                                  groups, host))
        else:
            group.names.append(name)
            group.nodes.append(node)
            group.columns.append(len(host.dims))
            host.dims.append(_dim(node))
            if isinstance(node, Choice):
                host.children[len(host.dims) - 1] = {
                    option: _build(branch.params, f"{prefix}{name}.{option}.", groups)
                    for option, branch in node.options.items()}
    return group


def build_groups(space: Space) -> list[Group]:
    """Every group of ``space``, top-down; the first is the root."""
    groups: list[Group] = []
    _build(space.params, "", groups)
    return groups


def leaf_paths(group: Group) -> int:
    """How many distinct branches a group holds: the product, over its ``Choice`` columns,
    of the sum of its options' own counts (1 for a group without ``Choice``).

    Examples
    --------
    >>> space = Space({"model": Choice({"a": {"k": Choice({"x": None, "y": None})},
    ...                                 "b": None})})
    >>> root = build_groups(space)[0]
    >>> leaf_paths(root), [leaf_paths(g) for g in root.children[0].values()]
    (3, [2, 1])
    """
    paths = 1
    for options in group.children.values():
        paths *= sum(leaf_paths(child) for child in options.values())
    return paths


def encode(group: Group, config: Mapping[str, Any]) -> Iterator[tuple[Group, list[float]]]:
    """Rows of the groups active in a (valid) nested configuration, top-down.

    Numeric values go to the internal scale, categories and options to their index.
    Rows are plain lists (a few floats each: cheaper than arrays to build and to hash).
    """
    row = [0.0] * len(group.dims)
    below: list[tuple[Group, Mapping[str, Any]]] = []
    _fill_row(group, config, row, below)
    yield group, row
    for child, sub in below:
        yield from encode(child, sub)


def _fill_row(group: Group, config: Mapping[str, Any], row: list[float],
              below: list[tuple[Group, Mapping[str, Any]]]) -> None:
    """Write a group's values (and its inlined groups') into the row of its host."""
    for name, node, column in zip(group.names, group.nodes, group.columns):
        value = config[name]
        if isinstance(node, Choice):
            option, sub = next(iter(value.items()))
            row[column] = encode_value(node, option)
            below.append((group.children[column][option], sub))
        else:
            row[column] = encode_value(node, value)
    for name, (option, inlined) in group.inlined.items():
        _fill_row(inlined, config[name][option], row, below)


def encode_value(node: Any, value: Any) -> float:
    """The row entry of one value (of a ``Choice``: the option's name), as :func:`encode`
    writes it.

    Examples
    --------
    >>> encode_value(Float(1e-3, 1.0, log=True), 1.0), encode_value(Categorical(["a", "b"]), "b")
    (0.0, 1.0)
    """
    if isinstance(node, Choice):
        return float(node.names.index(value))
    if isinstance(node, Categorical):
        return float(node.index(value))
    return math.log(value) if node.log else float(value)


def decode_value(node: Any, dim: Dim, z: float) -> Any:
    """The plain Python value (float, int, str, bool or None) a column entry stands for."""
    if isinstance(node, Choice):
        return node.names[int(z)]
    if isinstance(node, Categorical):
        return node.choices[int(z)]
    value = math.exp(z) if node.log else float(z)
    if isinstance(node, Int):  # as ``dim.integers``, in plain Python (a scalar)
        return int(min(node.high, max(node.low, round(value))))
    return float(min(node.high, max(node.low, value)))

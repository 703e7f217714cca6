"""The optimizer: a tree-structured Parzen estimator (TPE) and random search, pure numpy.

Both samplers share one ask/tell interface: ``suggest(allowed=None) -> config``,
``observe(config, loss, status="ok")`` and ``discard(config) -> bool`` (forget a pending
suggestion that will not be evaluated).

Modules: :mod:`~automl.tpe.kernels` (one-dimensional kernels),
:mod:`~automl.tpe.parzen` (observations -> mixtures), :mod:`~automl.tpe.split` (good/bad
split), :mod:`~automl.tpe.acquisition` (l/g over candidates), :mod:`~automl.tpe.tree`
(the space as groups of parameters active together), :mod:`~automl.tpe.mixture`
(mixtures over a whole subtree), :mod:`~automl.tpe.history` (observed rows per group),
:mod:`~automl.tpe.sampler` and :mod:`~automl.tpe.random_sampler`.

Examples
--------
>>> from automl.space import Choice, Float, Space
>>> space = Space({"model": Choice({"a": {"x": Float(0, 1)}, "b": None})})
>>> sampler = TPESampler(space, seed=0)
>>> config = sampler.suggest()
>>> sampler.observe(config, loss=0.3)
"""

from automl.tpe.base import STATUSES
from automl.tpe.random_sampler import RandomSampler
from automl.tpe.sampler import TPESampler

__all__ = ["STATUSES", "RandomSampler", "TPESampler"]

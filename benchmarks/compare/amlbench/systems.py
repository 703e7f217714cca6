"""The benchmarked systems: which environment runs each one and which adapter wraps it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class System:
    """One benchmarked system.

    Parameters
    ----------
    name : str
        The name used in results and tables.
    env : str
        The virtual environment under ``.envs/`` that runs it (see ``setup_envs.sh``).
    adapter : str
        ``"module:Class"`` inside :mod:`amlbench.adapters`.
    cap_threads : bool
        Whether the child gets ``OMP_NUM_THREADS`` (and friends) set to the core count.
        False for Dask-based systems, which oversubscribe the cores when these are set.

    Examples
    --------
    >>> SYSTEMS["prior"].env
    'baselines'
    """

    name: str
    env: str
    adapter: str
    cap_threads: bool = True


SYSTEMS: Dict[str, System] = {
    s.name: s
    for s in (
        System("automl", "automl", "ours:AutomlAdapter"),
        System("flaml", "flaml", "flaml_adapter:FlamlAdapter"),
        System("autogluon", "autogluon", "autogluon_adapter:AutoGluonAdapter"),
        System("autosklearn", "autosklearn", "autosklearn_adapter:AutoSklearnAdapter",
               cap_threads=False),
        System("tpot", "tpot", "tpot_adapter:TpotAdapter", cap_threads=False),
        System("hpsklearn", "hpsklearn", "hpsklearn_adapter:HyperoptSklearnAdapter"),
        System("optuna_lgbm", "baselines", "optuna_lgbm:OptunaLightGBMAdapter"),
        System("lightgbm", "baselines", "lgbm:LightGBMAdapter"),
        System("random_forest", "baselines", "rf:RandomForestAdapter"),
        System("prior", "baselines", "prior:PriorAdapter"),
    )
}

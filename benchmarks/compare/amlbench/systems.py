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
    ablation : bool
        A variant of ours with one mechanism switched off (issue 9's ablation); left out
        of ``--systems all`` and run only when named.

    Examples
    --------
    >>> SYSTEMS["prior"].env
    'baselines'
    >>> [s.name for s in SYSTEMS.values() if s.ablation][0]
    'automl_no_portfolio'
    """

    name: str
    env: str
    adapter: str
    cap_threads: bool = True
    ablation: bool = False


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
        System("automl_no_portfolio", "automl", "ours:NoPortfolioAdapter", ablation=True),
        System("automl_no_racing", "automl", "ours:NoRacingAdapter", ablation=True),
        System("automl_no_ensemble", "automl", "ours:NoEnsembleAdapter", ablation=True),
    )
}

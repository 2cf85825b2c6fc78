"""The options of the commands that have no config model of their own elsewhere: ``quickstart`` (overrides of
``experiments/configs/quickstart.yml``, whose values are their defaults), ``sweep`` (where its jobs run),
``bench``, ``data fetch``, ``data describe``, ``calibrate`` and ``fidelity``.

Each field is a flag (:func:`~shopgym.experiments.cli_checks.model_options`): its type, bounds, default and help
are declared once, here or in the config model it overrides. The defaults of ``calibrate`` and ``fidelity`` that
depend on the data set are declared once too, in ``DATA_DEFAULTS``: a flag left out takes its data set's value,
and its help lists them, generated from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from pydantic import BaseModel, Field

from shopgym.experiments.configs import (
    CONFIG_DIR,
    CompareConfig,
    EnvId,
    Seeds,
    Steps,
    TrainConfig,
    _Strict,
    load_config,
)

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; only an annotation here

#: The main job's config: its values are the defaults of the quickstart flags.
QUICKSTART = load_config(CONFIG_DIR / "quickstart.yml", CompareConfig)


def _as_in(model: type[BaseModel], name: str, **changes: Any) -> Any:
    """A field declared as ``model``'s field ``name`` is (its default and description), but for ``changes``."""
    field = model.model_fields[name]
    return Field(**{"default": field.default, "description": field.description, **changes})


def _steps(algo: str) -> int:
    """The quickstart's training budget of ``algo`` (env steps per seed)."""
    return next(a.n_timesteps for a in QUICKSTART.agents if a.algo == algo)


class QuickstartConfig(_Strict):
    """The main job's flags (``shopgym quickstart``): overrides of its config, ``QUICKSTART``."""

    seeds: Seeds = _as_in(CompareConfig, "seeds", default=QUICKSTART.seeds)
    ppo_steps: Steps = Field(_steps("ppo"), description="PPO env steps per seed")
    dqn_steps: Steps = Field(_steps("dqn"), description="DQN env steps per seed")
    eval_freq: Steps = _as_in(CompareConfig, "eval_freq", default=QUICKSTART.eval_freq)
    n_eval: Steps = _as_in(CompareConfig, "n_eval", default=QUICKSTART.n_eval)


class JobsConfig(_Strict):
    """Where a sweep's jobs run and how many at a time (``shopgym sweep``; the grid itself is a ``SweepConfig``)."""

    backend: str = Field("local", description="local (a process pool) or ray")
    workers: int | None = Field(None, ge=1, description="jobs at a time (default: cores / cpus_per_job)")
    address: str | None = Field(None, description="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray node)")


class BenchConfig(_Strict):
    """A throughput measurement of the batched simulator (``shopgym bench``)."""

    env: EnvId = _as_in(TrainConfig, "env")
    num_envs: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1024], description="shoppers per step; repeat the flag for several"
    )
    seconds: float = Field(2.0, gt=0.0, le=600.0, description="timed seconds per measurement")
    sync: bool = Field(False, description="also time a SyncVectorEnv of single envs at each size")


class FetchConfig(_Strict):
    """Downloading a data set (``shopgym data fetch``)."""

    timeout: float = Field(600.0, gt=0.0, description="seconds the download may take")


class DescribeConfig(_Strict):
    """The customer bootstrap of a data set's description (``shopgym data describe``)."""

    bootstrap: int = Field(200, ge=2, description="bootstrap resamples of the customers")
    seed: int = Field(0, ge=0, description="seed of the bootstrap")


class DataDefaults(NamedTuple):
    """What ``calibrate`` and ``fidelity`` default to on one data set."""

    name: str
    replicates: int
    bootstrap: int


#: The per-data-set defaults, declared once: the flags below fill a value not given from here, and their help lists
#: them, generated from here (``(default: … on obd, … on tafeng)``).
DATA_DEFAULTS = {
    "obd": DataDefaults(name="zozotown", replicates=100, bootstrap=1000),
    "tafeng": DataDefaults(name="tafeng", replicates=20, bootstrap=200),
}


def _by_data(field: str, description: str, **bounds: Any) -> Any:
    """A field whose default depends on the data set: None (not given) until :meth:`_ByData.on` fills it from
    ``DATA_DEFAULTS``; its description ends with each data set's default."""
    shown = ", ".join(f"{getattr(defaults, field)} on {data}" for data, defaults in DATA_DEFAULTS.items())
    return Field(None, description=f"{description} (default: {shown})", **bounds)


class _ByData(_Strict):
    def on(self, data: str) -> Self:
        """These options on ``data``: each one not given at that data set's default (``DATA_DEFAULTS``)."""
        defaults = DATA_DEFAULTS[data]._asdict()
        unset = {name: defaults[name] for name in defaults if name in type(self).model_fields}
        return self.model_copy(update={name: value for name, value in unset.items() if getattr(self, name) is None})


class CalibrateConfig(_ByData):
    """Fitting a scenario to a data set's logs (``shopgym calibrate``); ``obd:`` and ``tafeng:`` mark the options
    only one of them reads."""

    base: str = Field("fashion", description="obd: the preset whose shoppers are fitted")
    name: str | None = _by_data("name", "the calibrated scenario's name", min_length=1)
    policy: str = Field("random", description="obd: the logs' policy, random or bts")
    campaign: str = Field("all", description="obd: the logs' campaign, all, men or women")
    seed: int = Field(0, ge=0, description="seed of the simulated logs")
    simulated_rows: int = Field(5_000_000, ge=1, description="obd: impressions simulated per search step")
    shoppers: int = Field(6000, ge=1, description="tafeng: shopper slots of each simulated store")
    steps: int = Field(12, ge=0, description="tafeng: joint search steps after the Jacobian (after the blocks' start)")
    burn_in: int = Field(365, ge=0, description="tafeng: days simulated before the window")


class FidelityConfig(_ByData):
    """Comparing a scenario's shoppers with a data set's (``shopgym fidelity``)."""

    campaign: str = Field("all", description="obd: the logs' campaign, all, men or women")
    replicates: int | None = _by_data("replicates", "simulated logs of the real size", ge=2)
    bootstrap: int | None = _by_data("bootstrap", "bootstrap resamples of the real log", ge=2)
    seed: int = Field(0, ge=0, description="seed of the simulated logs and the bootstrap")
    burn_in: int = Field(365, ge=0, description="tafeng: days simulated before the windows")

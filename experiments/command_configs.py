"""The options of the commands that have no config model of their own elsewhere: ``quickstart`` (overrides of
``experiments/configs/quickstart.yml``, whose values are their defaults), ``sweep`` (where its jobs run),
``bench``, ``data fetch`` and ``data describe``.

Each field is a flag (:func:`~shopgym.experiments.cli_checks.model_options`): its type, bounds, default and help
are declared once, here or in the config model it overrides.
"""

from __future__ import annotations

from typing import Annotated, Any

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

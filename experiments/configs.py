"""Experiment configurations: validated models for one training run and for a comparison, loaded from YAML.

The standard experiments live in ``experiments/configs/*.yml``. A key that is not in the model is an error that
names it and lists the allowed ones; a value out of range names the field, the value and the range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import shopgym
from agents import POLICIES
from agents.sb3_agents import ALGORITHMS
from shopgym.params import ParameterError, format_validation_error
from shopgym.scenarios import resolve_scenario

__all__ = ["CONFIG_DIR", "AgentSpec", "BaselineSpec", "CompareConfig", "TrainConfig", "load_config"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Baselines a comparison can build from the task alone (the greedy model needs logs to fit: see agent_results).
COMPARABLE = sorted(set(POLICIES) - {"greedy"})

Steps = Annotated[int, Field(ge=1, le=10**10)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _known_env(value: str) -> str:
    if value not in shopgym.ENV_IDS:
        raise ValueError(f"unknown env id {value!r}; known: {', '.join(sorted(shopgym.ENV_IDS))}")
    return value


def _known_scenario(value: str) -> str:
    resolve_scenario(value)  # a ParameterError (a ValueError) names what is wrong
    return value


def _known_algo(value: str) -> str:
    if value not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {value!r}; known: {', '.join(ALGORITHMS)}")
    return value


class TrainConfig(_Strict):
    """One SB3 training run (``shopgym train``)."""

    algo: str = Field("ppo", description="ppo, dqn, a2c or recurrentppo")
    env: str = Field("shopgym/Marketing-v0", description="registered env id")
    scenario: str = Field("default", description="scenario preset name or YAML path")
    seed: int = Field(0, ge=0, description="training seed")
    n_timesteps: Steps = Field(300_000, description="env steps (shopper visits) to train for")
    eval_freq: Steps = Field(50_000, description="evaluate every this many env steps")
    n_eval: Steps = Field(500, description="shoppers per evaluation (the same ones every time)")
    eval_seed: int = Field(10_000, ge=0, description="seed of the evaluation shoppers")
    checkpoint_freq: int = Field(50_000, ge=0, description="checkpoint every this many env steps (0: never)")

    _algo = field_validator("algo")(_known_algo)
    _env = field_validator("env")(_known_env)
    _scenario = field_validator("scenario")(_known_scenario)


class AgentSpec(_Strict):
    """An SB3 agent in a comparison, trained once per seed."""

    algo: str
    n_timesteps: Steps

    _algo = field_validator("algo")(_known_algo)

    @property
    def label(self) -> str:
        return f"{self.algo.upper()} ({self.n_timesteps:,} steps)"


class BaselineSpec(_Strict):
    """A policy built from the task alone; online bandits first learn for one episode of other shoppers."""

    policy: str
    label: str | None = None
    params: dict[str, float | int] = Field(default_factory=dict)

    @field_validator("policy")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in COMPARABLE:
            raise ValueError(f"unknown baseline {value!r}; known: {', '.join(COMPARABLE)}")
        return value

    @property
    def learns_online(self) -> bool:
        return POLICIES[self.policy].learns_online

    @property
    def name(self) -> str:
        return self.label or self.policy.replace("_", " ")


class CompareConfig(_Strict):
    """Agents × training seeds and baselines, all evaluated on the same shoppers (``shopgym compare``)."""

    env: str = "shopgym/Marketing-v0"
    scenario: str = "default"
    seeds: int = Field(2, ge=1, le=1000, description="training seeds per agent (and policy seeds per baseline)")
    eval_freq: Steps = Field(50_000, description="evaluate agents every this many env steps while training")
    n_eval: Steps = Field(1000, description="evaluation shoppers, the same for every policy")
    eval_seed: int = Field(10_000, ge=0)
    checkpoint_freq: int = Field(0, ge=0, description="checkpoint agents every this many env steps (0: never)")
    agents: list[AgentSpec] = Field(default_factory=list)
    baselines: list[BaselineSpec] = Field(default_factory=list)
    reference: str | None = Field(
        None, description="label of the policy that incremental sales and promotion costs are measured against"
    )
    oracle: str | None = Field(None, description="label of a policy that reads hidden state: a reference line")

    _env = field_validator("env")(_known_env)
    _scenario = field_validator("scenario")(_known_scenario)

    @field_validator("baselines", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """A bare policy name is short for ``{policy: name}``."""
        if isinstance(value, list):
            return [{"policy": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CompareConfig:
        if not self.agents and not self.baselines:
            raise ValueError("a comparison needs at least one agent or baseline")
        names = [b.name for b in self.baselines] + [a.label for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"policy labels must be unique, got {names}")
        for role in ("reference", "oracle"):
            if (name := getattr(self, role)) is not None and name not in names:
                raise ValueError(f"{role} {name!r} is not one of the policies: {', '.join(names)}")
        return self


def load_config(path: str | Path, model: type[BaseModel], overrides: dict[str, Any] | None = None) -> Any:
    """Read and validate a YAML config (plus ``overrides`` of top-level keys) as ``model``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ParameterError(f"cannot read config {str(path)!r}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ParameterError(f"config {str(path)!r} is not valid YAML: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"config {str(path)!r} must be a mapping of keys to values")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise format_validation_error(error, f"config {str(path)!r}", model) from None

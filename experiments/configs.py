"""Experiment configurations (validated, from YAML) for runs and suites, and the options of ``eval``/``tune``/``plot``.

The standard experiments live in ``experiments/configs/*.yml``. A key that is not in the model is an error that
names it and lists the allowed ones; a value out of range names the field, the value and the range.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

import shopgym
from shopgym.agents import POLICIES
from shopgym.agents.sb3_options import ALGORITHM_NAMES
from shopgym.files import read_yaml
from shopgym.params import ParameterError, format_validation_error
from shopgym.scenarios import list_scenarios, resolve_scenario

__all__ = [
    "CONFIG_DIR",
    "AgentSpec",
    "BaselineSpec",
    "CompareConfig",
    "ContinualConfig",
    "EvalConfig",
    "PlotConfig",
    "ScenarioRef",
    "StudyConfig",
    "SuiteJob",
    "SweepConfig",
    "TrainConfig",
    "TransferConfig",
    "TransferPair",
    "load_config",
    "scenario_label",
    "unknown_choice",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Baselines a comparison can build from the task alone (the greedy model needs logs to fit).
COMPARABLE = sorted(set(POLICIES) - {"greedy"})

Steps = Annotated[int, Field(ge=1, le=10**10)]
#: Training seeds per agent (and policy seeds per baseline).
Seeds = Annotated[int, Field(ge=1, le=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def unknown_choice(kind: str, value: str, known: Sequence[str]) -> str:
    """The message for a ``value`` that is not one of ``known``: the closest match (ignoring case), if one is
    close, then all of them."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1)
    hint = f"did you mean {lowered[close[0]]!r}? " if close else ""
    return f"unknown {kind} {value!r}; {hint}known: {', '.join(known)}"


def _known_env(value: str) -> str:
    """A registered env id; an id without its namespace (``Promote-v1``) means the shopgym one."""
    for candidate in (value, f"shopgym/{value}"):
        if candidate in shopgym.ENV_IDS:
            return candidate
    raise ValueError(unknown_choice("env id", value, sorted(shopgym.ENV_IDS)))


def _from_config_folder(value: str, info: ValidationInfo) -> str:
    """A relative file path in a config file, resolved against that file's folder (``load_config`` passes it as
    the ``config_dir`` context); paths from flags or code stay relative to the working folder."""
    folder = (info.context or {}).get("config_dir")
    if folder is None or Path(value).is_absolute():
        return value
    return str((Path(folder) / value).resolve())


#: A file path: in a config file, relative to that file's folder.
ConfigPath = Annotated[str, AfterValidator(_from_config_folder)]


def _known_scenario_ref(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and value.endswith((".yml", ".yaml")):
        value = _from_config_folder(value, info)
    elif isinstance(value, str) and value not in list_scenarios():
        raise ValueError(unknown_choice("scenario", value, list_scenarios()))
    resolve_scenario(value)  # a ParameterError (a ValueError) names what is wrong
    return value


#: A scenario: a preset name, a YAML path (relative to the config file's folder; given as a flag, to the working
#: folder) or an inline mapping (which may start from a preset with ``base:``).
ScenarioRef = Annotated[str | dict[str, Any], AfterValidator(_known_scenario_ref)]


def scenario_label(scenario: str | dict[str, Any]) -> str:
    """A short name for a scenario reference: the scenario's own name."""
    return resolve_scenario(scenario).name


def _known_algo(value: str) -> str:
    """An SB3 algorithm name, in any case (``PPO`` is ``ppo``)."""
    if value.lower() not in ALGORITHM_NAMES:
        raise ValueError(unknown_choice("algorithm", value, ALGORITHM_NAMES))
    return value.lower()


#: A registered env id (``Promote-v1`` is ``shopgym/Promote-v1``) and an SB3 algorithm name (any case).
EnvId = Annotated[str, AfterValidator(_known_env)]
Algo = Annotated[str, AfterValidator(_known_algo)]
#: The seed of the shoppers every policy is evaluated on.
EvalSeed = Annotated[int, Field(ge=0, description="seed of the evaluation shoppers")]


class _Learner(_Strict):
    """The algorithm and env that every config of trained agents names (training runs, transfer, continual)."""

    algo: Algo = Field("ppo", description=f"{', '.join(ALGORITHM_NAMES)} (any case)")
    env: EnvId = Field("shopgym/Marketing-v1", description="registered env id (the shopgym/ prefix may be left out)")


class TrainConfig(_Learner):
    """One SB3 training run (``shopgym train``)."""

    scenario: ScenarioRef = Field("default", description="the market: preset name, YAML path or mapping")
    seed: int = Field(0, ge=0, description="training seed")
    n_timesteps: Steps = Field(300_000, description="env steps (shopper visits) to train for")
    eval_freq: Steps = Field(50_000, description="evaluate every this many env steps")
    n_eval: Steps = Field(500, description="shoppers per evaluation (the same ones every time)")
    eval_seed: EvalSeed = 10_000
    checkpoint_freq: int = Field(50_000, ge=0, description="checkpoint every this many env steps (0: never)")
    train_mix: list[ScenarioRef] = Field(
        default_factory=list, description="also train on these markets (slots split evenly; evaluation on scenario)"
    )
    init_from: ConfigPath | None = Field(None, description="a saved model folder whose weights start the training")


class AgentSpec(_Strict):
    """An SB3 agent in a comparison, trained once per seed."""

    algo: Algo
    n_timesteps: Steps

    @property
    def label(self) -> str:
        return f"{self.algo.upper()} ({self.n_timesteps:,} steps)"


class BaselineSpec(_Strict):
    """A policy that is not trained by the comparison: built from the task, or a saved plain-SB3 model.

    ``policy`` names a built-in policy, an import path ``package.module:ClassName`` or a ``shopgym.policies``
    entry point (:mod:`shopgym.agents.plugins`), built with ``kwargs`` (also spelt ``params``); ``sb3`` is the path of a
    model saved by stable-baselines3 (relative to the config file) with its ``algo``. Policies that learn online
    (bandits) first learn for one episode of other shoppers, then are evaluated frozen."""

    policy: str | None = None
    sb3: ConfigPath | None = Field(None, description="a model saved by stable-baselines3 (.zip), with algo")
    algo: str | None = Field(None, description="the SB3 algorithm that saved sb3")
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, validation_alias=AliasChoices("params", "kwargs"))

    @field_validator("policy")
    @classmethod
    def _known(cls, value: str) -> str:
        from shopgym.agents.plugins import policy_class

        if value in POLICIES and value not in COMPARABLE:
            raise ValueError(f"baseline {value!r} needs logs to fit and cannot be built from the task alone")
        policy_class(value)  # imports only a module the config names; a ValueError says what is missing
        return value

    @model_validator(mode="after")
    def _one_source(self) -> BaselineSpec:
        if (self.policy is None) == (self.sb3 is None):
            raise ValueError("a baseline needs either policy or sb3 (with algo)")
        if self.sb3 is not None:
            if self.algo is None:
                raise ValueError(f"sb3 {self.sb3!r} needs algo: one of {', '.join(ALGORITHM_NAMES)}")
            _known_algo(self.algo)
            if self.params:
                raise ValueError("kwargs apply to policy, not to an sb3 model")
        elif self.algo is not None:
            raise ValueError("algo applies to an sb3 model, not to policy")
        return self

    @property
    def learns_online(self) -> bool:
        from shopgym.agents.plugins import policy_class

        return self.policy is not None and bool(getattr(policy_class(self.policy), "learns_online", False))

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.sb3 is not None:
            return f"{self.algo.upper()} model {Path(self.sb3).stem}"
        return self.policy.rsplit(":", 1)[-1].replace("_", " ")

    def build(self, info: Any, seed: int) -> Any:
        """The policy for the task of ``info`` (a :class:`shopgym.agents.base.TaskInfo`) with this policy seed."""
        from shopgym.agents.plugins import SB3ModelPolicy, build_policy

        if self.sb3 is not None:
            return SB3ModelPolicy(self.sb3, self.algo, info)
        return build_policy(self.policy, info, seed=seed, **self.params)


class CompareConfig(_Strict):
    """Agents × training seeds and baselines, all evaluated on the same shoppers (``shopgym compare``)."""

    env: EnvId = "shopgym/Marketing-v1"
    scenario: ScenarioRef = "default"
    seeds: Seeds = Field(2, description="training seeds per agent (and policy seeds per baseline)")
    eval_freq: Steps = Field(50_000, description="evaluate agents every this many env steps while training")
    n_eval: Steps = Field(1000, description="evaluation shoppers, the same for every policy")
    eval_seed: EvalSeed = 10_000
    checkpoint_freq: int = Field(0, ge=0, description="checkpoint agents every this many env steps (0: never)")
    agents: list[AgentSpec] = Field(default_factory=list)
    baselines: list[BaselineSpec] = Field(default_factory=list)
    reference: str | None = Field(
        None, description="label of the policy that incremental sales and promotion costs are measured against"
    )
    oracle: str | None = Field(None, description="label of a policy that reads hidden state: a reference line")

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


class TransferPair(_Strict):
    """Pretrain on ``source`` (one scenario, or several mixed), then train on ``target``."""

    name: str = Field(min_length=1, description="what differs, e.g. 'new catalog'")
    source: list[ScenarioRef] = Field(min_length=1)
    target: ScenarioRef


class _AgentSuite(_Learner):
    """What every suite of one trained algorithm declares (transfer, continual): declared here once."""

    seeds: Seeds = Field(5, description="training seeds")
    n_eval: Steps = Field(1000, description="evaluation shoppers, the same every time")
    eval_seed: EvalSeed = 10_000


class TransferConfig(_AgentSuite):
    """Zero-shot, fine-tuned and from-scratch agents on each target (``shopgym transfer``)."""

    source_steps: Steps = Field(300_000, description="pretraining env steps on the source")
    target_steps: Steps = Field(300_000, description="env steps on the target, for fine-tuning and from scratch")
    eval_freq: Steps = Field(25_000, description="evaluate on the target every this many env steps")
    threshold: float = Field(
        1.0, gt=0.0, le=2.0, description="time to threshold: this fraction of the from-scratch final performance"
    )
    pairs: list[TransferPair] = Field(min_length=1)


class ContinualConfig(_AgentSuite):
    """A sequence of markets trained in order, every market evaluated after every stage (``shopgym continual``)."""

    scenarios: list[ScenarioRef] = Field(min_length=2, description="the markets, in training order")
    steps_per_stage: Steps = Field(200_000, description="env steps per market")
    strategies: list[Literal["naive", "reset", "rehearsal", "multitask"]] = Field(
        default_factory=lambda: ["naive", "reset", "rehearsal", "multitask"], min_length=1
    )
    rehearsal_fraction: float = Field(
        0.5, gt=0.0, lt=1.0, description="rehearsal: share of the slots given to earlier markets"
    )
    drift_scenario: ScenarioRef | None = Field(None, description="a market with drift on its clock")
    drift_pretrain_steps: Steps = Field(200_000, description="training before the drifting market starts")
    drift_steps: Steps = Field(600_000, description="env steps through the drifting market")


class SuiteJob(_Strict):
    """A whole comparison, transfer or continual suite run as one job of a sweep."""

    kind: Literal["compare", "transfer", "continual"]
    config: ConfigPath = Field(min_length=1, description="the suite's YAML config (relative to the sweep config)")


class EvalConfig(_Strict):
    """Evaluating a saved agent on fresh shoppers (``shopgym eval``); env and market default to the agent's own."""

    env: EnvId | None = Field(
        None, description="evaluate on this env id, with the same observations and actions (default: the model's)"
    )
    scenario: ScenarioRef | None = Field(
        None, description="evaluate in this market: preset name or YAML path (default: the one saved with the model)"
    )
    n_shoppers: int = Field(1000, ge=1, description="shoppers, one episode each")
    seed: EvalSeed = 10_000


class StudyConfig(_Strict):
    """The Optuna study a hyperparameter search runs in (``shopgym tune``; the search itself is a ``TuneConfig``)."""

    trials: int = Field(20, ge=1, description="search until this many trials have ended (finished or pruned)")
    storage: str | None = Field(None, description="Optuna storage URL shared by workers (default: OUT/study.db)")
    study_name: str = Field("shopgym-tune", description="study name in the storage")


class PlotConfig(_Strict):
    """Learning-curve figures of training runs (``shopgym plot``)."""

    title: str = Field("evaluation return while training", description="title of a learning-curve plot")
    split: bool = Field(False, description="runs of several env × scenario pairs: one figure each (default: refuse)")


class TargetsConfig(_Strict):
    """The project's acceptance targets for docs/results.md (``experiments/configs/targets.yml``)."""

    pricing_ratio: float = Field(gt=0.0, le=1.0, description="Pricing-v1: J(π) / J* at least this, IQM over seeds")
    marketing_algo: Algo = Field(description="Marketing-v1: the agents held to marketing_gain over the baselines")
    marketing_gain: float = Field(ge=0.0, le=10.0, description="Marketing-v1: their gain over the best non-oracle one")
    transfer_threshold_fraction: float = Field(
        gt=0.0, le=1.0, description="transfer: median time to threshold at most this share of the target budget"
    )
    transfer_pairs: int = Field(ge=1, description="transfer: pairs that must meet the jumpstart and time targets")


class SweepConfig(_Strict):
    """A grid of training runs (and whole suites), each job writing only its own folder (``shopgym sweep``)."""

    base: dict[str, Any] = Field(default_factory=dict, description="train config keys shared by every grid job")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="train config keys → values to cross")
    suites: list[SuiteJob] = Field(default_factory=list)
    cpus_per_job: int = Field(1, ge=1, le=1024, description="CPU cores (torch threads) per job")
    gpus_per_job: float = Field(0.0, ge=0.0, le=64.0, description="GPUs per job (Ray backend)")

    @model_validator(mode="after")
    def _check(self) -> SweepConfig:
        allowed = set(TrainConfig.model_fields)
        for section in ("base", "grid"):
            unknown = sorted(set(getattr(self, section)) - allowed)
            if unknown:
                raise ValueError(
                    f"{section}: unknown train config keys {unknown}; allowed: {', '.join(TrainConfig.model_fields)}"
                )
        overlap = sorted(set(self.base) & set(self.grid))
        if overlap:
            raise ValueError(f"keys {overlap} are in both base and grid")
        if any(not values for values in self.grid.values()):
            raise ValueError("every grid key needs at least one value")
        if not self.grid and not self.base and not self.suites:
            raise ValueError("a sweep needs a grid (with base) or suites")
        return self


def load_config(path: str | Path, model: type[BaseModel], overrides: dict[str, Any] | None = None) -> Any:
    """Read (:func:`~shopgym.files.read_yaml`) and validate a YAML config (plus ``overrides`` of top-level keys) as
    ``model``. Relative file paths in the file are read from the file's folder; those in ``overrides`` (flags)
    from the working folder."""
    path = Path(path)
    data = read_yaml(path, "config")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"config {str(path)!r} must be a mapping of keys to values")
    for key, value in (overrides or {}).items():
        if isinstance(value, str) and value.endswith((".yml", ".yaml")):
            value = str(Path(value).resolve())
        if value is not None:
            data[key] = value
    try:
        return model.model_validate(data, context={"config_dir": path.resolve().parent})
    except ValidationError as error:
        raise format_validation_error(error, f"config {str(path)!r}", model) from None

"""The continual-learning strategies: what each does at a stage, as small classes in one registry.

A strategy decides, at each stage k of the market sequence, whether the agent starts afresh and which env it
trains in (``None``: it keeps training where it is), and checks the config and hyperparameters it needs. Its
``sequential`` flag says whether row k of its R matrix means "after training on market k".
"""

from __future__ import annotations

from collections.abc import Sequence

from stable_baselines3.common.vec_env import VecEnv

from shopgym.agents.sb3_agents import HyperParams
from shopgym.envs.sb3 import ConcatShopVecEnv, make_mixed_sb3_vec_env, make_sb3_vec_env
from shopgym.experiments.configs import ContinualConfig, ScenarioRef
from shopgym.params import ParameterError

__all__ = ["STRATEGIES", "Multitask", "Naive", "Rehearsal", "Reset", "Strategy", "env_seed", "rehearsal_sizes"]


def env_seed(seed: int, stage: int, part: int = 0) -> int:
    """Market seed of training env ``part`` of ``stage`` for training seed ``seed``: distinct for every
    (seed, stage, part) with stage and part below 1000."""
    return 1_000_000 * (seed + 1) + 1_000 * stage + part


def rehearsal_sizes(n_envs: int, n_earlier: int, fraction: float) -> list[int]:
    """Slots of a rehearsal env: round(``fraction`` · ``n_envs``) split as evenly as possible over the
    ``n_earlier`` earlier markets, then the rest for the current market (list [n_earlier + 1], sum n_envs).
    Raises :class:`ParameterError` when a market would get no slot."""
    replay = round(fraction * n_envs)
    if not n_earlier <= replay < n_envs:
        raise ParameterError(
            f"rehearsal_fraction {fraction} of {n_envs} env slots gives {replay} replay slots: need at least one"
            f" for each of {n_earlier} earlier markets and one for the current market (more n_envs or another"
            " fraction)"
        )
    sizes = [replay // n_earlier + (j < replay % n_earlier) for j in range(n_earlier)]
    return [*sizes, n_envs - replay]


class Strategy:
    """A continual-learning strategy. The base behaviour, which subclasses change where they differ: one agent
    that goes on learning, each stage in that stage's market."""

    name: str
    sequential = True

    def starts_afresh(self, stage: int) -> bool:
        """Whether the agent is replaced by a fresh one (same seed, same initial weights) at ``stage``."""
        return False

    def env(self, config: ContinualConfig, n_envs: int, seed: int, stage: int) -> VecEnv | None:
        """The env to train in at ``stage`` (None: the one of the previous stage)."""
        return make_sb3_vec_env(config.env, n_envs, seed=env_seed(seed, stage), scenario=config.scenarios[stage])

    def check(self, config: ContinualConfig, hyperparams: HyperParams) -> None:
        """Raise :class:`ParameterError` if this strategy cannot run ``config`` with ``hyperparams``."""


class Naive(Strategy):
    """One agent goes on learning in each new market."""

    name = "naive"


class Reset(Strategy):
    """A fresh agent for every stage, trained only on that stage's market."""

    name = "reset"

    def starts_afresh(self, stage: int) -> bool:
        return stage > 0


class Rehearsal(Strategy):
    """Like naive, but from stage 2 on a share ``rehearsal_fraction`` of the env slots replays the earlier markets
    (split evenly among them), the rest serves the current one: same slots, same env steps."""

    name = "rehearsal"

    def env(self, config: ContinualConfig, n_envs: int, seed: int, stage: int) -> VecEnv | None:
        if stage == 0:
            return super().env(config, n_envs, seed, stage)
        markets: Sequence[ScenarioRef] = config.scenarios[: stage + 1]
        sizes = rehearsal_sizes(n_envs, stage, config.rehearsal_fraction)
        first = env_seed(seed, stage)
        parts = [
            make_sb3_vec_env(config.env, size, seed=first + j, scenario=scenario)
            for j, (scenario, size) in enumerate(zip(markets, sizes, strict=True))
        ]
        return ConcatShopVecEnv(parts)

    def check(self, config: ContinualConfig, hyperparams: HyperParams) -> None:
        rehearsal_sizes(hyperparams.n_envs, len(config.scenarios) - 1, config.rehearsal_fraction)


class Multitask(Strategy):
    """An upper reference: one agent trained on all markets at once (slots split evenly) for K ×
    ``steps_per_stage`` env steps, evaluated after each of K equal chunks; only its last row is a final result."""

    name = "multitask"
    sequential = False

    def env(self, config: ContinualConfig, n_envs: int, seed: int, stage: int) -> VecEnv | None:
        if stage > 0:
            return None  # it keeps training in the one env of all markets
        return make_mixed_sb3_vec_env(config.env, config.scenarios, n_envs, seed=env_seed(seed, 0))

    def check(self, config: ContinualConfig, hyperparams: HyperParams) -> None:
        K = len(config.scenarios)
        if hyperparams.n_envs < K:
            raise ParameterError(f"multitask needs n_envs ≥ {K} (one slot per market), got {hyperparams.n_envs}")


#: The strategies by the names a :class:`ContinualConfig` lists.
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Naive(), Reset(), Rehearsal(), Multitask())}

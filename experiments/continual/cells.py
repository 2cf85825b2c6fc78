"""One (strategy, seed) cell of the continual-learning protocol: the envs of each stage (with rehearsal slots) and
the agent trained through the markets and evaluated after every stage."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import HyperParams, SB3Agent
from shopgym.envs.sb3 import ConcatShopVecEnv, make_mixed_sb3_vec_env, make_sb3_vec_env
from shopgym.experiments.configs import ContinualConfig, ScenarioRef
from shopgym.experiments.stats import half_width
from shopgym.params import ParameterError


# ---------------------------------------------------------------------------------------------------- envs
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


def _rehearsal_env(env_id: str, scenarios: Sequence[ScenarioRef], n_envs: int, fraction: float, seed: int) -> VecEnv:
    """Earlier markets ``scenarios[:-1]`` (replay) and the current one, ``scenarios[-1]``, in one VecEnv."""
    sizes = rehearsal_sizes(n_envs, len(scenarios) - 1, fraction)
    parts = [
        make_sb3_vec_env(env_id, size, seed=seed + j, scenario=scenario)
        for j, (scenario, size) in enumerate(zip(scenarios, sizes, strict=True))
    ]
    return ConcatShopVecEnv(parts)


def rollout_size(model: BaseAlgorithm) -> int:
    """Env steps by which SB3's ``learn`` advances: it trains in whole rollouts (on-policy) or train periods."""
    if isinstance(model, OnPolicyAlgorithm):
        return model.n_steps * model.n_envs
    return model.train_freq.frequency * model.n_envs  # off-policy; HyperParams gives train_freq in steps


# ---------------------------------------------------------------------------------------------------- one cell
def new_agent(
    config: ContinualConfig, hyperparams: HyperParams, seed: int, device: str, scenario: ScenarioRef
) -> SB3Agent:
    """A fresh agent for ``scenario`` (same seed, same initial weights)."""
    return SB3Agent(config.algo, config.env, hyperparams, seed=seed, device=device, env_kwargs={"scenario": scenario})


def _scores(agent: SB3Agent, config: ContinualConfig) -> tuple[list[float], list[float]]:
    """Profit per shopper of the (deterministic, frozen) agent on every market, the same shoppers each time, and
    the half-widths of their 95 % intervals over those shoppers."""
    results = [evaluate(agent, config.env, config.n_eval, config.eval_seed, scenario=s) for s in config.scenarios]
    return [r.kpis()["profit_per_shopper"] for r in results], [half_width(r.totals["profit"]) for r in results]


def _stage_env(config: ContinualConfig, n_envs: int, strategy: str, seed: int, stage: int) -> VecEnv:
    if strategy == "multitask":
        return make_mixed_sb3_vec_env(config.env, config.scenarios, n_envs, seed=env_seed(seed, 0))
    if strategy == "rehearsal" and stage > 0:
        markets = config.scenarios[: stage + 1]
        return _rehearsal_env(config.env, markets, n_envs, config.rehearsal_fraction, env_seed(seed, stage))
    return make_sb3_vec_env(config.env, n_envs, seed=env_seed(seed, stage), scenario=config.scenarios[stage])


def run_cell(
    config: ContinualConfig, strategy: str, seed: int, hyperparams: HyperParams, device: str
) -> dict[str, Any]:
    """Train one strategy with one seed through all stages; R [K, K], b [K], the half-widths of their intervals
    over the evaluation shoppers, env steps and seconds."""
    started = time.perf_counter()
    agent = new_agent(config, hyperparams, seed, device, config.scenarios[0])
    b, b_widths = _scores(agent, config)
    rows, widths, env_steps, train_seconds = [], [], 0, 0.0
    for stage, scenario in enumerate(config.scenarios):
        if strategy == "reset" and stage > 0:
            env_steps += agent.model.num_timesteps
            agent = new_agent(config, hyperparams, seed, device, scenario)
        if strategy != "multitask" or stage == 0:  # multitask keeps training in one env of all markets
            agent.use_env(_stage_env(config, hyperparams.n_envs, strategy, seed, stage), {"scenario": scenario})
        learning = time.perf_counter()
        agent.learn(config.steps_per_stage)
        train_seconds += time.perf_counter() - learning
        scores, half_widths = _scores(agent, config)
        rows.append(scores)
        widths.append(half_widths)
    env_steps += agent.model.num_timesteps
    return {
        "strategy": strategy,
        "seed": seed,
        "R": rows,
        "b": b,
        "R_half_width": widths,
        "b_half_width": b_widths,
        "env_steps": int(env_steps),
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
    }

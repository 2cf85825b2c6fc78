"""One (strategy, seed) cell of the continual-learning protocol: the agent trained through the markets as its
strategy (:mod:`~shopgym.experiments.continual.strategies`) says, evaluated after every stage."""

from __future__ import annotations

import time
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import HyperParams, SB3Agent
from shopgym.experiments.configs import ContinualConfig, ScenarioRef
from shopgym.experiments.continual.strategies import STRATEGIES
from shopgym.experiments.stats import half_width


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


def run_cell(
    config: ContinualConfig, strategy: str, seed: int, hyperparams: HyperParams, device: str
) -> dict[str, Any]:
    """Train one strategy with one seed through all stages; R [K, K], b [K], the half-widths of their intervals
    over the evaluation shoppers, env steps and seconds."""
    started = time.perf_counter()
    agent = new_agent(config, hyperparams, seed, device, config.scenarios[0])
    b, b_widths = _scores(agent, config)
    rows, widths, env_steps, train_seconds = [], [], 0, 0.0
    plan = STRATEGIES[strategy]
    for stage, scenario in enumerate(config.scenarios):
        if plan.starts_afresh(stage):
            env_steps += agent.model.num_timesteps
            agent = new_agent(config, hyperparams, seed, device, scenario)
        env = plan.env(config, hyperparams.n_envs, seed, stage)
        if env is not None:
            agent.use_env(env, {"scenario": scenario})
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

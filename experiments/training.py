"""Train one SB3 agent into a run directory, evaluating it periodically on fixed shoppers."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from agents.evaluation import evaluate
from agents.sb3_agents import SB3Agent
from experiments.runs import RunDirectory

__all__ = ["EvaluationCallback", "train_agent"]


class EvaluationCallback(BaseCallback):
    """Every ``eval_freq`` env steps, evaluate the agent (frozen) on the same ``n_eval`` shoppers and rewrite
    ``evaluations.csv`` in the run directory."""

    def __init__(self, agent: SB3Agent, run: RunDirectory, eval_freq: int, n_eval: int, eval_seed: int) -> None:
        super().__init__()
        self.agent, self.run = agent, run
        self.eval_freq, self.n_eval, self.eval_seed = eval_freq, n_eval, eval_seed
        self.rows: list[dict[str, Any]] = []
        self.next_eval = 0
        self.start = time.perf_counter()

    def evaluate_now(self) -> None:
        result = evaluate(self.agent, self.agent.env_id, self.n_eval, self.eval_seed, **self.agent.env_kwargs)
        half_width = 1.96 * result.returns.std() / np.sqrt(result.returns.size)
        self.rows.append(
            {
                "env_steps": int(self.agent.model.num_timesteps),
                "wall_seconds": round(time.perf_counter() - self.start, 2),
                "mean_return": result.mean_return,
                "ci95_half_width": float(half_width),
                **{k: v for k, v in result.kpis().items() if k != "return"},
            }
        )
        self.run.write_csv("evaluations.csv", self.rows)

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self.next_eval:
            self.evaluate_now()
            self.next_eval = self.model.num_timesteps + self.eval_freq
        return True


def train_agent(
    run: RunDirectory,
    algo: str,
    env_id: str,
    seed: int,
    n_timesteps: int,
    eval_freq: int,
    n_eval: int = 500,
    eval_seed: int = 10_000,
    device: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, evaluate along the way and at the end, save the model; returns (and writes) the summary."""
    config = {
        "algo": algo,
        "env_id": env_id,
        "seed": seed,
        "n_timesteps": n_timesteps,
        "eval_freq": eval_freq,
        "n_eval": n_eval,
        "eval_seed": eval_seed,
        "device": device,
        "env_kwargs": env_kwargs or {},
    }
    agent = SB3Agent(algo, env_id, seed=seed, device=device, env_kwargs=env_kwargs)
    config["hyperparams"] = agent.hyperparams.model_dump(mode="json")
    run.start(config)
    callback = EvaluationCallback(agent, run, eval_freq, n_eval, eval_seed)
    start = time.perf_counter()
    agent.learn(n_timesteps, callback=callback)
    seconds = time.perf_counter() - start
    callback.evaluate_now()
    agent.save(run.path / "model")
    final = callback.rows[-1]
    summary = {
        "algo": algo,
        "env_id": env_id,
        "seed": seed,
        "env_steps": int(agent.model.num_timesteps),
        "train_seconds": round(seconds, 2),
        "env_steps_per_second": round(agent.model.num_timesteps / seconds, 1),
        "final_mean_return": final["mean_return"],
        "final_ci95_half_width": final["ci95_half_width"],
        "final_kpis": {k: final[k] for k in final if k not in ("env_steps", "wall_seconds", "mean_return")},
        "device": str(agent.model.device),
    }
    run.write_json("summary.json", summary)
    return summary

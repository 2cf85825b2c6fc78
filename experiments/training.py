"""Train one SB3 agent into a run directory: periodic evaluations on fixed shoppers, CSV progress and episode
logs, checkpoints that ``resume`` continues from, an optional progress bar and TensorBoard events."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress
from stable_baselines3.common.callbacks import BaseCallback

from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import HyperParams, SB3Agent, load_hyperparams
from shopgym.envs.sb3 import make_mixed_sb3_vec_env
from shopgym.experiments.checkpoints import has_checkpoint, load_checkpoint, save_checkpoint
from shopgym.experiments.configs import TrainConfig
from shopgym.experiments.logs import CsvLog
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.progress import progress_bar as make_progress_bar
from shopgym.experiments.runs import TRAINING, RunDirectory, RunError
from shopgym.scenarios import resolve_scenario, scenario_record

__all__ = ["TrainingCallback", "train_agent", "train_or_resume"]

log = logging.getLogger("shopgym")

PROGRESS_FIELDS = ["env_steps", "wall_seconds", "env_steps_per_second", "episodes", "ep_return_mean", "ep_length_mean"]
EPISODE_FIELDS = ["env_steps", "return", "length"]
PROGRESS_ROWS = 200  # progress.csv gets about this many rows per run


class TrainingCallback(BaseCallback):
    """Writes a run's logs while SB3 trains and takes its checkpoints.

    - ``evaluations.csv``: at the start of training, every ``eval_freq`` env steps (at the first rollout
      boundary past each multiple) and at the end, the frozen agent on the same ``n_eval`` shoppers;
    - ``progress.csv``: about :data:`PROGRESS_ROWS` rows of throughput and training-episode returns;
    - ``episodes.csv``: every finished training episode (return in reward units, length in visits);
    - ``checkpoint/``: every ``checkpoint_freq`` env steps, at the start of a rollout.

    Everything the schedule needs is in :meth:`state`, saved in each checkpoint and given back on resume.
    """

    def __init__(
        self,
        agent: SB3Agent,
        run: RunDirectory,
        config: TrainConfig,
        resumed: dict[str, Any] | None = None,
        progress_bar: bool = False,
    ) -> None:
        super().__init__()
        self.agent, self.run, self.config = agent, run, config
        self.log_every = max(config.n_timesteps // PROGRESS_ROWS, 1)
        self.resumed = resumed
        self._state: dict[str, Any] = {
            "next_eval": 0,
            "next_log": self.log_every,
            "next_checkpoint": config.checkpoint_freq,
            "elapsed": 0.0,
            "episodes": 0,
            "window": [0, 0.0, 0.0],  # episodes, return sum, length sum since the last progress row
            "window_start": [0, 0.0],  # env steps, elapsed seconds at the last progress row
            "last_evaluation": None,
            "log_sizes": {},
        }
        if resumed is not None:
            self._state.update(resumed)
        self.logs: dict[str, CsvLog] = {}
        self.progress_bar = progress_bar
        self._bar: Progress | None = None
        self._clock = time.perf_counter()
        self._elapsed_at_start = self._state["elapsed"]

    # ------------------------------------------------------------------ state
    @property
    def elapsed(self) -> float:
        """Training wall seconds over all sessions of this run."""
        return self._elapsed_at_start + time.perf_counter() - self._clock

    @property
    def last_evaluation(self) -> dict[str, Any] | None:
        return self._state["last_evaluation"]

    def state(self) -> dict[str, Any]:
        return {**self._state, "elapsed": self.elapsed, "log_sizes": {n: lg.size for n, lg in self.logs.items()}}

    def _log(self, name: str, fields: list[str]) -> CsvLog:
        if name not in self.logs:
            self.logs[name] = CsvLog(self.run.path / name, fields)
        return self.logs[name]

    # ------------------------------------------------------------------ SB3 hooks
    def _on_training_start(self) -> None:
        sizes = self._state["log_sizes"] if self.resumed is not None else {}
        for name in ("progress.csv", "episodes.csv", "evaluations.csv"):
            path = self.run.path / name
            if path.exists():
                # A fresh start (no checkpoint) rewrites the logs; a resume keeps them up to its checkpoint.
                with open(path, "r+b") as handle:
                    handle.truncate(sizes.get(name, 0))
        self._log("progress.csv", PROGRESS_FIELDS)
        self._log("episodes.csv", EPISODE_FIELDS)
        if self.progress_bar:
            self._bar = make_progress_bar("env steps")
            self._bar.start()
            self._task = self._bar.add_task(
                f"{self.config.algo} seed {self.config.seed}",
                total=self.config.n_timesteps,
                completed=self.num_timesteps,
            )

    def _on_rollout_start(self) -> None:
        # Here the previous gradient update is done: evaluations see the policy trained on every step so far.
        steps = self.model.num_timesteps
        if steps >= self._state["next_eval"]:
            self.evaluate_now()
            while self._state["next_eval"] <= steps:
                self._state["next_eval"] += self.config.eval_freq
        if self.config.checkpoint_freq and steps >= self._state["next_checkpoint"] and steps > 0:
            while self._state["next_checkpoint"] <= steps:
                self._state["next_checkpoint"] += self.config.checkpoint_freq
            save_checkpoint(self.agent, self.run.path / "checkpoint", self.state())
            log.debug("checkpoint at %d env steps", steps)

    def _on_step(self) -> bool:
        steps = self.model.num_timesteps
        finished = [info["episode"] for info in self.locals["infos"] if "episode" in info]
        if finished:
            self.logs["episodes.csv"].extend(
                [{"env_steps": steps, "return": f"{e['r']:.6g}", "length": e["l"]} for e in finished]
            )
            window = self._state["window"]
            window[0] += len(finished)
            window[1] += sum(e["r"] for e in finished)
            window[2] += sum(e["l"] for e in finished)
            self._state["episodes"] += len(finished)
        if steps >= self._state["next_log"]:
            self._progress_row(steps)
        if self._bar is not None:
            self._bar.update(self._task, completed=steps)
        return True

    def _on_training_end(self) -> None:
        if self._state["window_start"][0] < self.model.num_timesteps:
            self._progress_row(self.model.num_timesteps)
        if self._bar is not None:
            self._bar.stop()

    # ------------------------------------------------------------------ rows
    def _progress_row(self, steps: int) -> None:
        count, total_return, total_length = self._state["window"]
        start_steps, start_seconds = self._state["window_start"]
        now = self.elapsed
        self.logs["progress.csv"].append(
            {
                "env_steps": steps,
                "wall_seconds": round(now, 2),
                "env_steps_per_second": round((steps - start_steps) / max(now - start_seconds, 1e-9), 1),
                "episodes": self._state["episodes"],
                "ep_return_mean": f"{total_return / count:.6g}" if count else "",
                "ep_length_mean": f"{total_length / count:.4g}" if count else "",
            }
        )
        self._state["window"] = [0, 0.0, 0.0]
        self._state["window_start"] = [steps, now]
        while self._state["next_log"] <= steps:
            self._state["next_log"] += self.log_every

    def evaluate_now(self) -> dict[str, Any]:
        """Evaluate the frozen agent on the run's evaluation shoppers and append the row to ``evaluations.csv``."""
        config = self.config
        result = evaluate(self.agent, config.env, config.n_eval, config.eval_seed, **self.agent.env_kwargs)
        row = {
            "env_steps": int(self.agent.model.num_timesteps),
            "wall_seconds": round(self.elapsed, 2),
            "mean_return": result.mean_return,
            "ci95_half_width": float(1.96 * result.returns.std() / np.sqrt(result.returns.size)),
            **{k: v for k, v in result.kpis().items() if k != "return"},
        }
        self._log("evaluations.csv", list(row)).append(row)
        self._state["last_evaluation"] = row
        if self.logger is not None:
            for key in ("mean_return", "profit_per_shopper", "conversion", "avg_discount", "retention"):
                self.logger.record(f"eval/{key}", row[key])
        log.debug(
            "%s seed %d, %d env steps: return %.2f", config.algo, config.seed, row["env_steps"], row["mean_return"]
        )
        return row


def _build_agent(config: TrainConfig, hyperparams: HyperParams, device: str, tensorboard: Path | None) -> SB3Agent:
    agent = SB3Agent(
        config.algo,
        config.env,
        hyperparams,
        seed=config.seed,
        device=device,
        env_kwargs={"scenario": config.scenario},
        tensorboard_log=str(tensorboard) if tensorboard is not None else None,
    )
    if config.train_mix:
        markets = [config.scenario, *config.train_mix]
        agent.use_env(make_mixed_sb3_vec_env(config.env, markets, hyperparams.n_envs, seed=config.seed))
    if config.init_from is not None:
        if not (Path(config.init_from) / "policy.pt").is_file():
            raise RunError(f"init_from {config.init_from!r} holds no saved model (policy.pt)")
        agent.load_weights(config.init_from)
    return agent


def _markets(config: TrainConfig) -> dict[str, Any]:
    """The run's market and its ``train_mix`` markets as :func:`~shopgym.scenarios.scenario_record` s."""
    return {
        "scenario": scenario_record(resolve_scenario(config.scenario)),
        "train_mix": [scenario_record(resolve_scenario(market)) for market in config.train_mix],
    }


def _in(markets: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a :class:`TrainConfig` as a mapping) with its markets given by their recorded content."""
    mix = [market["content"] for market in markets["train_mix"]]
    return {**config, "scenario": markets["scenario"]["content"], "train_mix": mix}


def train_agent(
    run: RunDirectory,
    config: TrainConfig,
    device: str = "auto",
    resume: bool = False,
    hyperparams_file: str | Path | None = None,
    tensorboard: bool = False,
    progress_bar: bool = False,
) -> dict[str, Any]:
    """Train ``config`` into ``run`` (or, with ``resume``, continue the unfinished run there from its last
    checkpoint with the config it recorded); evaluate along the way and at the end, save the model, and return
    (and write, last) ``summary.json``."""
    if resume:
        if not run.claim(TRAINING):
            raise RunError(f"{str(run.path)!r} holds no run to resume (run.json is missing)")
        if run.finished:
            raise RunError(f"{str(run.path)!r} already holds a finished run (summary.json); nothing to resume")
        recorded = run.recorded()
        # The markets as recorded, not the files the config names: moving or editing those changes nothing.
        # (Runs from before markets were recorded read their scenario files again.)
        markets = recorded.get("markets")
        config = TrainConfig.model_validate(recorded["config"] if markets is None else _in(markets, recorded["config"]))
        hyperparams = HyperParams.model_validate(recorded["hyperparams"])
        tensorboard = recorded.get("tensorboard", False)
        shown = recorded["config"]["scenario"]
    else:
        hyperparams = load_hyperparams(config.algo, config.env, hyperparams_file)
        shown = config.scenario
    markets = _markets(config)
    trained = TrainConfig.model_validate(_in(markets, config.model_dump()))
    # Built before the run folder is touched, so a bad scenario or hyperparameter leaves nothing behind.
    agent = _build_agent(trained, hyperparams, device, run.path / "tensorboard" if tensorboard else None)
    if resume:
        run.note_resume()
    else:
        run.start(
            config.model_dump(),
            markets=markets,
            scenarios=scenario_digests(config),  # what a sweep checks its jobs' markets against
            hyperparams=hyperparams.model_dump(mode="json"),
            device=device,
            tensorboard=tensorboard,
        )
    resumed = None
    if resume and has_checkpoint(run.path / "checkpoint"):
        resumed = load_checkpoint(agent, run.path / "checkpoint")
        log.info("resuming %s from env step %d", run.path, agent.model.num_timesteps)
    callback = TrainingCallback(agent, run, config, resumed, progress_bar)
    remaining = config.n_timesteps - agent.model.num_timesteps
    if remaining > 0:
        agent.learn(remaining, callback=callback, tb_log_name=config.algo)
    final = callback.last_evaluation
    if final is None or final["env_steps"] != agent.model.num_timesteps:
        final = callback.evaluate_now()
    agent.save(run.path / "model")
    seconds = callback.elapsed
    summary = {
        "algo": config.algo,
        "env_id": config.env,
        "scenario": shown,
        "seed": config.seed,
        "n_timesteps": config.n_timesteps,
        "env_steps": int(agent.model.num_timesteps),
        "train_seconds": round(seconds, 2),
        "env_steps_per_second": round(agent.model.num_timesteps / max(seconds, 1e-9), 1),
        "final_mean_return": final["mean_return"],
        "final_ci95_half_width": final["ci95_half_width"],
        "final_kpis": {
            k: final[k] for k in final if k not in ("env_steps", "wall_seconds", "mean_return", "ci95_half_width")
        },
        "episodes": callback.state()["episodes"],
        "resumes": len(run.recorded().get("resumes", [])),
        "device": str(agent.model.device),
    }
    for csv_log in callback.logs.values():
        csv_log.close()
    run.write_json("summary.json", summary)
    return summary


def train_or_resume(
    run: RunDirectory,
    config: TrainConfig,
    device: str = "auto",
    hyperparams_file: str | Path | None = None,
    progress_bar: bool = False,
) -> dict[str, Any]:
    """The summary of the run in ``run``: read back if it finished, else trained (resumed if it was started)."""
    resume = run.claim(TRAINING)
    if run.finished:
        log.info("%s: finished earlier", run.path)
        return json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    log.info("%s %s", "resuming" if resume else "training", run.path)
    return train_agent(run, config, device, resume, hyperparams_file, progress_bar=progress_bar)

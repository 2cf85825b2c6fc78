"""The ``shopgym`` command: ``quickstart`` (the main job), ``train`` and ``eval``.

Bad input (unknown env id or algorithm, a negative budget, an unreadable config, an ``--out`` that is a file)
prints one line naming the problem and exits with status 2, without a traceback.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import gymnasium as gym
import numpy as np
import typer

import shopgym
from agents import TaskInfo, make_policy
from agents.evaluation import evaluate
from agents.sb3_agents import ALGORITHMS, SB3Agent
from experiments.plots import plot_comparison, plot_learning_curves
from experiments.runs import RunDirectory, RunError
from experiments.stats import iqm_ci
from experiments.training import train_agent
from shopgym.params import ParameterError
from shopgym.perf import tune_malloc

app = typer.Typer(add_completion=False, no_args_is_help=True, help="shopgym: train, evaluate and compare policies.")

ORACLE = "myopic oracle (hidden state)"


def fail(message: str) -> None:
    typer.echo(f"shopgym: error: {message}", err=True)
    raise typer.Exit(code=2)


def check_env_id(env_id: str) -> None:
    if env_id not in shopgym.ENV_IDS:
        fail(f"unknown env id {env_id!r}; known: {', '.join(sorted(shopgym.ENV_IDS))}")


def check_algo(algo: str) -> None:
    if algo not in ALGORITHMS:
        fail(f"unknown algorithm {algo!r}; known: {', '.join(ALGORITHMS)}")


def positive(name: str, value: int) -> None:
    if value < 1:
        fail(f"{name} must be ≥ 1, got {value}")


@app.command()
def train(
    algo: Annotated[str, typer.Option(help="ppo, dqn, a2c or recurrentppo")] = "ppo",
    env: Annotated[str, typer.Option(help="registered env id")] = "shopgym/Marketing-v0",
    scenario: Annotated[str, typer.Option(help="scenario preset name or YAML path")] = "default",
    seed: Annotated[int, typer.Option(help="training seed")] = 0,
    n_timesteps: Annotated[int, typer.Option(help="env steps (shopper visits) to train for")] = 300_000,
    eval_freq: Annotated[int, typer.Option(help="evaluate every this many env steps")] = 50_000,
    n_eval: Annotated[int, typer.Option(help="shoppers per evaluation (the same ones every time)")] = 500,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda")] = "auto",
    out: Annotated[Path, typer.Option(help="run directory to create")] = Path("runs/train"),
) -> None:
    """Train one SB3 agent into a run directory (config, versions, evaluations.csv, model/, summary.json)."""
    check_env_id(env)
    check_algo(algo)
    for name, value in (("--n-timesteps", n_timesteps), ("--eval-freq", eval_freq), ("--n-eval", n_eval)):
        positive(name, value)
    tune_malloc()
    try:
        summary = train_agent(
            RunDirectory(out),
            algo,
            env,
            seed,
            n_timesteps,
            eval_freq,
            n_eval,
            device=device,
            env_kwargs={"scenario": scenario},
        )
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo(json.dumps(summary, indent=1))


@app.command("eval")
def evaluate_model(
    model: Annotated[Path, typer.Option(help="a model folder written by train (run/model)")],
    n_shoppers: Annotated[int, typer.Option(help="shoppers, one episode each")] = 1000,
    seed: Annotated[int, typer.Option(help="evaluation seed (the shoppers)")] = 10_000,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Evaluate a saved agent on fresh shoppers and print its KPIs as JSON."""
    positive("--n-shoppers", n_shoppers)
    if not (model / "agent.json").is_file():
        fail(f"{str(model)!r} holds no saved agent (agent.json)")
    try:
        agent = SB3Agent.load(model, device=device)
    except (OSError, ValueError, KeyError) as error:
        fail(f"cannot load {str(model)!r}: {error}")
    result = evaluate(agent, agent.env_id, n_shoppers, seed, **agent.env_kwargs)
    typer.echo(json.dumps(result.kpis(), indent=1))


def _curve(run: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(run / "evaluations.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([int(r["env_steps"]) for r in rows]), np.array([float(r["mean_return"]) for r in rows])


@app.command()
def quickstart(
    out: Annotated[Path | None, typer.Option(help="report folder (default: runs/quickstart-<time>)")] = None,
    seeds: Annotated[int, typer.Option(help="training seeds per agent")] = 2,
    ppo_steps: Annotated[int, typer.Option(help="PPO env steps per seed")] = 300_000,
    dqn_steps: Annotated[int, typer.Option(help="DQN env steps per seed")] = 150_000,
    eval_freq: Annotated[int, typer.Option(help="evaluate every this many env steps")] = 50_000,
    n_eval: Annotated[int, typer.Option(help="shoppers per evaluation (the same for every policy)")] = 1000,
    device: Annotated[str, typer.Option(help="auto (CUDA when present) or cpu")] = "auto",
) -> None:
    """The main job: train PPO and DQN on Marketing-v0 for a few CPU minutes, compare them with baselines and the
    myopic oracle on the same shoppers, and write report.md with plots."""
    for name, value in (
        ("--seeds", seeds),
        ("--ppo-steps", ppo_steps),
        ("--dqn-steps", dqn_steps),
        ("--eval-freq", eval_freq),
        ("--n-eval", n_eval),
    ):
        positive(name, value)
    tune_malloc()
    env_id, eval_seed = "shopgym/Marketing-v0", 10_000
    out = out or Path("runs") / time.strftime("quickstart-%Y%m%d-%H%M%S")
    report = RunDirectory(out)
    try:
        report.start(
            {
                "seeds": seeds,
                "ppo_steps": ppo_steps,
                "dqn_steps": dqn_steps,
                "eval_freq": eval_freq,
                "n_eval": n_eval,
                "env_id": env_id,
                "eval_seed": eval_seed,
            }
        )
    except RunError as error:
        fail(str(error))
    started = time.perf_counter()
    scores: dict[str, list[dict]] = {}
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for algo, steps in (("ppo", ppo_steps), ("dqn", dqn_steps)):
        label = f"{algo.upper()} ({steps:,} steps)"
        for seed in range(seeds):
            run = out / f"{algo}-seed{seed}"
            typer.echo(f"training {label}, seed {seed} → {run}", err=True)
            train_agent(RunDirectory(run), algo, env_id, seed, steps, eval_freq, n_eval, eval_seed, device)
            agent = SB3Agent.load(run / "model", device=device)
            scores.setdefault(label, []).append(evaluate(agent, env_id, n_eval, eval_seed).kpis())
            curves.setdefault(label, []).append(_curve(run))
    info = TaskInfo.of(gym.make(env_id))
    typer.echo("evaluating baselines and the oracle", err=True)
    for seed in range(seeds):
        for name, label in (
            ("random", "random"),
            ("popular", "popular"),
            ("never_discount", "never discount"),
            ("calendar", "calendar (20 % off every 4th visit)"),
            ("myopic_oracle", ORACLE),
        ):
            scores.setdefault(label, []).append(
                evaluate(make_policy(name, info, seed=seed), env_id, n_eval, eval_seed).kpis()
            )
        bandit = make_policy("linucb", info, seed=seed)
        evaluate(bandit, env_id, n_eval, seed, learn=True)  # one online episode of other shoppers
        scores.setdefault("LinUCB (after one online episode)", []).append(
            evaluate(bandit, env_id, n_eval, eval_seed).kpis()
        )
    summary = {name: iqm_ci([s["profit_per_shopper"] for s in runs]) for name, runs in scores.items()}
    plot_comparison(summary, out / "comparison.png", ORACLE)
    baselines = {n: v for n, v in summary.items() if n != ORACLE and not n.startswith(("PPO", "DQN"))}
    best = max(baselines, key=lambda n: baselines[n][0])
    plot_learning_curves(
        curves,
        out / "learning_curves.png",
        "Marketing-v0: evaluation return while training",
        {f"best baseline: {best}": baselines[best][0], "myopic oracle": summary[ORACLE][0]},
    )
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "# shopgym quickstart: Marketing-v0, `default` market",
        "",
        f"Every policy is evaluated on the same {n_eval:,} shoppers (seed {eval_seed}, one 50-visit episode each).",
        f"PPO and DQN: {seeds} training seeds each; numbers are the interquartile mean over seeds (with {seeds}",
        "seeds: the mean) and the 95 % percentile-bootstrap interval. Baselines use the policy seed only.",
        f"Wall time: {minutes:.1f} minutes.",
        "",
        "![comparison](comparison.png)",
        "",
        "![learning curves](learning_curves.png)",
        "",
        "| policy | profit / shopper [95 % CI] | revenue / shopper | CTR | conversion | avg discount | retention |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(scores, key=lambda n: -summary[n][0]):
        runs = scores[name]
        iqm, low, high = summary[name]

        def mean(key: str, runs: list[dict] = runs) -> float:
            return float(np.mean([r[key] for r in runs]))

        lines.append(
            f"| {name} | {iqm:.1f} [{low:.1f}, {high:.1f}] | {mean('revenue_per_shopper'):.1f} | {mean('ctr'):.3f} |"
            f" {mean('conversion'):.3f} | {mean('avg_discount'):.3f} | {mean('retention'):.3f} |"
        )
    lines += ["", "The myopic oracle reads the hidden shopper state: a reference, not a deployable policy.", ""]
    report.write_text("report.md", "\n".join(lines))
    report.write_json("summary.json", {"minutes": round(minutes, 2), "profit_per_shopper": summary})
    typer.echo("\n".join(lines))
    typer.echo(f"report: {out / 'report.md'}", err=True)


if __name__ == "__main__":
    sys.exit(app(prog_name="shopgym"))

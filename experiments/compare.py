"""A comparison: SB3 agents (several training seeds each) and baselines, every policy evaluated on the same
shoppers (common random numbers), summarised with IQMs, bootstrap intervals, probabilities of improvement and
business KPIs, and written up as ``report.md`` with figures.

The comparison folder holds one run directory per agent and seed, ``scores.json`` (every run's KPIs and
learning curve: what the report is drawn from, so ``shopgym plot`` can redraw it), ``summary.json`` (written
last) and the report. Rerunning a killed comparison skips the training runs that finished and resumes the
others.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents import TaskInfo, make_policy
from agents.evaluation import evaluate
from agents.sb3_agents import SB3Agent
from experiments.configs import CompareConfig, TrainConfig
from experiments.plots import plot_comparison, plot_improvement, plot_learning_curves
from experiments.runs import RunDirectory, slug
from experiments.stats import iqm_summary, probability_of_improvement
from experiments.training import train_or_resume
from shopgym.files import write_atomic

__all__ = ["read_curve", "run_comparison", "summarise", "write_report"]

log = logging.getLogger("shopgym")

MEANS = (
    "revenue_per_shopper",
    "purchases_per_shopper",
    "discount_cost_per_shopper",
    "ctr",
    "conversion",
    "avg_discount",
    "retention",
)


def read_curve(run: Path) -> tuple[list[int], list[float]]:
    """(env steps, mean evaluation return) from a run's ``evaluations.csv``."""
    with open(run / "evaluations.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [int(r["env_steps"]) for r in rows], [float(r["mean_return"]) for r in rows]


def _train_and_score(
    config: CompareConfig, out: Path, device: str, progress_bar: bool
) -> tuple[dict[str, list[dict]], dict[str, list]]:
    scores: dict[str, list[dict]] = {}
    curves: dict[str, list] = {}
    for spec in config.agents:
        for seed in range(config.seeds):
            run = RunDirectory(out / f"{slug(spec.algo)}-{spec.n_timesteps}-seed{seed}")
            train_config = TrainConfig(
                algo=spec.algo,
                env=config.env,
                scenario=config.scenario,
                seed=seed,
                n_timesteps=spec.n_timesteps,
                eval_freq=config.eval_freq,
                n_eval=config.n_eval,
                eval_seed=config.eval_seed,
                checkpoint_freq=config.checkpoint_freq,
            )
            train_or_resume(run, train_config, device, progress_bar=progress_bar)
            agent = SB3Agent.load(run.path / "model", device=device)
            result = evaluate(agent, config.env, config.n_eval, config.eval_seed, scenario=config.scenario)
            scores.setdefault(spec.label, []).append(result.kpis())
            curves.setdefault(spec.label, []).append(read_curve(run.path))
    return scores, curves


def _score_baselines(config: CompareConfig) -> dict[str, list[dict]]:
    info = TaskInfo.of(gym.make(config.env, scenario=config.scenario))
    scores: dict[str, list[dict]] = {}
    for spec in config.baselines:
        log.info("evaluating %s", spec.name)
        for seed in range(config.seeds):
            policy = make_policy(spec.policy, info, seed=seed, **spec.params)
            if spec.learns_online:  # one online episode of other shoppers, then a frozen evaluation
                evaluate(policy, config.env, config.n_eval, seed, learn=True, scenario=config.scenario)
            result = evaluate(policy, config.env, config.n_eval, config.eval_seed, scenario=config.scenario)
            scores.setdefault(spec.name, []).append(result.kpis())
    return scores


def summarise(config: CompareConfig, scores: dict[str, list[dict]]) -> dict[str, Any]:
    """Per policy: IQM and 95 % CI of profit per shopper, mean KPIs over runs, promotion cost per incremental
    sale against the reference; the best non-learned, non-oracle baseline; P(X > Y) for every pair."""
    agents = {spec.label for spec in config.agents}
    policies: dict[str, dict[str, Any]] = {}
    reference = scores.get(config.reference) if config.reference else None
    for name, runs in scores.items():
        entry: dict[str, Any] = {
            "kind": "agent" if name in agents else "oracle" if name == config.oracle else "baseline",
            "runs": len(runs),
            "profit_per_shopper": iqm_summary([r["profit_per_shopper"] for r in runs]),
            **{key: float(np.mean([r[key] for r in runs])) for key in MEANS},
            "promo_cost_per_incremental_sale": None,
        }
        if reference is not None and name != config.reference:
            extra_sales = entry["purchases_per_shopper"] - np.mean([r["purchases_per_shopper"] for r in reference])
            extra_cost = entry["discount_cost_per_shopper"] - np.mean(
                [r["discount_cost_per_shopper"] for r in reference]
            )
            if extra_sales > 0:
                entry["promo_cost_per_incremental_sale"] = float(extra_cost / extra_sales)
        policies[name] = entry
    baselines = [n for n, e in policies.items() if e["kind"] == "baseline"]
    best = max(baselines, key=lambda n: policies[n]["profit_per_shopper"]["iqm"]) if baselines else None
    names = sorted(policies, key=lambda n: -policies[n]["profit_per_shopper"]["iqm"])
    improvement = {
        a: {
            b: list(
                probability_of_improvement(
                    [r["profit_per_shopper"] for r in scores[a]], [r["profit_per_shopper"] for r in scores[b]]
                )
            )
            for b in names
            if b != a
        }
        for a in names
    }
    return {
        "env_id": config.env,
        "scenario": config.scenario,
        "seeds": config.seeds,
        "n_eval": config.n_eval,
        "eval_seed": config.eval_seed,
        "ranking": names,
        "best_baseline": best,
        "reference": config.reference,
        "oracle": config.oracle,
        "policies": policies,
        "probability_of_improvement": improvement,
    }


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def write_report(out: Path, config: CompareConfig, scores: dict, curves: dict, minutes: float | None) -> dict:
    """Draw the figures and write ``report.md`` into ``out`` from ``scores`` and ``curves``; returns the
    summary (which the caller writes)."""
    summary = summarise(config, scores)
    policies, best = summary["policies"], summary["best_baseline"]
    intervals = {n: tuple(p["profit_per_shopper"].values()) for n, p in policies.items()}
    title = f"{config.env.split('/')[-1]}, {config.scenario} market: policies on the same shoppers"
    plot_comparison(intervals, out / "comparison.png", title, reference=config.oracle)
    names = summary["ranking"]
    matrix = np.array(
        [[0.5 if a == b else summary["probability_of_improvement"][a][b][0] for b in names] for a in names]
    )
    plot_improvement(names, matrix, out / "improvement.png", "Probability of improvement in profit per shopper")
    figures = ["![comparison](comparison.png)", "", "![probability of improvement](improvement.png)", ""]
    if curves:
        references = {}
        if best is not None:
            references[f"best baseline: {best}"] = policies[best]["profit_per_shopper"]["iqm"]
        if config.oracle:
            references[config.oracle] = policies[config.oracle]["profit_per_shopper"]["iqm"]
        plot_learning_curves(
            {n: [(np.asarray(s), np.asarray(r)) for s, r in runs] for n, runs in curves.items()},
            out / "learning_curves.png",
            f"{config.env.split('/')[-1]}: evaluation return while training",
            references,
        )
        figures = ["![comparison](comparison.png)", "", "![learning curves](learning_curves.png)", "", *figures[2:]]
    lines = [
        f"# shopgym comparison: {config.env}, `{config.scenario}` market",
        "",
        f"Every policy is evaluated on the same {config.n_eval:,} shoppers (seed {config.eval_seed}, one episode"
        f" each). Agents: {config.seeds} training seeds each; baselines: {config.seeds} policy seeds. Profit per"
        " shopper is the interquartile mean over runs with a 95 % percentile-bootstrap interval; the other columns"
        " are means over runs. P(> best baseline) is the probability that a random run of the policy earns more"
        f" than a random run of the best non-oracle baseline, `{best}`, with its 95 % bootstrap interval."
        if best
        else " are means over runs.",
        f"Promotion cost per incremental sale: extra discount given away per extra purchase, against"
        f" `{config.reference}` (n/a: no extra purchases)."
        if config.reference
        else "",
        f"Wall time: {minutes:.1f} minutes." if minutes is not None else "",
        "",
        *figures,
        "| policy | profit / shopper [95 % CI] | P(> best baseline) | revenue / shopper | conversion | avg discount |"
        " retention | promo cost / incremental sale |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        p = policies[name]
        iqm, low, high = p["profit_per_shopper"].values()
        if best is None or name == best:
            versus = "–"
        else:
            point, lo, hi = summary["probability_of_improvement"][name][best]
            versus = f"{point:.2f} [{lo:.2f}, {hi:.2f}]"
        lines.append(
            f"| {name} | {iqm:.1f} [{low:.1f}, {high:.1f}] | {versus} | {p['revenue_per_shopper']:.1f} |"
            f" {p['conversion']:.3f} | {p['avg_discount']:.3f} | {p['retention']:.3f} |"
            f" {_money(p['promo_cost_per_incremental_sale'])} |"
        )
    if config.oracle:
        lines += ["", f"`{config.oracle}` reads the hidden shopper state: a reference, not a deployable policy."]
    write_atomic(out / "report.md", "\n".join(lines) + "\n")
    return summary


def run_comparison(
    config: CompareConfig, out: str | Path, device: str = "auto", progress_bar: bool = False
) -> dict[str, Any]:
    """Run (or continue) the comparison ``config`` in the folder ``out``; returns the summary."""
    report = RunDirectory(out)
    report.begin(config.model_dump(mode="json"), "comparison", device)
    started = time.perf_counter()
    scores, curves = _train_and_score(config, report.path, device, progress_bar)
    scores.update(_score_baselines(config))
    minutes = (time.perf_counter() - started) / 60
    report.write_json("scores.json", {"scores": scores, "curves": curves, "minutes": minutes})
    summary = write_report(report.path, config, scores, curves, minutes)
    report.write_json("summary.json", {**summary, "minutes": round(minutes, 2)})
    return summary

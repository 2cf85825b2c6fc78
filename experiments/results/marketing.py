"""The Marketing-v1 section: every policy (baselines, bandits, models fitted on logs, SB3 agents, the myopic
oracle) evaluated on the same shoppers, judged against the project's target."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from shopgym.agents import TaskInfo, make_policy
from shopgym.agents.baselines import GreedyPolicy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.features import arm_features
from shopgym.agents.imitation import BehaviourClonedRecommender, collect_impressions
from shopgym.agents.oracles import MyopicOracle
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.plots import plot_comparison
from shopgym.experiments.report import figure, table
from shopgym.experiments.results.common import TARGETS, market
from shopgym.experiments.runs import CellStore
from shopgym.experiments.stats import format_interval, has_interval, iqm_summary


@dataclass(frozen=True)
class MarketingRuns:
    """Every policy's KPI records on Marketing-v1, one per run, in the page's order; its ``kind`` (``baseline``,
    ``agent`` or ``oracle``) decides how the target treats it, and ``judged`` is the agent held to the target."""

    runs: dict[str, list[dict[str, float]]]
    kind: dict[str, Literal["baseline", "agent", "oracle"]]
    judged: str


def marketing_runs(
    cells: CellStore, seeds: int, n_eval: int, ppo_steps: int, dqn_steps: int, n_log: int
) -> MarketingRuns:
    """Baselines, bandits, models fitted on ``n_log`` logged shoppers, the SB3 agents and the myopic oracle on
    Marketing-v1, every run evaluated on the same ``n_eval`` shoppers (each run a cell)."""
    env_id = "shopgym/Marketing-v1"
    info = TaskInfo.of(gym.make(env_id))

    def kpis(policy: Any, run: int) -> dict[str, float]:
        return evaluate(policy, env_id, n_shoppers=n_eval, seed=1000 + run).kpis()

    def fixed(name: str) -> Callable[[int], dict]:
        return lambda run: kpis(make_policy(name, info, seed=run), run)

    def bandit(name: str) -> Callable[[int], dict]:
        def run_bandit(run: int) -> dict:
            policy = make_policy(name, info, seed=run)
            evaluate(policy, env_id, n_shoppers=n_log, seed=run, learn=True)  # one episode per shopper, online
            return kpis(policy, run)

        return run_bandit

    def greedy(run: int) -> dict:
        envs = gym.make_vec(env_id, num_envs=n_log)
        obs, _ = envs.reset(seed=run)
        logger = make_policy("random", info, seed=run)
        features, bought = [], []
        for _ in range(envs.batch.time_scale):  # one mean episode length of logged visits
            actions = logger.act(obs)
            features.append(arm_features(info, obs)[np.arange(n_log), actions])
            obs, _, _, _, step_info = envs.step(actions)
            bought.append(step_info["purchases"])
        policy = GreedyPolicy(info, seed=run).fit(np.concatenate(features), np.concatenate(bought))
        return kpis(policy, run)

    def bc(run: int) -> dict:
        policy = BehaviourClonedRecommender(info, seed=run)
        metrics = policy.fit(collect_impressions(n_shoppers=n_log, seed=run))
        return {**kpis(policy, run), **metrics}

    def sb3(algo: str, steps: int) -> Callable[[int], dict]:
        def train(run: int) -> dict:
            start = time.perf_counter()
            agent = SB3Agent(algo, env_id, seed=run, device="cpu").learn(steps)
            seconds = time.perf_counter() - start
            return {**kpis(agent, run), "train_seconds": seconds, "fps": steps / seconds}

        return train

    # cell id (stable across label wording), label on the page, kind, one run
    plan: list[tuple[str, str, Literal["baseline", "agent", "oracle"], Callable[[int], dict]]] = [
        ("random", "random", "baseline", fixed("random")),
        ("popular", "popular", "baseline", fixed("popular")),
        ("margin", "margin", "baseline", fixed("margin")),
        ("never_discount", "never discount", "baseline", fixed("never_discount")),
        ("calendar", "calendar (20 % off every 4th visit)", "baseline", fixed("calendar")),
        ("greedy", "greedy (logistic on logs)", "baseline", greedy),
        ("behaviour_cloning", "behaviour-cloned MLP", "baseline", bc),
        ("epsilon_greedy", "epsilon-greedy bandit", "baseline", bandit("epsilon_greedy")),
        ("linucb", "LinUCB", "baseline", bandit("linucb")),
        ("thompson", "linear Thompson sampling", "baseline", bandit("thompson")),
        (f"ppo-{ppo_steps}", f"PPO ({ppo_steps:,} steps)", "agent", sb3("ppo", ppo_steps)),
        (f"dqn-{dqn_steps}", f"DQN ({dqn_steps:,} steps)", "agent", sb3("dqn", dqn_steps)),
        (f"a2c-{ppo_steps}", f"A2C ({ppo_steps:,} steps)", "agent", sb3("a2c", ppo_steps)),
        ("myopic_oracle", "myopic oracle (hidden state)", "oracle", lambda run: kpis(MyopicOracle(info), run)),
    ]
    where = f"marketing/{market('default')}"  # Marketing-v1's default market, as it is today
    runs = {
        name: [cells.get(f"{where}/{key}/run{run}", lambda c=compute, r=run: c(r)) for run in range(seeds)]
        for key, name, _, compute in plan
    }
    return MarketingRuns(runs, {name: kind for _, name, kind, _ in plan}, judged=f"PPO ({ppo_steps:,} steps)")


def marketing_section(marketing: MarketingRuns, seeds: int, n_eval: int, n_log: int, out_dir: Path) -> list[str]:
    """The Marketing-v1 section from :func:`marketing_runs`: the KPI table, the target and the comparison
    chart (written into ``out_dir``)."""
    lines = [
        "## Marketing-v1 (`default`): every policy on the same shoppers",
        "",
        f"{seeds} runs per policy. Run r trains learners with seed r and evaluates every policy on the same",
        f"{n_eval:,} shoppers (eval seed 1000 + r, one episode each, which ends after each visit with probability",
        "1/50 besides churn): common random numbers across",
        "policies; other runs meet other shoppers. Profit per shopper: interquartile mean over runs with a 95 %",
        "percentile-bootstrap interval over runs, which covers both training seeds and evaluation shoppers (n/a",
        "with fewer than 3 runs).",
        f"Bandits learn online for one episode of {n_log:,} shoppers, then are evaluated frozen; greedy and the",
        f"behaviour-cloned MLP learn from logs of random recommendations to {n_log:,} shoppers.",
        "",
    ]
    results = marketing.runs
    stats = {name: iqm_summary([r["profit_per_shopper"] for r in runs]) for name, runs in results.items()}
    summary = {name: (s["iqm"], s["low"], s["high"]) for name, s in stats.items()}
    rows = []
    for name, runs in results.items():

        def mean(key: str, runs: list = runs) -> float:
            return float(np.mean([r[key] for r in runs]))

        kpis = (f"{mean(key):.3f}" for key in ("ctr", "conversion", "avg_discount", "retention"))
        rows.append([name, format_interval(stats[name]), f"{mean('revenue_per_shopper'):.1f}", *kpis])
    header = ["policy", "profit / shopper (IQM [95 % CI over runs])", "revenue / shopper", "CTR", "conversion"]
    lines += [*table([*header, "avg discount", "retention"], rows), ""]
    learned = marketing.judged
    oracle = next(n for n, kind in marketing.kind.items() if kind == "oracle")
    baselines = {n: v for n, v in summary.items() if marketing.kind[n] == "baseline"}
    best = max(baselines, key=lambda n: baselines[n][0])
    ppo, base = summary[learned], baselines[best]
    gain = ppo[0] / base[0] - 1
    separated = has_interval(stats[learned]) and has_interval(stats[best]) and ppo[1] > base[2]
    lines += [
        f"- Best non-oracle baseline: **{best}** ({base[0]:.1f}). {learned}: {ppo[0]:.1f}, "
        f"{100 * gain:+.1f} % ({'non-overlapping' if separated else 'overlapping or no'} intervals). Target"
        f" (≥ +{100 * TARGETS.marketing_gain:.0f} %, non-overlapping):"
        f" **{'met' if gain >= TARGETS.marketing_gain and separated else 'not met'}**.",
        f"- Myopic oracle (reads the hidden state, maximises this visit's expected profit): {summary[oracle][0]:.1f};"
        f" PPO is at {100 * (ppo[0] / summary[oracle][0]):.0f} % of it.",
    ]
    bc = results.get("behaviour-cloned MLP")
    if bc and "top1_accuracy" in bc[0]:
        lines.append(
            f"- Behaviour-cloned MLP, held-out next-purchase ranking within a 5-item slate: top-1 accuracy"
            f" {np.mean([r['top1_accuracy'] for r in bc]):.3f}, top-3 {np.mean([r['top3_accuracy'] for r in bc]):.3f}"
            " (chance: 0.2 and 0.6)."
        )
    plot_comparison(
        {name: value if has_interval(stats[name]) else (value[0], None, None) for name, value in summary.items()},
        out_dir / "marketing_comparison.png",
        "Marketing-v1, default market: policies on the same shoppers",
        f"profit per shopper over one episode (mean 50 visits; currency units), IQM over {seeds} runs",
        reference=oracle,
        interval_label="95 % CI over runs (training seeds and evaluation shoppers)",
    )
    lines += ["", *figure("Marketing-v1 comparison", "marketing_comparison.png")]
    return lines

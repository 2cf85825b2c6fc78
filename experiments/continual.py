"""Continual learning: an SB3 agent trained on a sequence of markets, every market evaluated after every stage.

For each training seed and strategy the agent goes through the K markets of :class:`ContinualConfig` in order
(``steps_per_stage`` env steps each). After each stage k the frozen agent is evaluated on every market i with the
same ``n_eval`` shoppers (``eval_seed``: common random numbers across stages, strategies and seeds), giving
R[k, i] = profit per shopper over one episode (currency units); the untrained agent gives b[i]. Strategies:

- ``naive``: one agent goes on learning in each new market (:meth:`SB3Agent.use_env`);
- ``reset``: a fresh agent (same training seed, so the same initial weights) for every stage, trained only on
  that stage's market;
- ``rehearsal``: like naive, but from stage 2 on a share ``rehearsal_fraction`` of the env slots replays the
  earlier markets (split evenly among them), the rest serves the current one: same slots, same env steps;
- ``multitask``: an upper reference, one agent trained on all markets at once (slots split evenly) for
  K × ``steps_per_stage`` env steps and evaluated after each of K equal chunks; only its last row is a final
  result, its other rows are not "after market k".

Metrics of R and b (average performance, forgetting, backward and forward transfer) are pure functions below,
aggregated over seeds with IQMs and 95 % bootstrap intervals. With fewer than three seeds the report prints A,
BWT and FWT with conservative 95 % intervals over the evaluation shoppers instead (from the half-width of every
evaluation), and says so; forgetting, a maximum over stages, has none there. An optional drifting-market
experiment compares an agent that keeps learning with a frozen copy of it on a market whose drift runs on the
market clock.

Every finished (strategy, seed) cell is cached as ``cells/<strategy>-seed<k>.json``, every drift seed as
``cells/drift-seed<k>.json``, so rerunning a killed run into the same folder skips what is done. ``summary.json``
is written last.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import HyperParams, SB3Agent, load_hyperparams
from shopgym.envs.sb3 import ConcatShopVecEnv, ShopVecEnv, make_mixed_sb3_vec_env, make_sb3_vec_env
from shopgym.experiments.configs import ContinualConfig, ScenarioRef, scenario_label
from shopgym.experiments.progress import progress_bar as make_progress_bar
from shopgym.experiments.runs import RunDirectory
from shopgym.experiments.stats import (
    MIN_SEEDS,
    format_interval,
    half_width,
    has_interval,
    iqm_summary,
    mean_ci,
    shopper_summary,
)
from shopgym.files import write_atomic
from shopgym.params import AbruptSwitch, CompetitorEntry, GradualShift, ParameterError
from shopgym.scenarios import resolve_scenario

__all__ = [
    "average_performance",
    "backward_transfer",
    "continual_metrics",
    "forgetting",
    "forward_transfer",
    "metric_half_widths",
    "rehearsal_sizes",
    "render_report",
    "run_continual",
]

log = logging.getLogger("shopgym")

SEQUENTIAL = ("naive", "reset", "rehearsal")  # strategies whose rows are "after training on market k"
DRIFT_STAGE = 999  # the drift experiment's env seeds use this stage number (continual stages stay below it)
DRIFT_WINDOWS = 40  # windows of the market clock over the drift phase
PROFIT_UNITS = "profit per shopper over one episode (currency units)"


# ---------------------------------------------------------------------------------------------------- metrics
def _check(matrix: np.ndarray, baseline: np.ndarray | None = None) -> np.ndarray:
    R = np.asarray(matrix, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 2:
        raise ValueError(f"R must be a square K×K matrix with K ≥ 2, got shape {R.shape}")
    if baseline is not None and np.shape(baseline) != (R.shape[0],):
        raise ValueError(f"b must have shape ({R.shape[0]},) to match R, got {np.shape(baseline)}")
    return R


def average_performance(R: np.ndarray) -> float:
    """Average performance after the last stage, A = (1/K) Σ_i R[K-1, i] (Lopez-Paz & Ranzato 2017, GEM:
    "ACC"). ``R`` [K, K]: R[k, i] is the score on market i after training stage k."""
    R = _check(R)
    return float(R[-1].mean())


def forgetting(R: np.ndarray) -> np.ndarray:
    """Forgetting of each market but the last, [K-1]: f_i = max_{i ≤ k < K-1} R[k, i] − R[K-1, i], the drop from
    the best score on market i at any stage since it was trained on, to the final score (Chaudhry et al. 2018,
    Riemannian Walk; only stages k ≥ i count, as in Wołczyk et al. 2021, Continual World, whose forgetting is
    R[i, i] − R[K-1, i]). Negative values mean the final score is better than every earlier one. Average it
    for the mean forgetting. ``R`` [K, K] as in :func:`average_performance`."""
    R = _check(R)
    last = R.shape[0] - 1
    best = np.array([R[i:last, i].max() for i in range(last)])
    return best - R[last, :last]


def backward_transfer(R: np.ndarray) -> float:
    """Backward transfer, BWT = (1/(K-1)) Σ_{i<K-1} (R[K-1, i] − R[i, i]): how training on later markets
    changed the score on market i since just after training on it (Lopez-Paz & Ranzato 2017, GEM). Negative:
    forgetting. ``R`` [K, K] as in :func:`average_performance`."""
    R = _check(R)
    last = R.shape[0] - 1
    return float(np.mean(R[last, :last] - np.diag(R)[:last]))


def forward_transfer(R: np.ndarray, b: np.ndarray) -> float:
    """Forward transfer, FWT = (1/(K-1)) Σ_{i≥1} (R[i-1, i] − b[i]): the score on market i before training on
    it, against the untrained agent's b[i] (Lopez-Paz & Ranzato 2017, GEM). ``R`` [K, K] as in
    :func:`average_performance`, ``b`` [K]."""
    R = _check(R, b)
    K = R.shape[0]
    return float(np.mean(R[np.arange(K - 1), np.arange(1, K)] - np.asarray(b, dtype=np.float64)[1:]))


def metric_half_widths(H: np.ndarray, h: np.ndarray) -> dict[str, float]:
    """Half-widths of 95 % intervals over the evaluation shoppers of ``average_performance``,
    ``backward_transfer`` and ``forward_transfer``, from those of every score, ``H`` [K, K] (of R) and ``h`` [K]
    (of b). Each metric is a mean of scores or of differences of two scores; the half-width of a sum is at most
    the sum of the half-widths, so these are conservative for correlated scores (the same shoppers every time)."""
    H = _check(H, h)
    K = H.shape[0]
    return {
        "average_performance": float(H[-1].mean()),
        "backward_transfer": float(np.mean(H[-1, :-1] + np.diag(H)[:-1])),
        "forward_transfer": float(np.mean(H[np.arange(K - 1), np.arange(1, K)] + np.asarray(h)[1:])),
    }


def continual_metrics(R: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """All metrics of one run: ``average_performance``, ``forgetting`` (list [K-1]), ``mean_forgetting``,
    ``backward_transfer`` and ``forward_transfer``, in the units of R (profit per shopper here)."""
    per_market = forgetting(R)
    return {
        "average_performance": average_performance(R),
        "forgetting": per_market.tolist(),
        "mean_forgetting": float(per_market.mean()),
        "backward_transfer": backward_transfer(R),
        "forward_transfer": forward_transfer(R, b),
    }


# ---------------------------------------------------------------------------------------------------- envs
def _env_seed(seed: int, stage: int, part: int = 0) -> int:
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


def _rollout_size(model: BaseAlgorithm) -> int:
    """Env steps by which SB3's ``learn`` advances: it trains in whole rollouts (on-policy) or train periods."""
    if isinstance(model, OnPolicyAlgorithm):
        return model.n_steps * model.n_envs
    return model.train_freq.frequency * model.n_envs  # off-policy; HyperParams gives train_freq in steps


# ---------------------------------------------------------------------------------------------------- one cell
def _new_agent(
    config: ContinualConfig, hyperparams: HyperParams, seed: int, device: str, scenario: ScenarioRef
) -> SB3Agent:
    return SB3Agent(config.algo, config.env, hyperparams, seed=seed, device=device, env_kwargs={"scenario": scenario})


def _scores(agent: SB3Agent, config: ContinualConfig) -> tuple[list[float], list[float]]:
    """Profit per shopper of the (deterministic, frozen) agent on every market, the same shoppers each time, and
    the half-widths of their 95 % intervals over those shoppers."""
    results = [evaluate(agent, config.env, config.n_eval, config.eval_seed, scenario=s) for s in config.scenarios]
    return [r.kpis()["profit_per_shopper"] for r in results], [half_width(r.totals["profit"]) for r in results]


def _stage_env(config: ContinualConfig, n_envs: int, strategy: str, seed: int, stage: int) -> VecEnv:
    if strategy == "multitask":
        return make_mixed_sb3_vec_env(config.env, config.scenarios, n_envs, seed=_env_seed(seed, 0))
    if strategy == "rehearsal" and stage > 0:
        markets = config.scenarios[: stage + 1]
        return _rehearsal_env(config.env, markets, n_envs, config.rehearsal_fraction, _env_seed(seed, stage))
    return make_sb3_vec_env(config.env, n_envs, seed=_env_seed(seed, stage), scenario=config.scenarios[stage])


def _run_cell(
    config: ContinualConfig, strategy: str, seed: int, hyperparams: HyperParams, device: str
) -> dict[str, Any]:
    """Train one strategy with one seed through all stages; R [K, K], b [K], the half-widths of their intervals
    over the evaluation shoppers, env steps and seconds."""
    started = time.perf_counter()
    agent = _new_agent(config, hyperparams, seed, device, config.scenarios[0])
    b, b_widths = _scores(agent, config)
    rows, widths, env_steps, train_seconds = [], [], 0, 0.0
    for stage, scenario in enumerate(config.scenarios):
        if strategy == "reset" and stage > 0:
            env_steps += agent.model.num_timesteps
            agent = _new_agent(config, hyperparams, seed, device, scenario)
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


# ---------------------------------------------------------------------------------------------------- drift
class _ProfitRecorder(BaseCallback):
    """Records, for every env step while SB3 trains, the market clock at its start and the profit it earned."""

    def __init__(self, env: ShopVecEnv) -> None:
        super().__init__()
        self.env = env
        self.starts: list[int] = []
        self.profits: list[float] = []

    def _on_step(self) -> bool:
        self.starts.append(self.env.batch.simulator.clock - self.env.num_envs)
        self.profits.append(float(self.env.last_info["profit"].sum()))
        return True

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(clock at the start of each step [T], profit summed over the slots [T]) since the last call."""
        result = np.array(self.starts), np.array(self.profits)
        self.starts, self.profits = [], []
        return result


def _windows(starts: np.ndarray, profits: np.ndarray, n_envs: int, edges: np.ndarray) -> np.ndarray:
    """Profit per visit in each clock window [len(edges) - 1]; a step belongs to the window of its start."""
    index = np.searchsorted(edges, starts, side="right") - 1
    keep = (index >= 0) & (index < edges.size - 1)
    profit = np.bincount(index[keep], weights=profits[keep], minlength=edges.size - 1)
    visits = np.bincount(index[keep], minlength=edges.size - 1) * n_envs
    return profit / visits


def _n_windows(length: int, n_envs: int, wanted: int) -> int:
    """At most ``wanted`` windows, each at least one env step wide (so none is empty)."""
    return max(1, min(wanted, length // n_envs))


def _drift_events(scenario: ScenarioRef) -> list[tuple[int, str]]:
    """(market clock, label) of the dated drift events of a scenario, in clock order (seasonal drift and catalog
    churn have no single date)."""
    events = []
    for spec in resolve_scenario(scenario).drift:
        if isinstance(spec, AbruptSwitch):
            events.append((spec.at, f"switch to {spec.to}"))
        elif isinstance(spec, GradualShift):
            events += [(spec.start, f"shift to {spec.to} starts"), (spec.end, f"shift to {spec.to} ends")]
        elif isinstance(spec, CompetitorEntry):
            events.append((spec.at, "competitor enters"))
    return sorted(events)


def _run_drift(
    config: ContinualConfig, seed: int, hyperparams: HyperParams, device: str, folder: Path
) -> dict[str, Any]:
    """Pretrain on the drifting market while its clock runs, then an adapting and a frozen copy side by side.

    The agent trains in the drift scenario from market clock 0 for ``drift_pretrain_steps`` rounded down to
    whole rollouts (so pretraining never passes that clock). The env (shoppers in their slots, random streams,
    the clock) is then deep-copied: the adapting agent goes on training (PPO) in the original for
    ``drift_steps`` more env steps (rounded up to whole rollouts), while the frozen copy (the pretrained weights
    and observation statistics, saved to ``folder/pretrained`` and reloaded) acts for as many steps in the copy
    without learning. Both sample their actions from the policy (``deterministic=False``), as PPO does in its
    rollouts, so the curves compare the profit each earns live on the same market clock; they start from the
    same state, then their shoppers diverge as their actions do.
    """
    started = time.perf_counter()
    n_envs = hyperparams.n_envs
    agent = _new_agent(config, hyperparams, seed, device, config.drift_scenario)
    env = make_sb3_vec_env(config.env, n_envs, seed=_env_seed(seed, DRIFT_STAGE), scenario=config.drift_scenario)
    agent.use_env(env, {"scenario": config.drift_scenario})
    rollout = _rollout_size(agent.model)
    recorder = _ProfitRecorder(env)
    agent.learn(max(1, config.drift_pretrain_steps // rollout) * rollout, callback=recorder)
    pre_starts, pre_profits = recorder.take()
    pretrained = env.batch.simulator.clock
    twin = copy.deepcopy(env)
    agent.save(folder / "pretrained")

    agent.learn(config.drift_steps, callback=recorder)
    starts, profits = recorder.take()
    end = env.batch.simulator.clock

    frozen = SB3Agent.load(folder / "pretrained", device=device)
    frozen.deterministic = False
    obs = twin.batch.observe()
    frozen_starts, frozen_profits = [], []
    while twin.batch.simulator.clock < end:
        frozen_starts.append(twin.batch.simulator.clock)
        obs = twin.step(frozen.act(obs))[0]
        frozen_profits.append(float(twin.last_info["profit"].sum()))

    width = (end - pretrained) / _n_windows(end - pretrained, n_envs, DRIFT_WINDOWS)
    pre_edges = np.linspace(0, pretrained, _n_windows(pretrained, n_envs, round(pretrained / width)) + 1)
    edges = np.linspace(pretrained, end, _n_windows(end - pretrained, n_envs, DRIFT_WINDOWS) + 1)
    return {
        "seed": seed,
        "pretrain_clock": int(pretrained),
        "end_clock": int(end),
        "pretrain_edges": pre_edges.tolist(),
        "pretrain": _windows(pre_starts, pre_profits, n_envs, pre_edges).tolist(),
        "edges": edges.tolist(),
        "adapting": _windows(starts, profits, n_envs, edges).tolist(),
        "frozen": _windows(np.array(frozen_starts), np.array(frozen_profits), n_envs, edges).tolist(),
        "seconds": time.perf_counter() - started,
    }


def _summarise_drift(config: ContinualConfig, cells: list[dict]) -> dict[str, Any]:
    """Mean curves over seeds with 95 % bands, and the per-visit profit after the first dated drift event."""
    first = cells[0]
    edges = np.array(first["edges"])
    events = _drift_events(config.drift_scenario)
    onset = events[0][0] if events else None
    after = edges[:-1] >= (onset if onset is not None else edges[0])
    curves: dict[str, Any] = {}
    for name in ("pretrain", "adapting", "frozen"):
        mean, low, high = mean_ci(np.array([c[name] for c in cells]))
        curves[name] = {"mean": mean.tolist(), "low": low.tolist(), "high": high.tolist()}

    def compare(windows: np.ndarray) -> dict[str, Any] | None:
        if not windows.any():
            return None
        adapting = [float(np.mean(np.array(c["adapting"])[windows])) for c in cells]
        frozen = [float(np.mean(np.array(c["frozen"])[windows])) for c in cells]
        return {
            "from_clock": float(edges[:-1][windows][0]),
            "to_clock": float(edges[1:][windows][-1]),
            "windows": int(windows.sum()),
            "adapting": iqm_summary(adapting),
            "frozen": iqm_summary(frozen),
            "difference": iqm_summary(np.subtract(adapting, frozen).tolist()),  # of the per-seed differences
        }

    return {
        "scenario": scenario_label(config.drift_scenario),
        "events": [{"clock": clock, "label": label} for clock, label in events],
        "pretrain_clock": first["pretrain_clock"],
        "end_clock": first["end_clock"],
        "pretrain_edges": first["pretrain_edges"],
        "edges": first["edges"],
        "curves": curves,
        "per_seed": {name: [c[name] for c in cells] for name in ("pretrain", "adapting", "frozen")},
        # Before the first event the adapting agent already pulls ahead by learning on: the gap after it is
        # learning plus adaptation, and the gap before it tells them apart.
        "before_drift": compare(~after) if onset is not None else None,
        "after_drift": compare(after),
    }


# ---------------------------------------------------------------------------------------------------- summary
def _over_shoppers(cells: list[dict], metrics: list[dict], n_eval: int) -> dict[str, dict[str, Any]]:
    """A, BWT and FWT as means over seeds with conservative 95 % intervals over the evaluation shoppers (no bounds
    for cells cached before their half-widths were recorded)."""
    widths = [
        metric_half_widths(np.array(c["R_half_width"]), np.array(c["b_half_width"])) if "R_half_width" in c else {}
        for c in cells
    ]
    return {
        key: shopper_summary([m[key] for m in metrics], [w.get(key) for w in widths], n_eval)
        for key in ("average_performance", "backward_transfer", "forward_transfer")
    }


def _summarise_strategy(cells: list[dict], labels: list[str], n_eval: int) -> dict[str, Any]:
    R = np.array([c["R"] for c in cells])
    b = np.array([c["b"] for c in cells])
    metrics = [continual_metrics(r, v) for r, v in zip(R, b, strict=True)]
    return {
        "sequential": cells[0]["strategy"] in SEQUENTIAL,
        **{
            key: iqm_summary([m[key] for m in metrics])
            for key in ("average_performance", "mean_forgetting", "backward_transfer", "forward_transfer")
        },
        "forgetting_per_market": [
            {"market": labels[i], **iqm_summary([m["forgetting"][i] for m in metrics])} for i in range(len(labels) - 1)
        ],
        "over_shoppers": _over_shoppers(cells, metrics, n_eval),
        "R_iqm": stats.trim_mean(R, 0.25, axis=0).tolist(),
        "b_iqm": stats.trim_mean(b, 0.25, axis=0).tolist(),
        "R": R.tolist(),
        "b": b.tolist(),
        "per_seed": metrics,
        "env_steps": [c["env_steps"] for c in cells],
        "train_seconds": [c["train_seconds"] for c in cells],
        "seconds": [c["seconds"] for c in cells],
    }


def _add_compute(strategies: dict[str, dict]) -> None:
    """Mean env steps and training seconds of each strategy relative to naive's (None without naive)."""
    naive = strategies.get("naive")
    for entry in strategies.values():
        entry["compute_vs_naive"] = (
            {key: float(np.mean(entry[key]) / np.mean(naive[key])) for key in ("env_steps", "train_seconds")}
            if naive is not None
            else None
        )


def _fmt(stat: dict[str, Any]) -> str:
    return format_interval(stat, 2)


def _shown(config: ContinualConfig, entry: dict[str, Any], key: str) -> dict[str, Any]:
    """The summary the report prints for a strategy's ``key``: over seeds, or with fewer than MIN_SEEDS seeds
    over the evaluation shoppers where there is one (A, BWT and FWT)."""
    if config.seeds >= MIN_SEEDS or key not in entry.get("over_shoppers", {}):
        return entry[key]
    return entry["over_shoppers"][key]


def _findings(config: ContinualConfig, strategies: dict[str, dict], drift: dict | None) -> list[str]:
    """One sentence per finding, computed from the numbers."""
    lines = []
    best = max(strategies, key=lambda s: strategies[s]["average_performance"]["iqm"])
    lines.append(
        f"Final average performance A (mean over the {len(config.scenarios)} markets after the last stage) is"
        f" highest for {best}: {_fmt(_shown(config, strategies[best], 'average_performance'))}."
    )
    sequential = [s for s in strategies if strategies[s]["sequential"]]
    if sequential:
        least = min(sequential, key=lambda s: strategies[s]["mean_forgetting"]["iqm"])
        others = ", ".join(f"{s} {_fmt(strategies[s]['mean_forgetting'])}" for s in sequential if s != least)
        negative = strategies[least]["mean_forgetting"]["iqm"] < 0
        lines.append(
            f"Among the sequential strategies, {least} forgets least: mean forgetting"
            f" {_fmt(strategies[least]['mean_forgetting'])}"
            + (f" (against {others})" if others else "")
            + ("; negative: its earlier markets ended above their earlier best." if negative else ".")
        )
    if "rehearsal" in strategies and "naive" in strategies:
        r, n = strategies["rehearsal"]["mean_forgetting"], strategies["naive"]["mean_forgetting"]
        if not (has_interval(r) and has_interval(n)):
            lines.append(
                f"With {config.seeds} seed(s) there are no intervals over seeds: mean forgetting of rehearsal"
                f" {r['iqm']:.2f} against naive {n['iqm']:.2f} is no evidence that either forgets less."
            )
        else:
            overlap = r["low"] <= n["high"] and n["low"] <= r["high"]
            verdict = (
                "overlap: these seeds do not separate rehearsal from naive fine-tuning"
                if overlap
                else f"do not overlap: rehearsal forgets {'less' if r['iqm'] < n['iqm'] else 'more'} than naive"
            )
            lines.append(f"The 95 % CIs of mean forgetting of rehearsal {_fmt(r)} and naive {_fmt(n)} {verdict}.")
    if "naive" in strategies:
        ratios = ", ".join(
            f"{s} {e['compute_vs_naive']['env_steps']:.2f}× env steps"
            f" ({e['compute_vs_naive']['train_seconds']:.2f}× training time)"
            for s, e in strategies.items()
            if s != "naive"
        )
        if ratios:
            lines.append(f"Training compute relative to naive: {ratios}.")
    if drift is not None:
        comparison = drift["after_drift"]
        if comparison is None:
            lines.append("The drift events lie after the end of the drift phase: no post-drift comparison.")
        else:
            diff = comparison["difference"]
            sign = "more" if diff["iqm"] > 0 else "less"
            if has_interval(diff):
                excludes = diff["low"] > 0 or diff["high"] < 0
                verdict = f"the 95 % CI over seeds {'excludes' if excludes else 'includes'} 0"
            else:
                verdict = f"no interval over seeds with fewer than {MIN_SEEDS} seeds"
            lines.append(
                f"On the drifting market from clock {comparison['from_clock']:,.0f} on, the adapting agent earned"
                f" {_fmt(comparison['adapting'])} per visit and the frozen one {_fmt(comparison['frozen'])}:"
                f" adapting − frozen = {_fmt(diff)} ({sign} for the adapting agent; {verdict})."
            )
            before = drift["before_drift"]
            if before is not None:
                drop = comparison["frozen"]["iqm"] / before["frozen"]["iqm"] - 1
                lines.append(
                    f"Before the drift (clock {before['from_clock']:,.0f} to {before['to_clock']:,.0f}) the gap was"
                    f" already {_fmt(before['difference'])} per visit, as the adapting agent went on learning: the"
                    " gap after the drift mixes that continued learning with adaptation to the new market. The"
                    f" frozen policy's profit per visit changed by {100 * drop:+.0f} % across the drift."
                )
        if drift["events"] and drift["pretrain_clock"] > drift["events"][0]["clock"]:
            lines.append(
                f"Pretraining ran to clock {drift['pretrain_clock']:,}, past the first drift event at"
                f" {drift['events'][0]['clock']:,}: the pretrained policy already saw the changed market."
            )
    return lines


# ---------------------------------------------------------------------------------------------------- figures
def _plot_matrices(path: Path, strategies: dict[str, dict], labels: list[str], seeds: int) -> None:
    """A row of R heatmaps (IQM over seeds), one per strategy, on one colour scale."""
    K, names = len(labels), list(strategies)
    matrices = [np.array(strategies[s]["R_iqm"]) for s in names]
    low, high = min(m.min() for m in matrices), max(m.max() for m in matrices)
    side = 1.0 + 0.75 * K
    fig, axes = plt.subplots(
        1, len(names), figsize=(side * len(names) + 2.5, side + 1.1), dpi=130, squeeze=False, layout="constrained"
    )
    image = None
    for ax, name, matrix in zip(axes[0], names, matrices, strict=True):
        image = ax.imshow(matrix, cmap="viridis", vmin=low, vmax=high)
        for k in range(K):
            for i in range(K):
                bright = (matrix[k, i] - low) / (high - low) > 0.6 if high > low else False
                color = "black" if bright else "white"
                ax.text(i, k, f"{matrix[k, i]:.1f}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(K), [f"{i + 1}: {label}" for i, label in enumerate(labels)], rotation=35, ha="right")
        rows = "chunk" if name == "multitask" else "stage"
        ax.set_yticks(range(K), [f"after {rows} {k + 1}" for k in range(K)])
        ax.set_xlabel("evaluated on market i")
        ax.set_title(name if name != "multitask" else "multitask (all markets;\nrows: K equal chunks)", fontsize=10)
    axes[0][0].set_ylabel("after training stage k")
    fig.colorbar(image, ax=axes[0].tolist(), label=f"profit per shopper (currency units)\nIQM over {seeds} seed(s)")
    fig.suptitle("Score on every market after every stage, R[k, i]")
    fig.savefig(path)
    plt.close(fig)


def _plot_drift(path: Path, drift: dict, seeds: int) -> None:
    """Profit per visit against the market clock: shared pretraining, then adapting and frozen, 95 % bands."""
    fig, ax = plt.subplots(figsize=(8.5, 4.8), dpi=130)
    if seeds >= MIN_SEEDS:
        band = f"mean of {seeds} seeds, band: 95 % bootstrap CI over {seeds} seeds"
    else:
        band = f"mean of {seeds} seed(s), no band with fewer than {MIN_SEEDS} seeds"
    for name, edges, color, label in (
        ("pretrain", drift["pretrain_edges"], "grey", "pretraining (shared)"),
        ("adapting", drift["edges"], "tab:blue", "adapting (keeps learning)"),
        ("frozen", drift["edges"], "tab:orange", "frozen copy (no learning)"),
    ):
        edges = np.array(edges)
        centres = (edges[:-1] + edges[1:]) / 2
        curve = drift["curves"][name]
        ax.plot(centres, curve["mean"], color=color, linewidth=2, label=label)
        if seeds >= MIN_SEEDS:
            ax.fill_between(centres, curve["low"], curve["high"], color=color, alpha=0.2)
    for event in (e for e in drift["events"] if e["clock"] <= drift["end_clock"]):  # the ones the run reached
        ax.axvline(event["clock"], color="black", linestyle="--", linewidth=1.2)
        ax.annotate(
            f"{event['label']} (clock {event['clock']:,})",
            (event["clock"], 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlabel("market clock (shopper visits since the market started)")
    ax.set_ylabel("profit per visit (currency units)")
    ax.set_title(f"Drifting market '{drift['scenario']}': adapting vs frozen policy\n({band})", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- report
def _intervals_note(config: ContinualConfig) -> str:
    """What the intervals of the report cover."""
    if config.seeds >= MIN_SEEDS:
        return (
            f"Every metric is the IQM over the {config.seeds} seeds [95 % CI over training seeds, percentile"
            " bootstrap of the IQM]."
        )
    return (
        f"With {config.seeds} seed(s) there are no intervals over training seeds (they need {MIN_SEEDS}): A, BWT"
        f" and FWT are means over seeds [95 % CI over the {config.n_eval:,} evaluation shoppers: ± the mean over"
        " the scores they average of their half-widths, a difference adding both, which is conservative for"
        " scores on the same shoppers]; mean forgetting, a maximum over stages, has no such interval (n/a), nor"
        " do the drift comparisons."
    )


def render_report(config: ContinualConfig, summary: dict[str, Any]) -> str:
    """``report.md`` of the run ``config`` from its ``summary`` (as in ``summary.json``)."""
    labels, strategies, drift = summary["scenarios"], summary["strategies"], summary["drift"]
    lines = [
        f"# shopgym continual learning: {config.algo.upper()} on {config.env}",
        "",
        f"Markets in training order: {', '.join(f'{i + 1}. `{label}`' for i, label in enumerate(labels))};"
        f" {config.steps_per_stage:,} env steps per stage, {config.seeds} training seed(s). After every stage the"
        f" frozen agent (deterministic actions) is evaluated on every market with the same {config.n_eval:,}"
        f" shoppers (seed {config.eval_seed}); R[k, i] is {PROFIT_UNITS}, b[i] the untrained agent's. Rehearsal"
        f" gives {config.rehearsal_fraction:.0%} of the env slots to earlier markets from stage 2 on, at the same"
        " compute as naive; multitask trains on all markets at once for the same total env steps (an upper"
        " reference: its rows are equal chunks of training, so forgetting and transfer do not apply to it).",
        "",
        "`A = mean_i R[K-1, i]`; forgetting `f_i = max_{i≤k<K-1} R[k, i] − R[K-1, i]`, averaged over `i < K-1`"
        " (Chaudhry et al. 2018; negative: the final score beats the earlier best);"
        " `BWT = mean_{i<K-1} (R[K-1, i] − R[i, i])` and `FWT = mean_{i≥1} (R[i-1, i] − b[i])`"
        " (Lopez-Paz & Ranzato 2017).",
        _intervals_note(config),
        f"Wall time of this invocation (cells finished earlier are read back): {summary['minutes']:.1f} minutes.",
        "",
        "![R matrices](matrices.png)",
        "",
        "| strategy | A | mean forgetting | BWT | FWT | env steps vs naive | training time vs naive |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in strategies.items():
        cells = [_fmt(_shown(config, entry, "average_performance"))]
        for key in ("mean_forgetting", "backward_transfer", "forward_transfer"):
            cells.append(_fmt(_shown(config, entry, key)) if entry["sequential"] else "–")
        relative = entry["compute_vs_naive"] or {}
        cells += [f"{relative[k]:.2f}×" if relative else "n/a" for k in ("env_steps", "train_seconds")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", "## Findings", "", *[f"- {line}" for line in summary["findings"]], ""]
    if drift is not None:
        lines += [
            "## Drifting market",
            "",
            f"One agent per seed trains in `{drift['scenario']}` from market clock 0 to {drift['pretrain_clock']:,}"
            f" (the configured {config.drift_pretrain_steps:,} env steps rounded down to whole rollouts, at least"
            " one); then the adapting agent keeps training"
            f" to clock {drift['end_clock']:,} while a frozen copy of the same weights acts, without learning, in"
            " a copy of the same env (same shoppers, random streams and clock at the split). Both sample their"
            " actions from the policy, as PPO's rollouts do; the curves are the profit each earned per visit in"
            f" windows of the market clock (mean over seeds; from {MIN_SEEDS} seeds on with a band, the 95 %"
            " bootstrap CI over seeds).",
            "",
            "![drift](drift.png)",
            "",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- entry
def _hyperparams(config: ContinualConfig, hyperparams: HyperParams | str | Path | None) -> HyperParams:
    if isinstance(hyperparams, HyperParams):
        hyperparams.algorithm_kwargs(config.algo)  # an algorithm-specific key the algorithm lacks is an error
        return hyperparams
    return load_hyperparams(config.algo, config.env, hyperparams)


def _validate(config: ContinualConfig, hyperparams: HyperParams) -> None:
    K = len(config.scenarios)
    if K > DRIFT_STAGE:
        raise ParameterError(f"at most {DRIFT_STAGE} scenarios, got {K}")
    if "multitask" in config.strategies and hyperparams.n_envs < K:
        raise ParameterError(f"multitask needs n_envs ≥ {K} (one slot per market), got {hyperparams.n_envs}")
    if "rehearsal" in config.strategies:
        rehearsal_sizes(hyperparams.n_envs, K - 1, config.rehearsal_fraction)


def _cached(run: RunDirectory, name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The cell ``cells/<name>.json`` if a previous run finished it, else ``compute()`` written there."""
    path = run.path / "cells" / f"{name}.json"
    if path.is_file():
        log.info("%s: finished earlier", name)
        return json.loads(path.read_text(encoding="utf-8"))
    log.info("%s: running", name)
    result = compute()
    write_atomic(path, json.dumps(result, indent=1, default=float) + "\n")
    return result


def run_continual(
    config: ContinualConfig,
    out: str | Path,
    device: str = "auto",
    progress_bar: bool = False,
    hyperparams: HyperParams | str | Path | None = None,
) -> dict[str, Any]:
    """Run (or continue) the continual-learning experiment ``config`` in the folder ``out``; returns the summary
    that is also written to ``summary.json`` (last), after ``matrices.png``, ``drift.png`` (with a drift
    scenario) and ``report.md``.

    ``hyperparams``: a :class:`HyperParams`, a hyperparameter YAML path, or None for ``agents/hyperparams``;
    recorded in ``run.json``, and a folder started with other ones (or another config) is refused.
    """
    params = _hyperparams(config, hyperparams)
    _validate(config, params)
    run = RunDirectory(out)
    params_json = params.model_dump(mode="json")
    run.begin(config.model_dump(mode="json"), "continual run", device, hyperparams=params_json)
    started = time.perf_counter()
    jobs = [
        (f"{strategy}-seed{seed}", lambda s=strategy, k=seed: _run_cell(config, s, k, params, device))
        for seed in range(config.seeds)
        for strategy in config.strategies
    ]
    if config.drift_scenario is not None:
        jobs += [
            (f"drift-seed{seed}", lambda k=seed: _run_drift(config, k, params, device, run.path / "drift" / f"seed{k}"))
            for seed in range(config.seeds)
        ]
    bar = make_progress_bar("runs", progress_bar)
    results: dict[str, dict] = {}
    with bar:
        task = bar.add_task("continual", total=len(jobs))
        for name, compute in jobs:
            bar.update(task, description=f"continual: {name}")
            results[name] = _cached(run, name, compute)
            bar.advance(task)

    labels = [scenario_label(s) for s in config.scenarios]
    strategies = {
        strategy: _summarise_strategy(
            [results[f"{strategy}-seed{k}"] for k in range(config.seeds)], labels, config.n_eval
        )
        for strategy in config.strategies
    }
    _add_compute(strategies)
    drift = None
    if config.drift_scenario is not None:
        drift = _summarise_drift(config, [results[f"drift-seed{k}"] for k in range(config.seeds)])
        _plot_drift(run.path / "drift.png", drift, config.seeds)
    _plot_matrices(run.path / "matrices.png", strategies, labels, config.seeds)
    summary = {
        "algo": config.algo,
        "env_id": config.env,
        "scenarios": labels,
        "seeds": config.seeds,
        "steps_per_stage": config.steps_per_stage,
        "n_eval": config.n_eval,
        "eval_seed": config.eval_seed,
        "rehearsal_fraction": config.rehearsal_fraction,
        "hyperparams": params_json,
        "strategies": strategies,
        "findings": _findings(config, strategies, drift),
        "drift": drift,
        "minutes": (time.perf_counter() - started) / 60,
    }
    write_atomic(run.path / "report.md", render_report(config, summary))
    run.write_json("summary.json", summary)
    return summary

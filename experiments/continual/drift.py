"""The drifting-market experiment: an agent that keeps learning against a frozen copy of it, on a market whose drift
runs on the market clock, with profit recorded per window of the clock."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from stable_baselines3.common.callbacks import BaseCallback

from shopgym.agents.sb3_agents import HyperParams, SB3Agent
from shopgym.envs.sb3 import ShopVecEnv, make_sb3_vec_env
from shopgym.experiments.configs import ContinualConfig, ScenarioRef, scenario_label
from shopgym.experiments.continual.cells import new_agent, rollout_size
from shopgym.experiments.continual.strategies import env_seed
from shopgym.experiments.stats import (
    iqm_summary,
    mean_ci,
)
from shopgym.params import AbruptSwitch, CompetitorEntry, GradualShift
from shopgym.scenarios import resolve_scenario

DRIFT_STAGE = 999  # the drift experiment's env seeds use this stage number (continual stages stay below it)
DRIFT_WINDOWS = 40  # windows of the market clock over the drift phase


# ---------------------------------------------------------------------------------------------------- results
class DriftComparison(BaseModel):
    """Profit per visit of the adapting and the frozen agent, and of their difference per seed, in the clock windows
    from ``from_clock`` to ``to_clock`` (each :func:`~shopgym.experiments.stats.iqm_summary` over seeds)."""

    model_config = ConfigDict(extra="forbid")

    from_clock: float
    to_clock: float
    windows: int
    adapting: dict[str, Any]
    frozen: dict[str, Any]
    difference: dict[str, Any]


class DriftSummary(BaseModel):
    """The drifting-market experiment: its scenario and dated events (``clock``, ``label``), the market clock at the
    end of pretraining and of the run, the clock windows' edges, profit per visit per window (``curves``: mean, low,
    high over seeds for ``pretrain``, ``adapting`` and ``frozen``; ``per_seed``: every seed's), and the comparison
    before and after the first event (None where no window lies there)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    events: list[dict[str, Any]]
    pretrain_clock: int
    end_clock: int
    pretrain_edges: list[float]
    edges: list[float]
    curves: dict[str, dict[str, list[float]]]
    per_seed: dict[str, list[list[float]]]
    before_drift: DriftComparison | None
    after_drift: DriftComparison | None


# ---------------------------------------------------------------------------------------------------- drift
class _ProfitRecorder(BaseCallback):
    """Records, for every env step while SB3 trains, the market clock at its start and the profit it earned."""

    def __init__(self, env: ShopVecEnv) -> None:
        super().__init__()
        self.env = env
        self.starts: list[int] = []
        self.profits: list[float] = []

    def _on_step(self) -> bool:
        self.starts.append(self.env.market_clock - self.env.num_envs)
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


def run_drift(
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
    agent = new_agent(config, hyperparams, seed, device, config.drift_scenario)
    env = make_sb3_vec_env(config.env, n_envs, seed=env_seed(seed, DRIFT_STAGE), scenario=config.drift_scenario)
    agent.use_env(env, {"scenario": config.drift_scenario})
    rollout = rollout_size(agent.model)
    recorder = _ProfitRecorder(env)
    agent.learn(max(1, config.drift_pretrain_steps // rollout) * rollout, callback=recorder)
    pre_starts, pre_profits = recorder.take()
    pretrained = env.market_clock
    twin = copy.deepcopy(env)
    agent.save(folder / "pretrained")

    agent.learn(config.drift_steps, callback=recorder)
    starts, profits = recorder.take()
    end = env.market_clock

    frozen = SB3Agent.load(folder / "pretrained", device=device)
    frozen.deterministic = False
    obs = twin.batch.observe()
    frozen_starts, frozen_profits = [], []
    while twin.market_clock < end:
        frozen_starts.append(twin.market_clock)
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


def summarise_drift(config: ContinualConfig, cells: list[dict]) -> DriftSummary:
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

    def compare(windows: np.ndarray) -> DriftComparison | None:
        if not windows.any():
            return None
        adapting = [float(np.mean(np.array(c["adapting"])[windows])) for c in cells]
        frozen = [float(np.mean(np.array(c["frozen"])[windows])) for c in cells]
        return DriftComparison(
            from_clock=float(edges[:-1][windows][0]),
            to_clock=float(edges[1:][windows][-1]),
            windows=int(windows.sum()),
            adapting=iqm_summary(adapting),
            frozen=iqm_summary(frozen),
            difference=iqm_summary(np.subtract(adapting, frozen).tolist()),  # of the per-seed differences
        )

    return DriftSummary(
        scenario=scenario_label(config.drift_scenario),
        events=[{"clock": clock, "label": label} for clock, label in events],
        pretrain_clock=first["pretrain_clock"],
        end_clock=first["end_clock"],
        pretrain_edges=first["pretrain_edges"],
        edges=first["edges"],
        curves=curves,
        per_seed={name: [c[name] for c in cells] for name in ("pretrain", "adapting", "frozen")},
        # Before the first event the adapting agent already pulls ahead by learning on: the gap after it is
        # learning plus adaptation, and the gap before it tells them apart.
        before_drift=compare(~after) if onset is not None else None,
        after_drift=compare(after),
    )

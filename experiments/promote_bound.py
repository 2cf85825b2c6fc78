"""How far from optimal are policies on ``Promote-v1``? The exact bound of a reduced market (for docs/results.md).

The market is ``Promote-v1`` in :func:`shopgym.promote_bound.promote_reduction` of a preset (one category, every
segment a shopper type at its mean traits, no stock, fatigue, budget or drift). Its full-information optimum V* is
solved per shopper type by dynamic programming (:func:`shopgym.promote_bound.solve_promote`); the policy playing it
in the env (:class:`~shopgym.promote_bound.PromoteBoundPolicy`) is then evaluated by Monte Carlo, which checks the
bound. Never discounting, the exact myopic policy, :class:`~shopgym.agents.oracles.MyopicOracle` and a PPO agent
are evaluated on the same shoppers (same seed) and reported as fractions of V*, with 95 % intervals over the
evaluation shoppers. Never discounting and the exact myopic policy also have their exact value on the model.

Run: ``python -m shopgym.experiments.promote_bound [--scenario default] [--ppo-steps 200000] [--shoppers 100000]
[--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)
from shopgym.agents.base import Policy, TaskInfo
from shopgym.agents.baselines import NeverDiscountPolicy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.oracles import MyopicOracle
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.report import table
from shopgym.experiments.stats import SHOPPERS_CI, format_interval, half_width, shopper_summary
from shopgym.params import ParameterError, Scenario, check_count
from shopgym.promote_bound import (
    PromoteBoundPolicy,
    PromoteGrid,
    PromoteModel,
    PromoteSolution,
    promote_reduction,
    solve_promote,
)

__all__ = ["Row", "promote_bound_section", "solve_reduced"]

ENV_ID = "shopgym/Promote-v1"
#: The Monte Carlo check passes when the DP policy's mean return is within this many standard errors of V*.
CHECK_SES = 4.0


@dataclass(frozen=True)
class Row:
    """One policy's evaluation: per-shopper returns, and its exact value on the model where known."""

    label: str
    returns: np.ndarray
    exact: float | None = None

    def summary(self, scale: float = 1.0) -> dict[str, float | None]:
        """Mean return with its interval over shoppers, all divided by ``scale``."""
        stat = shopper_summary([self.returns.mean()], [half_width(self.returns)], self.returns.size)
        return {key: value / scale if key != "n" and value is not None else value for key, value in stat.items()}


def solve_reduced(
    scenario: str | Scenario, grid: tuple[int, int, int] | None = None
) -> tuple[Scenario, PromoteSolution, TaskInfo]:
    """The reduction of ``scenario``, its solution on a grid of (ρ, w, e) points (default: the model's own) and the
    task of its env."""
    reduced = promote_reduction(scenario)
    envs = gym.make_vec(ENV_ID, num_envs=1, scenario=reduced)
    try:
        envs.reset(seed=0)
        model = PromoteModel.from_batch(envs.batch)
        info = TaskInfo(envs.batch.task, envs.batch.horizon)
    finally:
        envs.close()
    return reduced, solve_promote(model, PromoteGrid.for_model(model, *grid) if grid else None), info


def _policies(
    reduced: Scenario, solution: PromoteSolution, info: TaskInfo, ppo_steps: int, seed: int
) -> list[tuple[str, Policy, float | None]]:
    never, myopic = (solution.overall(v) for v in (solution.never_discount, solution.myopic))
    policies: list[tuple[str, Policy, float | None]] = [
        ("DP optimum, full information (`PromoteBoundPolicy`)", PromoteBoundPolicy(info, solution), None),
        ("never discount (`NeverDiscountPolicy`)", NeverDiscountPolicy(info), never),
        ("myopic, the model's one-visit optimum", PromoteBoundPolicy(info, solution, myopic=True), myopic),
        ("myopic oracle (`MyopicOracle`)", MyopicOracle(info), None),
    ]
    if ppo_steps > 0:
        agent = SB3Agent("ppo", ENV_ID, seed=seed, device="cpu", env_kwargs={"scenario": reduced})
        start = time.perf_counter()
        agent.learn(ppo_steps)
        steps = agent.model.num_timesteps  # SB3 trains whole rollouts
        label = f"PPO ({steps:,} steps, seed {seed}, trained in {time.perf_counter() - start:.0f} s)"
        policies.append((label, agent, None))
    return policies


def promote_bound_section(
    scenario: str | Scenario = "default",
    ppo_steps: int = 200_000,
    n_shoppers: int = 100_000,
    seed: int = 0,
    grid: tuple[int, int, int] | None = None,
) -> list[str]:
    """Markdown lines of the section: V* per shopper type and overall, the Monte Carlo check of the DP policy, and
    every policy as a fraction of V*. PPO trains for ``ppo_steps`` env steps with ``seed`` (0: no PPO row); every
    policy is evaluated on the same ``n_shoppers`` shoppers, drawn with seed ``seed + 1``."""
    reduced, solution, info = solve_reduced(scenario, grid)
    model, v_types = solution.model, solution.v_star
    v_star = solution.overall(solution.values)
    never, myopic = (solution.at_start(v) for v in (solution.never_discount, solution.myopic))
    rows = [
        Row(label, evaluate(policy, ENV_ID, n_shoppers=n_shoppers, seed=seed + 1, scenario=reduced).returns, exact)
        for label, policy, exact in _policies(reduced, solution, info, ppo_steps, seed)
    ]
    r, w, e = solution.grid.shape
    name = reduced.name.removesuffix("-promote-bound")
    lines = [
        "## Promote-v1 (reduced): how far from optimal?",
        "",
        f"`Promote-v1` on `promote_reduction({name!r})`: one category of {model.catalog.n_items:,} items, "
        f"{len(model.names)} shopper types (the segments at their mean traits), discount levels "
        f"{', '.join(f'{1 - x:.0%}' for x in model.levels)}, episodes ending after every visit with probability "
        f"{1 - model.continuation:.3g} besides churn. V* is the optimum of a policy that sees each shopper's reference "
        f"price ρ, engagement e and deal wear w and the proposed item before choosing the discount: policy iteration "
        f"on a grid of {r} ρ × {w} w × {e} e points with every item's exact probability "
        f"(`shopgym/promote_bound.py`). Never discounting and the myopic policy (the highest expected reward of the "
        "visit) are evaluated exactly on the same model.",
        "",
    ]
    by_type = []
    for t, label in enumerate(model.names):
        rho0, _, e0 = model.initial_state(t)
        by_type.append(
            [
                label,
                f"{model.weights[t]:.2f}",
                f"{rho0:.2f}",
                f"{e0:.2f}",
                f"{v_types[t]:.2f}",
                f"{never[t]:.2f} ({never[t] / v_types[t]:.1%})",
                f"{myopic[t]:.2f} ({myopic[t] / v_types[t]:.1%})",
                f"{solution.error_bound[t]:.2g}",
                f"{solution.seconds[t]:.1f}",
            ]
        )
    weights = model.weights
    by_type.append(
        [
            "all (weighted)",
            "1.00",
            "",
            "",
            f"**{v_star:.2f}**",
            f"{weights @ never:.2f} ({weights @ never / v_star:.1%})",
            f"{weights @ myopic:.2f} ({weights @ myopic / v_star:.1%})",
            "",
            f"{solution.seconds.sum():.1f}",
        ]
    )
    header = ["shopper type", "weight", "ρ₀", "e₀", "V*", "never discount", "myopic", "solver error ≤"]
    lines += table([*header, "solve time (s)"], by_type)
    check = rows[0]
    standard_error = float(check.returns.std(ddof=1) / np.sqrt(check.returns.size))
    z = (check.returns.mean() - v_star) / standard_error
    verdict = "passes" if abs(z) <= CHECK_SES else "FAILS"
    lines += [
        "",
        f"**Monte Carlo check.** The DP policy played in `gymnasium.make_vec({ENV_ID!r}, scenario=reduced)` earns "
        f"{format_interval(check.summary(), 2)} per shopper over {n_shoppers:,} shoppers (seed {seed + 1}), against "
        f"V* = {v_star:.2f}: {z:+.2f} standard errors, so the check {verdict} (|z| ≤ {CHECK_SES:g}).",
        "",
    ]
    policies = []
    for row in rows:
        exact = "V* (the bound)" if row is check else ("—" if row.exact is None else f"{row.exact:.2f}")
        share = format_interval(row.summary(v_star / 100))  # in % of V*
        policies.append([row.label, format_interval(row.summary(), 2), f"{share} %", exact])
    lines += table(["policy", "mean return", "% of V*", "exact on the model"], policies)
    lines += ["", f"Intervals: {SHOPPERS_CI}, {n_shoppers:,} shoppers, the same for every policy.", ""]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the section and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default", help="preset or scenario file to reduce")
    parser.add_argument("--ppo-steps", type=int, default=200_000, help="PPO training steps (0: no PPO)")
    parser.add_argument("--shoppers", type=int, default=100_000, help="evaluation shoppers per policy")
    parser.add_argument("--seed", type=int, default=0, help="PPO seed; evaluation shoppers use seed + 1")
    parser.add_argument("--grid", type=int, nargs=3, metavar=("RHO", "WEAR", "ENGAGEMENT"), help="DP grid points")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        check_count("--shoppers", args.shoppers, 1)
        check_count("--ppo-steps", args.ppo_steps, 0)
        for axis, points in zip(("RHO", "WEAR", "ENGAGEMENT"), args.grid or (), strict=False):
            check_count(f"--grid {axis}", points, 2)
        lines = promote_bound_section(args.scenario, args.ppo_steps, args.shoppers, args.seed, args.grid)
    except ParameterError as error:
        parser.error(str(error))
    print("\n".join(lines))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

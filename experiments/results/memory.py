"""The memory section: RecurrentPPO against feed-forward PPO on Promote-v1, which hides ρ and engagement."""

from __future__ import annotations

import gymnasium as gym

from shopgym.agents import TaskInfo, make_policy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.oracles import MyopicOracle
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.report import table
from shopgym.experiments.results.common import market, over_shoppers, shopper_interval
from shopgym.experiments.runs import CellStore
from shopgym.experiments.stats import SEEDS_CI, SHOPPERS_CI, format_interval, iqm_summary


def memory_section(cells: CellStore, seeds: int, steps: int, n_eval: int) -> list[str]:
    """Promote-v1 hides ρ and engagement; does an LSTM policy (RecurrentPPO) gain over feed-forward PPO?"""
    env_id = "shopgym/Promote-v1"
    info = TaskInfo.of(gym.make(env_id))
    where = f"memory/{market('default')}"  # Promote-v1's default market, as it is today

    def train(algo: str, seed: int) -> float:
        agent = SB3Agent(algo, env_id, seed=seed, device="cpu").learn(steps)
        return evaluate(agent, env_id, n_shoppers=n_eval, seed=2000).mean_return

    rows = {
        name: [cells.get(f"{where}/{algo}/seed{s}", lambda a=algo, s=s: train(a, s)) for s in range(seeds)]
        for name, algo in (("PPO (feed-forward)", "ppo"), ("RecurrentPPO (LSTM)", "recurrentppo"))
    }
    fixed = {
        "never discount": cells.get(
            f"{where}/never/over_shoppers",
            lambda: over_shoppers(evaluate(make_policy("never_discount", info), env_id, n_eval, 2000)),
        ),
        "myopic oracle (hidden state)": cells.get(
            f"{where}/oracle/over_shoppers", lambda: over_shoppers(evaluate(MyopicOracle(info), env_id, n_eval, 2000))
        ),
    }
    lines = [
        "## Promote-v1 (`default`): does memory help on a partially observed task?",
        "",
        f"The policy sees the shopper's history averages, not ρ or engagement. {steps:,} env steps per run,",
        f"{seeds} seeds, evaluated on the same {n_eval:,} shoppers; profit per shopper, IQM over seeds [{SEEDS_CI}];",
        f"the fixed policies': mean [{SHOPPERS_CI}].",
        "",
        *table(
            ["policy", "profit / shopper"],
            [[name, format_interval(iqm_summary(values))] for name, values in rows.items()]
            + [[name, shopper_interval(result, n_eval)] for name, result in fixed.items()],
        ),
        "",
    ]
    return lines

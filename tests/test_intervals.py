"""Honest intervals and reports without the project's own targets: every printed interval says what it covers,
intervals over fewer than three seeds are "n/a", deterministic baselines get an interval over the evaluation
shoppers, one formatter prints them all, and transfer / continual reports carry results, not our targets."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from shopgym.experiments.compare import _score_baselines, run_comparison, summarise
from shopgym.experiments.configs import CompareConfig, TransferConfig
from shopgym.experiments.stats import iqm_summary
from shopgym.experiments.transfer import TransferSummary

# What these tests check is new API, imported inside them, so on the old code each fails on its own.

ROOT = Path(__file__).resolve().parents[1]
STEPS = [0, 100, 200]


# ---------------------------------------------------------------------- one formatter
def test_seed_intervals_from_fewer_than_three_seeds_print_na():
    from shopgym.experiments.stats import format_interval

    assert format_interval(iqm_summary([130.8])) == "130.8 [n/a]"
    assert format_interval(iqm_summary([130.0, 131.0])) == "130.5 [n/a]"
    three = iqm_summary([1.0, 2.0, 4.0])
    assert format_interval(three) == f"{three['iqm']:.1f} [{three['low']:.1f}, {three['high']:.1f}]"
    assert three["low"] < three["high"]
    assert format_interval(None) == "n/a"


def test_shopper_interval_is_the_normal_interval_of_the_mean():
    from shopgym.experiments.stats import format_interval, half_width, shopper_summary

    profits = np.array([0.0, 10.0, 20.0, 30.0])
    width = 1.96 * profits.std(ddof=1) / 2
    assert half_width(profits) == pytest.approx(width)
    one = shopper_summary([15.0], [width], 4)
    assert (one["low"], one["high"]) == pytest.approx((15.0 - width, 15.0 + width))
    # several runs on the same shoppers: the mean half-width, a conservative bound
    two = shopper_summary([10.0, 20.0], [1.0, 3.0], 4)
    assert (two["mean"], two["low"], two["high"]) == (15.0, 13.0, 17.0)
    assert format_interval(shopper_summary([15.0], [None], 4)) == "15.0 [n/a]"  # half-width never recorded


OWNED = (
    "compare.py",
    "transfer.py",
    *(f"continual/{p.name}" for p in (ROOT / "experiments" / "continual").glob("*.py")),
    "agent_results.py",
    *(f"results/{p.name}" for p in (ROOT / "experiments" / "results").glob("*.py")),
)


@pytest.mark.parametrize("name", OWNED)
def test_reports_print_intervals_with_the_one_formatter(name):
    source = (ROOT / "experiments" / name).read_text(encoding="utf-8")
    copies = re.findall(r"\{[^\n]*?\blow\b[^\n]*?:\.[^\n]*?\}, \{[^\n]*?\bhigh\b", source)
    assert not copies, f"{name} formats '[low, high]' itself: {copies}"


# ---------------------------------------------------------------------- comparisons
def test_comparison_with_two_seeds_prints_na_and_the_interval_over_shoppers(tmp_path):
    config = CompareConfig(
        env="shopgym/Promote-v1",
        seeds=2,
        n_eval=50,
        baselines=["random", "never_discount"],
        reference="never discount",
    )
    summary = run_comparison(config, tmp_path / "cmp", device="cpu")
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "95 % CI over the 2 seeds" in report and "95 % CI over the 50 evaluation shoppers" in report
    row = next(line for line in report.splitlines() if line.startswith("| never discount |"))
    over_seeds, over_shoppers = row.split(" | ")[1:3]
    assert over_seeds.endswith("[n/a]")
    point, low, high = map(float, re.match(r"([-\d.]+) \[([-\d.]+), ([-\d.]+)\]", over_shoppers).groups())
    assert low < point < high  # a deterministic baseline: zero-width over seeds, not over shoppers
    assert "[n/a]" in next(line for line in report.splitlines() if line.startswith("| random |"))
    stat = summary.policies["never discount"].profit_per_shopper_over_shoppers
    assert stat["n"] == 50 and stat["low"] < stat["mean"] < stat["high"]


def test_deterministic_baseline_gets_an_evaluation_noise_interval():
    config = CompareConfig(env="shopgym/Marketing-v1", seeds=3, n_eval=50, baselines=["never_discount"])
    policy = summarise(config, _score_baselines(config)).policies["never discount"]
    over_seeds, over_shoppers = policy.profit_per_shopper, policy.profit_per_shopper_over_shoppers
    assert over_seeds["low"] == over_seeds["high"]  # the same result every seed
    assert over_shoppers["high"] - over_shoppers["low"] > 1.0
    assert over_shoppers["mean"] == pytest.approx(over_seeds["iqm"])


# ---------------------------------------------------------------------- transfer reports
def _transfer_summary(seeds: int) -> tuple[TransferConfig, TransferSummary]:
    """A pair whose fine-tuned runs never reach the from-scratch final return (hand-made curves)."""
    from shopgym.experiments.transfer import _summarise_pair

    config = TransferConfig(
        seeds=seeds,
        source_steps=100,
        target_steps=200,
        eval_freq=100,
        n_eval=50,
        pairs=[{"name": "new country", "source": ["default"], "target": "new_market"}],
    )
    finetuned = [(STEPS, [50.0 + k, 55.0, 58.0 + k]) for k in range(seeds)]
    scratch = [(STEPS, [10.0 + k, 40.0, 70.0 + k]) for k in range(seeds)]
    widths = ([(STEPS, [4.0, 4.0, 4.0])] * seeds, [(STEPS, [2.0, 2.0, 2.0])] * seeds)
    pair = _summarise_pair(config, config.pairs[0], finetuned, scratch, widths)
    return config, TransferSummary(algo=config.algo, env_id=config.env, seeds=seeds, pairs=[pair], minutes=0.1)


def test_transfer_report_carries_results_not_targets():
    from shopgym.experiments.transfer_report import render_report

    config, summary = _transfer_summary(seeds=5)
    report = render_report(config, summary)
    assert "Target" not in report and "met**" not in report and "within half" not in report
    assert "95 % CI over training seeds" in report


def test_transfer_threshold_never_reached_reads_not_reached_not_inf():
    from shopgym.experiments.transfer_report import render_report

    config, summary = _transfer_summary(seeds=5)
    assert summary.pairs[0].threshold_fraction_median == float("inf")
    report = render_report(config, summary)
    assert "inf" not in report
    assert "| not reached (0 of 5 seeds) |" in report


def test_transfer_with_two_seeds_prints_intervals_over_shoppers():
    from shopgym.experiments.stats import format_interval
    from shopgym.experiments.transfer_report import render_report

    config, summary = _transfer_summary(seeds=2)
    report = render_report(config, summary)
    assert "95 % CI over the 50 evaluation shoppers" in report and "need at least 3 seeds" in report
    row = next(line for line in report.splitlines() if line.startswith("| default → new_market"))
    cells = row.split(" | ")
    assert cells[1] == "50.5 [46.5, 54.5]"  # zero-shot: mean of 50 and 51 ± the half-width 4
    assert cells[4] == "40.0 [34.0, 46.0]"  # jumpstart: 50.5 − 10.5 ± (4 + 2)
    assert cells[6] == format_interval(summary.pairs[0].auc_ratio, 3) and cells[6].endswith("[n/a]")


def test_project_targets_are_judged_in_the_results_script():
    from shopgym.experiments.results.suites import continual_target, transfer_target

    _, summary = _transfer_summary(seeds=5)
    verdict = transfer_target(summary.model_dump())  # judged on summary.json as written
    assert "met on 0 of 1 pairs, **not met**" in verdict
    forgetting = {
        "rehearsal": {"mean_forgetting": {"iqm": 4.0, "low": 1.0, "high": 6.0, "n": 5}},
        "naive": {"mean_forgetting": {"iqm": 12.0, "low": 8.0, "high": 20.0, "n": 5}},
    }
    assert continual_target({"strategies": forgetting}).endswith("**met**.")
    forgetting["naive"]["mean_forgetting"]["low"] = 5.0  # overlapping intervals
    assert continual_target({"strategies": forgetting}).endswith("**not met**.")


def test_marketing_target_is_judged_on_the_comparison_summary():
    from shopgym.experiments.results.common import TARGETS
    from shopgym.experiments.results.suites import marketing_target

    config = CompareConfig(
        agents=[{"algo": "ppo", "n_timesteps": 100}, {"algo": "dqn", "n_timesteps": 100}],
        baselines=["never_discount", "myopic_oracle"],
        oracle="myopic oracle",
    )

    def policy(kind: str, iqm: float, low: float, high: float) -> dict:
        return {"kind": kind, "profit_per_shopper": {"iqm": iqm, "low": low, "high": high, "n": 5}}

    policies = {
        "PPO (100 steps)": policy("agent", 120.0, 115.0, 125.0),
        "DQN (100 steps)": policy("agent", 200.0, 190.0, 210.0),  # not the target's algorithm: not judged
        "never discount": policy("baseline", 100.0, 98.0, 102.0),
        "myopic oracle": policy("oracle", 150.0, 149.0, 151.0),
    }
    summary = {"policies": policies, "best_baseline": "never discount", "oracle": "myopic oracle"}
    assert TARGETS.marketing_algo == "ppo" and TARGETS.marketing_gain == 0.10
    verdict = marketing_target(config, summary)
    assert verdict.startswith("Best non-oracle baseline: **never discount** (100.0 [98.0, 102.0]).")
    assert "Project target (PPO (100 steps) at least +10 % above `never discount`" in verdict
    assert "**met**" in verdict and "DQN (100 steps) at least" not in verdict
    assert "PPO (100 steps) earns 80 % of `myopic oracle`" in verdict
    policies["PPO (100 steps)"] = policy("agent", 120.0, 101.0, 125.0)  # +20 %, but the intervals overlap
    assert "**not met**" in marketing_target(config, summary)
    policies["PPO (100 steps)"] = policy("agent", 105.0, 103.0, 107.0)  # apart, but only +5 %
    assert "**not met**" in marketing_target(config, summary)
    no_ppo = config.model_copy(update={"agents": config.agents[1:]})
    assert "not assessed" in marketing_target(no_ppo, summary)


def test_project_targets_come_from_their_config(tmp_path):
    from shopgym.experiments.configs import CONFIG_DIR, TargetsConfig, load_config
    from shopgym.experiments.results.common import TARGETS
    from shopgym.experiments.results.suites import transfer_target
    from shopgym.params import ParameterError

    assert load_config(CONFIG_DIR / "targets.yml", TargetsConfig) == TARGETS
    pair = {"jumpstart": {"iqm": 5.0, "low": 1.0, "high": 9.0, "n": 5}, "threshold_fraction_median": 0.3}
    assert transfer_target({"pairs": [pair]}).endswith("**not met**.")  # the shipped target asks for 2 pairs
    one_pair = TARGETS.model_copy(update={"transfer_pairs": 1})
    assert transfer_target({"pairs": [pair]}, one_pair).endswith("**met**.")
    bad = tmp_path / "targets.yml"
    good = (CONFIG_DIR / "targets.yml").read_text()
    bad.write_text(good.replace("pricing_ratio: 0.95", "pricing_ratio: 1.5"))
    with pytest.raises(ParameterError, match="pricing_ratio"):
        load_config(bad, TargetsConfig)

"""Transfer: the Taylor & Stone metrics on hand-made curves, policies across catalog sizes, and the
`shopgym transfer` command with tiny budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from suite_fixtures import check_against_fixture

from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.transfer import auc_ratio, time_to_threshold, transfer_metrics
from shopgym.scenarios import get_scenario

ROOT = Path(__file__).resolve().parents[1]
STEPS = np.array([0.0, 100.0, 200.0, 300.0, 400.0])


def test_time_to_threshold():
    returns = np.array([1.0, 3.0, 5.0, 4.0, 6.0])
    assert time_to_threshold(STEPS, returns, 5.0) == 200.0
    assert time_to_threshold(STEPS, returns, 0.5) == 0.0
    assert time_to_threshold(STEPS, returns, 7.0) == float("inf")


def test_auc_ratio():
    scratch = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # area 800
    assert auc_ratio(STEPS, scratch, scratch) == 0.0
    assert auc_ratio(STEPS, scratch + 2.0, scratch) == pytest.approx(800.0 / 800.0)  # +2 × 400 steps


def test_transfer_metrics_on_hand_made_curves():
    scratch = np.array([0.0, 2.0, 4.0, 6.0, 8.0])
    finetuned = np.array([5.0, 8.0, 8.0, 9.0, 9.0])
    metrics = transfer_metrics(STEPS, finetuned, scratch, threshold=8.0, source_steps=1000)
    assert metrics["jumpstart"] == 5.0 and metrics["asymptotic_gain"] == 1.0
    assert metrics["steps_to_threshold_finetuned"] == 100.0
    assert metrics["steps_to_threshold_finetuned_with_source"] == 1100.0
    assert metrics["steps_to_threshold_scratch"] == 400.0
    assert metrics["threshold_fraction"] == pytest.approx(0.25)
    # areas (trapezoids of width 100): fine-tuned 650 + 800 + 850 + 900 = 3200, scratch 100 + 300 + 500 + 700 = 1600
    assert metrics["auc_ratio"] == pytest.approx((3200.0 - 1600.0) / 1600.0)


def test_a_policy_trained_on_one_catalog_runs_on_catalogs_of_other_sizes(tmp_path):
    agent = SB3Agent("ppo", "shopgym/Marketing-v1", seed=0, device="cpu", n_envs=64)
    agent.learn(2048)
    agent.save(tmp_path / "model")
    loaded = SB3Agent.load(tmp_path / "model", device="cpu")
    sizes = {get_scenario(name).catalog.n_items for name in ("default", "new_market", "grocery")}
    assert len(sizes) == 3
    for name in ("new_market", "grocery"):
        result = evaluate(loaded, "shopgym/Marketing-v1", 32, seed=1, scenario=name)
        assert np.isfinite(result.returns).all() and result.visits.sum() > 0
    # and it can be fine-tuned in a market with another catalog size
    tuned = SB3Agent("ppo", "shopgym/Marketing-v1", seed=1, device="cpu", n_envs=64, env_kwargs={"scenario": "grocery"})
    tuned.load_weights(tmp_path / "model")
    before = evaluate(tuned, "shopgym/Marketing-v1", 32, seed=1, scenario="grocery").returns
    assert np.array_equal(before, evaluate(loaded, "shopgym/Marketing-v1", 32, seed=1, scenario="grocery").returns)
    tuned.learn(2048)


def test_transfer_command_tiny(tmp_path):
    config = tmp_path / "transfer.yml"
    config.write_text(
        "seeds: 2\nsource_steps: 512\ntarget_steps: 1024\neval_freq: 256\nn_eval: 16\nthreshold: 0.9\n"
        "pairs:\n  - {name: new country, source: [default], target: new_market}\n"
        "  - {name: mixed source, source: [default, holiday],\n"
        "     target: {base: default, choice: {outside_utility: 2.0}}}\n"
    )
    hyperparams = tmp_path / "ppo.yml"
    hyperparams.write_text("default:\n  n_envs: 16\n  n_steps: 16\n  batch_size: 64\n  n_epochs: 1\n")
    out = tmp_path / "suite"
    command = [sys.executable, "-m", "shopgym.experiments.cli", "transfer", str(config), "--out", str(out)]
    command += ["--hyperparams", str(hyperparams), "--device", "cpu"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    check_against_fixture("transfer_tiny", summary, (out / "report.md").read_text())
    assert [p["name"] for p in summary["pairs"]] == ["new country", "mixed source"]
    for pair in summary["pairs"]:
        assert len(pair["per_seed"]) == 2
        assert pair["jumpstart"]["low"] <= pair["jumpstart"]["iqm"] <= pair["jumpstart"]["high"]
        steps = pair["curves"]["steps"]
        assert steps[0] == 0 and steps[-1] == 1024
    assert (out / "transfer_new-country.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "Time to threshold" in report and "95 % CI over the 16 evaluation shoppers" in report  # 2 seeds
    assert "Target" not in report and "median inf" not in report
    assert len(list((out / "pretrain").iterdir())) == 4  # two sources × two seeds, shared by nothing else
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already holds a finished transfer suite" in again.stderr


def test_evaluation_changes_no_learning_state():
    agent = SB3Agent("ppo", "shopgym/Marketing-v1", seed=0, device="cpu", n_envs=64)
    agent.learn(2048)
    rms = agent.venv.obs_rms
    before = (rms.mean.copy(), rms.var.copy(), rms.count, agent.model.num_timesteps)
    weights = {k: v.clone() for k, v in agent.model.policy.state_dict().items()}
    evaluate(agent, "shopgym/Marketing-v1", 64, seed=3, scenario="recession")
    assert np.array_equal(rms.mean, before[0]) and np.array_equal(rms.var, before[1])
    assert (rms.count, agent.model.num_timesteps) == before[2:]
    assert all(np.array_equal(v.numpy(), weights[k].numpy()) for k, v in agent.model.policy.state_dict().items())

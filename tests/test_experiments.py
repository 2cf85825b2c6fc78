"""The pieces behind the `shopgym` command: statistics on hand-made numbers, configs, logs, checkpoints and the
comparison summary."""

from __future__ import annotations

import numpy as np
import pytest

from shopgym.envs.sb3 import make_sb3_vec_env
from shopgym.experiments.checkpoints import has_checkpoint, load_checkpoint, save_checkpoint
from shopgym.experiments.compare import _score_baselines, summarise
from shopgym.experiments.configs import (
    CONFIG_DIR,
    CompareConfig,
    ContinualConfig,
    SweepConfig,
    TargetsConfig,
    TrainConfig,
    TransferConfig,
    load_config,
)
from shopgym.experiments.logs import CsvLog
from shopgym.experiments.runs import RunError
from shopgym.experiments.stats import iqm_ci, mean_ci, probability_of_improvement
from shopgym.experiments.tune import TuneConfig
from shopgym.params import ParameterError
from shopgym.scenarios import resolve_scenario


# ---------------------------------------------------------------------- statistics
def test_iqm_drops_the_outer_quartiles():
    iqm, low, high = iqm_ci([1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0, 7.0])
    assert iqm == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert low < iqm < high
    assert iqm_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_probability_of_improvement_on_hand_made_runs():
    assert probability_of_improvement([5, 6, 7], [1, 2, 3]) == (1.0, 1.0, 1.0)
    assert probability_of_improvement([1, 2, 3], [5, 6, 7])[0] == 0.0
    # pairs: 2>1, 2<3, 4>1, 4>3 → 3 of 4; ties count one half
    assert probability_of_improvement([2, 4], [1, 3])[0] == pytest.approx(0.75)
    assert probability_of_improvement([1, 2], [2, 1])[0] == pytest.approx(0.5)
    point, low, high = probability_of_improvement([1, 2, 3, 4, 5], [3, 4, 5, 6, 7])
    assert point == pytest.approx(0.18) and 0.0 <= low <= point <= high <= 1.0


def test_mean_band_brackets_the_mean_and_collapses_for_one_run():
    curves = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 4.0], [1.0, 1.0, 3.0]])
    mean, low, high = mean_ci(curves)
    assert np.allclose(mean, [1.0, 1.0, 3.0])
    assert np.all(low <= mean) and np.all(mean <= high) and low[1] == high[1] == 1.0
    mean, low, high = mean_ci(curves[:1])
    assert np.array_equal(low, mean) and np.array_equal(high, mean)


# ---------------------------------------------------------------------- configs
MODELS = {
    "train": TrainConfig,
    "transfer": TransferConfig,
    "continual": ContinualConfig,
    "sweep": SweepConfig,
    "tune": TuneConfig,
    "targets": TargetsConfig,
}


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("**/*.yml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path, monkeypatch):
    monkeypatch.chdir(CONFIG_DIR.parents[1])  # configs name scenario files relative to the repository root
    if path.parent.name == "scenarios":
        assert resolve_scenario(path).name == path.stem
        return
    config = load_config(path, MODELS.get(path.stem.split("_")[0], CompareConfig))
    assert config.model_dump()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("baselines: [random]\nsedes: 3\n", "sedes: unknown key; allowed: env, scenario, seeds"),
        (
            "baselines: [{policy: random, lable: x}]\n",
            "baselines.0.lable: unknown key; allowed: policy, sb3, algo, label, params",
        ),
        ("baselines: [random]\nseeds: 0\n", "seeds = 0"),
        ("baselines: [nope]\n", "unknown policy 'nope'"),
        ("agents: [{algo: sac, n_timesteps: 10}]\n", "unknown algorithm 'sac'"),
        ("baselines: [random]\nreference: never discount\n", "reference 'never discount' is not one of the policies"),
        ("baselines: [random]\nenv: CartPole-v1\n", "unknown env id 'CartPole-v1'"),
        ("- just a list\n", "must be a mapping"),
        ("baselines: [random\n", "is not valid YAML"),
    ],
)
def test_bad_configs_name_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ParameterError) as error:
        load_config(path, CompareConfig)
    assert message in str(error.value)


# ---------------------------------------------------------------------- logs and checkpoints
def test_csv_log_truncates_back_to_a_checkpoint(tmp_path):
    log = CsvLog(tmp_path / "log.csv", ["step", "value"])
    log.append({"step": 1, "value": 0.5})
    size = log.size
    log.extend([{"step": 2, "value": 1.5}, {"step": 3, "value": 2.5}])
    log.truncate(size)
    log.append({"step": 2, "value": 9.0})
    log.close()
    assert (tmp_path / "log.csv").read_text() == "step,value\n1,0.5\n2,9.0\n"
    again = CsvLog(tmp_path / "log.csv", ["step", "value"])  # reopening does not repeat the header
    again.append({"step": 3, "value": 1})
    again.close()
    assert (tmp_path / "log.csv").read_text().count("step,value") == 1


def test_a_kill_between_the_checkpoint_renames_leaves_the_previous_one_whole(tmp_path):
    from shopgym.agents.sb3_agents import SB3Agent

    agent = SB3Agent("ppo", "shopgym/Pricing-v1", seed=0, device="cpu", n_envs=64, deterministic=False)
    obs = np.tile(np.array([[0.97, 0.2]], dtype=np.float32), (64, 1))
    save_checkpoint(agent, tmp_path / "checkpoint", {"marker": 1})
    sampled = agent.act(obs)  # moves the action sampler on; the checkpoint holds its earlier state
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.old")  # as if killed before the second rename
    assert has_checkpoint(tmp_path / "checkpoint")
    assert load_checkpoint(agent, tmp_path / "checkpoint") == {"marker": 1}
    np.testing.assert_array_equal(agent.act(obs), sampled)
    assert not has_checkpoint(tmp_path / "elsewhere")


def test_vec_env_reports_monitor_style_episodes():
    venv = make_sb3_vec_env("shopgym/Promote-v1", num_envs=8, seed=0, max_episode_steps=5)
    venv.reset()
    totals, episodes = np.zeros(8), []
    for _ in range(12):
        _, reward, done, infos = venv.step(np.zeros(8, dtype=np.int64))
        totals += reward
        for row in np.flatnonzero(done):
            episodes.append(infos[row]["episode"])
            assert infos[row]["episode"]["r"] == pytest.approx(totals[row], rel=1e-5)
            totals[row] = 0.0
        assert all("episode" not in infos[row] for row in np.flatnonzero(~done))
    assert episodes and all(1 <= e["l"] <= 5 for e in episodes)


# ---------------------------------------------------------------------- comparisons
def test_the_oracle_is_ranked_above_random_with_separate_intervals():
    config = CompareConfig(
        env="shopgym/Marketing-v1",
        seeds=4,
        n_eval=200,
        baselines=["random", {"policy": "myopic_oracle", "label": "oracle"}],
    )
    summary = summarise(config, _score_baselines(config))
    assert summary.ranking == ["oracle", "random"]
    oracle, random = (summary.policies[n].profit_per_shopper for n in ("oracle", "random"))
    assert oracle["low"] > random["high"]
    assert summary.probability_of_improvement["oracle"]["random"][1] == 1.0  # lower bound


def test_promotion_cost_per_incremental_sale_on_hand_made_kpis():
    def kpis(purchases: float, discount: float, profit: float) -> dict:
        keys = ("revenue_per_shopper", "ctr", "conversion", "avg_discount", "retention")
        return {
            "profit_per_shopper": profit,
            "purchases_per_shopper": purchases,
            "discount_cost_per_shopper": discount,
            **dict.fromkeys(keys, 0.0),
        }

    config = CompareConfig(baselines=["never_discount", "random", "calendar"], reference="never discount")
    scores = {
        "never discount": [kpis(10, 0, 100), kpis(10, 0, 100)],
        "random": [kpis(12, 30, 90), kpis(14, 30, 80)],  # 3 extra purchases for 30 of discount
        "calendar": [kpis(9, 5, 95), kpis(9, 5, 95)],  # fewer purchases: no incremental sale
    }
    policies = summarise(config, scores).policies
    assert policies["random"].promo_cost_per_incremental_sale == pytest.approx(10.0)
    assert policies["calendar"].promo_cost_per_incremental_sale is None
    assert policies["never discount"].promo_cost_per_incremental_sale is None


def test_a_checkpoint_that_names_anything_else_is_refused(tmp_path):
    import os
    import pickle

    from shopgym.agents.sb3_agents import SB3Agent

    agent = SB3Agent("recurrentppo", "shopgym/Promote-v1", seed=0, device="cpu", n_envs=8)
    agent.learn(256)  # a recurrent policy: its LSTM states travel in weights.pt, not in the pickle
    save_checkpoint(agent, tmp_path / "checkpoint", {"marker": 2})
    assert load_checkpoint(agent, tmp_path / "checkpoint") == {"marker": 2}

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (tmp_path / "checkpoint" / "state.pkl").write_bytes(pickle.dumps({"extra": Exploit()}))
    with pytest.raises(RunError, match="never holds posix.system"):  # a one-line error for the CLI
        load_checkpoint(agent, tmp_path / "checkpoint")
    assert not (tmp_path / "pwned").exists()

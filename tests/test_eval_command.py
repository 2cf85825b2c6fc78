"""`shopgym eval RUN_OR_MODEL`: a saved agent carries its market, so evaluating it needs no scenario file; it can
be evaluated in any market of its task, and reports the mean with its interval, the IQM, n and the KPIs."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.cli import app
from shopgym.experiments.configs import TrainConfig
from shopgym.experiments.runs import RunDirectory
from shopgym.experiments.training import train_agent
from shopgym.params import ParameterError
from shopgym.scenarios import resolve_scenario

TINY_PPO = "default:\n  n_envs: 16\n  n_steps: 16\n  batch_size: 64\n  n_epochs: 1\n"
MARKET = "base: fashion\nname: my_market\nchoice: {outside_utility: 1.2}\n"
N_EVAL, EVAL_SEED = 16, 10_000


def run_eval(*args: str) -> dict:
    result = CliRunner().invoke(app, ["eval", *args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def numbers(evaluation: dict) -> dict:
    """What an evaluation measured (everything but the folder it was asked for)."""
    return {k: v for k, v in evaluation.items() if k != "model"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny PPO run on Promote-v1 in a market read from a YAML file, and its evaluation right after training."""
    root = tmp_path_factory.mktemp("eval")
    (root / "tiny_ppo.yml").write_text(TINY_PPO)
    market = root / "my_market.yml"
    market.write_text(MARKET)
    config = TrainConfig(
        algo="ppo",
        env="shopgym/Promote-v1",
        scenario=str(market),
        n_timesteps=256,
        eval_freq=256,
        n_eval=N_EVAL,
        eval_seed=EVAL_SEED,
        checkpoint_freq=0,
    )
    summary = train_agent(RunDirectory(root / "run"), config, "cpu", hyperparams_file=root / "tiny_ppo.yml")
    run = root / "run"
    return {"run": run, "market": market, "summary": summary, "before": run_eval(str(run), "--n-shoppers", "64")}


def test_eval_reproduces_the_final_evaluation_of_training(trained):
    evaluation = run_eval(str(trained["run"]), "--n-shoppers", str(N_EVAL), "--seed", str(EVAL_SEED))
    assert evaluation["mean_return"] == trained["summary"]["final_mean_return"]


def test_moving_the_scenario_file_after_training_changes_nothing(trained):
    moved = trained["market"].with_name("moved.yml")
    trained["market"].rename(moved)
    try:
        assert run_eval(str(trained["run"]), "--n-shoppers", "64") == trained["before"]
    finally:
        moved.rename(trained["market"])


def test_editing_the_scenario_file_after_training_changes_nothing(trained):
    trained["market"].write_text(MARKET.replace("1.2", "3.0"))
    try:
        assert run_eval(str(trained["run"]), "--n-shoppers", "64") == trained["before"]
    finally:
        trained["market"].write_text(MARKET)


def test_saved_agent_holds_the_market_itself_not_its_path(trained):
    text = (trained["run"] / "model" / "agent.json").read_text()
    assert str(trained["market"]) not in text and "my_market.yml" not in text
    record = json.loads(text)["scenario"]
    original = resolve_scenario(str(trained["market"]))
    assert record["name"] == "my_market" and resolve_scenario(record["content"]) == original
    canonical = json.dumps(record["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert SB3Agent.load(trained["run"] / "model", device="cpu").env_kwargs["scenario"] == original


def test_eval_reports_mean_interval_iqm_n_and_kpis(trained):
    evaluation = trained["before"]
    assert evaluation["n_shoppers"] == 64 and evaluation["env_id"] == "shopgym/Promote-v1"
    assert evaluation["scenario"] == "my_market" and len(evaluation["scenario_sha256"]) == 64
    low, high = evaluation["ci95"]
    assert low <= evaluation["mean_return"] <= high and "normal" in evaluation["ci_method"]
    assert "iqm_return" in evaluation and evaluation["return"] == evaluation["mean_return"]
    assert {"profit_per_shopper", "conversion", "retention"} <= set(evaluation)


def test_eval_in_another_market(trained):
    evaluation = run_eval(str(trained["run"]), "--n-shoppers", "64", "--scenario", "grocery")
    assert evaluation["scenario"] == "grocery"
    assert evaluation["scenario_sha256"] != trained["before"]["scenario_sha256"]
    assert evaluation["mean_return"] != trained["before"]["mean_return"]


def test_eval_on_an_env_id_without_its_namespace(trained):
    assert numbers(run_eval(str(trained["run"]), "--n-shoppers", "64", "--env", "Promote-v1")) == numbers(
        trained["before"]
    )


def test_eval_on_a_task_with_other_observations_is_one_line(trained):
    result = CliRunner().invoke(app, ["eval", str(trained["run"]), "--env", "Marketing-v1", "--device", "cpu"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "acts in the promote task" in result.stderr and "shopgym/Marketing-v1 has observations" in result.stderr


def test_run_folder_model_folder_and_model_option_evaluate_alike(trained):
    model = str(trained["run"] / "model")
    for args in ([model], ["--model", model]):
        assert numbers(run_eval(*args, "--n-shoppers", "64")) == numbers(trained["before"])


def test_agent_saved_before_markets_were_kept_whole_still_loads(trained, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for file in (trained["run"] / "model").iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    saved = json.loads((folder / "agent.json").read_text())
    del saved["scenario"]
    saved["env_kwargs"] = {"scenario": str(trained["market"])}
    (folder / "agent.json").write_text(json.dumps(saved))
    assert numbers(run_eval(str(folder), "--n-shoppers", "64")) == numbers(trained["before"])


def test_agent_saved_before_a_model_field_existed_still_loads(trained, tmp_path):
    """A market recorded without a field added to the model since (here ν, ``unexamined_price_weight``) loads with
    the field's default, which keeps the old behaviour; its digest is checked on the content as saved."""
    folder = tmp_path / "model"
    folder.mkdir()
    for file in (trained["run"] / "model").iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    saved = json.loads((folder / "agent.json").read_text())
    del saved["scenario"]["content"]["dynamics"]["unexamined_price_weight"]
    canonical = json.dumps(saved["scenario"]["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    saved["scenario"]["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()  # as the older version wrote it
    (folder / "agent.json").write_text(json.dumps(saved))
    assert numbers(run_eval(str(folder), "--n-shoppers", "64")) == numbers(trained["before"])
    saved["scenario"]["content"]["dynamics"]["reference_memory"] = 0.5  # edited after saving: refused
    (folder / "agent.json").write_text(json.dumps(saved))
    with pytest.raises(ParameterError, match="scenario.sha256 does not match"):
        SB3Agent.load(folder, device="cpu")


@pytest.mark.parametrize("args", [[], ["RUN", "--model", "RUN/model"]])
def test_eval_needs_exactly_one_folder(trained, args):
    args = [a.replace("RUN", str(trained["run"])) for a in args]
    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exit_code == 2 and "name the saved agent once" in result.stderr


def test_eval_of_an_unfinished_run_says_so(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    result = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert result.exit_code == 2 and "holds a run without a saved model" in result.stderr

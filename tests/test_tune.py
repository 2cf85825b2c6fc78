"""``shopgym tune``: an Optuna search that writes a hyperparameter file ``train`` takes, and resumes after a kill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopgym.agents.sb3_agents import load_hyperparams
from shopgym.experiments.runs import RunError
from shopgym.experiments.tune import TuneConfig, run_tune

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "algo": "dqn",
    "env": "shopgym/Promote-v1",
    "n_timesteps": 600,
    "eval_freq": 200,
    "n_eval": 10,
    "n_startup_trials": 1,
    "space": {
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "gamma": {"choices": [0.9, 0.99]},
        "policy_kwargs.net_arch": {"choices": [[16], [32, 32]]},
    },
}


def test_search_writes_a_hyperparameter_file_that_train_takes(tmp_path: Path) -> None:
    summary = run_tune(TuneConfig.model_validate(TINY), tmp_path, trials=3)
    assert sum(summary["trials"].values()) == 3
    best = summary["best_params"]
    loaded = load_hyperparams("dqn", "shopgym/Promote-v1", tmp_path / "best_hyperparams.yml")
    assert loaded.learning_rate == pytest.approx(best["learning_rate"])
    assert loaded.gamma == best["gamma"]
    assert loaded.policy_kwargs.net_arch == best["policy_kwargs.net_arch"]
    rows = (tmp_path / "trials.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("trial,state,value")
    assert (tmp_path / "search.png").stat().st_size > 0 and "best_hyperparams.yml" in (
        tmp_path / "report.md"
    ).read_text()
    # Asking for the same number again runs nothing new; asking for more adds only the difference.
    assert sum(run_tune(TuneConfig.model_validate(TINY), tmp_path, trials=3)["trials"].values()) == 3
    assert sum(run_tune(TuneConfig.model_validate(TINY), tmp_path, trials=4)["trials"].values()) == 4


def test_search_refuses_a_folder_of_another_search_or_foreign_files(tmp_path: Path) -> None:
    run_tune(TuneConfig.model_validate(TINY), tmp_path / "a", trials=1)
    with pytest.raises(RunError, match="another config"):
        run_tune(TuneConfig.model_validate({**TINY, "n_eval": 11}), tmp_path / "a", trials=1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="did not write"):
        run_tune(TuneConfig.model_validate(TINY), tmp_path / "b", trials=1)
    assert (tmp_path / "b" / "notes.txt").read_text() == "mine"


def test_unknown_hyperparameter_in_the_space_is_named(tmp_path: Path) -> None:
    config = TuneConfig.model_validate({**TINY, "space": {"learning_rat": {"low": 0.1, "high": 0.2}}})
    with pytest.raises(RunError, match="'learning_rat' is not a hyperparameter"):
        run_tune(config, tmp_path, trials=1)


def test_range_needs_choices_or_bounds() -> None:
    with pytest.raises(ValueError, match="either choices or both low and high"):
        TuneConfig.model_validate({**TINY, "space": {"gamma": {"low": 0.9}}})
    with pytest.raises(ValueError, match="log range needs low > 0"):
        TuneConfig.model_validate({**TINY, "space": {"gamma": {"low": 0.0, "high": 1.0, "log": True}}})


def test_killed_search_reruns_the_interrupted_trial_and_continues(tmp_path: Path) -> None:
    config = {**TINY, "n_timesteps": 6000, "eval_freq": 2000}
    (tmp_path / "config.json").write_text(json.dumps(config))
    script = (
        "import json, sys\n"
        "from shopgym.experiments.tune import TuneConfig, run_tune\n"
        "config = TuneConfig.model_validate(json.load(open(sys.argv[1])))\n"
        "run_tune(config, sys.argv[2], trials=int(sys.argv[3]))\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path / "config.json"), str(tmp_path / "out")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    search = subprocess.Popen([*command, "3"], cwd=ROOT, env=env)
    database = tmp_path / "out" / "study.db"
    drawn = (  # trials still running whose hyperparameters are all drawn
        "SELECT count(*) FROM trials t WHERE t.state = 'RUNNING' AND "
        "(SELECT count(*) FROM trial_params p WHERE p.trial_id = t.trial_id) = ?"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and search.poll() is None:
        time.sleep(0.02)
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.1) as db:
                if db.execute(drawn, (len(config["space"]),)).fetchone()[0]:
                    break
        except sqlite3.Error:  # not created yet, or being written
            continue
    search.send_signal(signal.SIGKILL)
    search.wait()
    assert search.returncode == -signal.SIGKILL, "the search ended before a trial could be interrupted"
    subprocess.run([*command, "3"], cwd=ROOT, env=env, check=True, timeout=120)

    import optuna

    trials = optuna.load_study(study_name="shopgym-tune", storage=f"sqlite:///{database}").trials
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 3 and "RUNNING" not in states
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(failed) == 1, "the kill came while a trial was running"
    rerun = [t for t in trials if t.number > failed[0].number and t.params == failed[0].params]
    assert rerun, "the interrupted trial runs again with the same hyperparameters"


def test_tune_command_then_train_with_the_best_hyperparameters(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from shopgym.experiments.cli import app

    (tmp_path / "search.yml").write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    result = runner.invoke(app, ["tune", str(tmp_path / "search.yml"), "--trials", "2", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "Hyperparameter search" in result.output
    best = tmp_path / "s" / "best_hyperparams.yml"
    args = ["train", "--algo", "dqn", "--env", "shopgym/Promote-v1", "--n-timesteps", "256", "--n-eval", "8"]
    result = runner.invoke(app, [*args, "--hyperparams", str(best), "--out", str(tmp_path / "run"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["hyperparams"]
    assert recorded["gamma"] == yaml.safe_load(best.read_text())["shopgym/Promote-v1"]["gamma"]
    bad = runner.invoke(app, ["tune", str(tmp_path / "search.yml"), "--trials", "0"])
    assert bad.exit_code == 2 and "--trials must be ≥ 1" in bad.output

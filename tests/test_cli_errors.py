"""Bad input to the `shopgym` command: one line `shopgym: error: …`, status 2, no traceback.

Malformed model folders are corrupted copies of one tiny PPO agent trained here; each case names its defect.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams
from shopgym.experiments.cli import app

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "shopgym/Promote-v1"
DEVICE_COMMANDS = {
    "train": [],
    "eval": ["somewhere"],
    "compare": ["config.yml"],
    "quickstart": [],
    "transfer": ["config.yml"],
    "continual": ["config.yml"],
    "sweep": ["config.yml"],
}


def one_line_error(args: list[str]) -> str:
    """Run the command in-process; check it failed with status 2 and one stderr line; return that line."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shopgym: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PPO agent on Promote-v1 (256 env steps), saved once."""
    params = load_hyperparams("ppo", ENV_ID).model_copy(update={"n_envs": 16, "n_steps": 16, "batch_size": 64})
    agent = SB3Agent("ppo", ENV_ID, params, seed=0, device="cpu", env_kwargs={"scenario": "fashion"})
    folder = tmp_path_factory.mktemp("model") / "model"
    agent.learn(256).save(folder)
    return folder


# ---------------------------------------------------------------------------------------------- flags
def test_eval_negative_seed_is_refused(trained):
    assert "--seed must be ≥ 0, got -5" in one_line_error(["eval", str(trained), "--seed", "-5", "--device", "cpu"])


@pytest.mark.parametrize("command", sorted(DEVICE_COMMANDS))
def test_unknown_device_is_refused_by_every_command(command):
    line = one_line_error([command, *DEVICE_COMMANDS[command], "--device", "tpu"])
    assert "device = 'tpu'; allowed: auto, cpu, cuda or cuda:N" in line


@pytest.mark.parametrize("size", ["1e12", "2.5", "many"])
def test_bench_size_that_is_not_an_integer_is_one_line(size):
    assert "--num-envs" in one_line_error(["bench", "--num-envs", size, "--seconds", "0.1"])


def test_bench_size_too_large_is_one_line():
    line = one_line_error(["bench", "--num-envs", str(10**12), "--seconds", "0.1"])
    assert "num_envs" in line


def test_eval_shoppers_too_many_is_one_line(trained):
    line = one_line_error(["eval", str(trained), "--n-shoppers", str(10**12), "--device", "cpu"])
    assert "num_envs" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--scenario", "fashon"], "unknown scenario 'fashon'; did you mean 'fashion'?"),
        (["train", "--algo", "ppo2"], "unknown algorithm 'ppo2'; did you mean 'ppo'?"),
        (
            ["train", "--env", "shopgym/Promote-v2"],
            "unknown env id 'shopgym/Promote-v2'; did you mean 'shopgym/Promote-v1'?",
        ),
        (["train", "--env", "promote-v0"], "did you mean 'shopgym/Promote-v1'?"),
        (["bench", "--env", "Marketting-v0"], "did you mean 'shopgym/Marketing-v1'?"),
        (["eval", "x", "--scenario", "grocey"], "did you mean 'grocery'?"),
        (["train", "--seeed", "3"], "No such option: --seeed"),
        (["trian"], "No such command 'trian'. Did you mean 'train'"),
    ],
)
def test_misspelling_suggests_the_closest_name(args, message):
    assert message in one_line_error(args)


def test_algorithm_in_capitals_and_env_id_without_namespace_are_accepted(tmp_path):
    from shopgym.experiments.configs import TrainConfig

    config = TrainConfig(algo="PPO", env="Promote-v1")
    assert (config.algo, config.env) == ("ppo", ENV_ID)
    # Both reach the train flags' checks unchanged: the error is about --resume, not about them.
    line = one_line_error(["train", "--algo", "DQN", "--env", "Pricing-v1", "--resume", "--out", str(tmp_path)])
    assert "drop --algo, --env" in line


def test_help_answers_without_importing_torch():
    heavy = "('torch', 'matplotlib', 'scipy')"
    script = f"import sys, shopgym.experiments.cli; sys.exit(int(any(m in sys.modules for m in {heavy})))"
    assert subprocess.run([sys.executable, "-c", script], cwd=ROOT).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "shopgym.experiments.cli", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "quickstart" in result.stdout


def test_help_shows_the_config_defaults_that_rich_markup_used_to_swallow():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[default: ppo]" in result.stdout and "[default: shopgym/Marketing-v1]" in result.stdout
    assert "in brackets" not in result.stdout


# ---------------------------------------------------------------------------------------------- model folders
def edit_agent_json(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        data = json.loads((folder / "agent.json").read_text())
        change(data)
        (folder / "agent.json").write_text(json.dumps(data))

    return corrupt


def edit_weights(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        state = torch.load(folder / "policy.pt", weights_only=True)
        torch.save(change(state), folder / "policy.pt")

    return corrupt


def edit_statistics(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        with np.load(folder / "obs_normalization.npz") as data:
            arrays = dict(data)
        change(arrays)
        np.savez(folder / "obs_normalization.npz", **arrays)

    return corrupt


def write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(content)


def first_tensor(state: dict, value: torch.Tensor | None = None, shape: tuple[int, ...] | None = None) -> dict:
    key = next(iter(state))
    state[key] = value if value is not None else torch.zeros(shape)
    return state


class Unsafe:
    """A class torch's weights-only loader refuses to build."""


MALFORMED: dict[str, tuple[Callable[[Path], None], str]] = {
    "agent_json_missing": (lambda f: (f / "agent.json").unlink(), "holds no saved agent"),
    "agent_json_not_json": (write("agent.json", b"{algo: ppo"), "agent.json' is not valid JSON"),
    "agent_json_empty": (write("agent.json", b""), "agent.json' is not valid JSON"),
    "agent_json_not_utf8": (write("agent.json", b"\xff\xfe\x00"), "agent.json' is not valid JSON"),
    "agent_json_a_list": (write("agent.json", b"[1, 2]"), "must hold a JSON object of the saved agent, got list"),
    "missing_algo": (edit_agent_json(lambda d: d.pop("algo")), "algo: Field required"),
    "missing_hyperparams": (edit_agent_json(lambda d: d.pop("hyperparams")), "hyperparams: Field required"),
    "unknown_algo": (edit_agent_json(lambda d: d.update(algo="sac")), "algo = 'sac'; known: ppo"),
    "algo_not_a_string": (edit_agent_json(lambda d: d.update(algo=3)), "algo = 3"),
    "unknown_env_id": (edit_agent_json(lambda d: d.update(env_id="shopgym/Nope-v0")), "env_id = 'shopgym/Nope-v0'"),
    "env_kwargs_not_a_mapping": (edit_agent_json(lambda d: d.update(env_kwargs=[1])), "env_kwargs"),
    "unknown_env_kwarg": (edit_agent_json(lambda d: d.update(env_kwargs={"colour": "red"})), "colour"),
    "bad_env_kwarg_value": (edit_agent_json(lambda d: d.update(env_kwargs={"observability": "half"})), "half"),
    "unknown_top_level_key": (edit_agent_json(lambda d: d.update(extra=1)), "extra: unknown key; allowed: algo"),
    "negative_seed": (edit_agent_json(lambda d: d.update(seed=-1)), "seed = -1"),
    "steps_not_a_number": (edit_agent_json(lambda d: d.update(num_timesteps="many")), "num_timesteps = 'many'"),
    "hyperparameter_out_of_range": (
        edit_agent_json(lambda d: d["hyperparams"].update(learning_rate=-1)),
        "hyperparams.learning_rate = -1",
    ),
    "unknown_hyperparameter": (edit_agent_json(lambda d: d["hyperparams"].update(lr=1)), "hyperparams.lr: unknown key"),
    "hyperparameter_of_another_algorithm": (
        edit_agent_json(lambda d: d["hyperparams"].update(buffer_size=1000)),
        "do not apply to ppo",
    ),
    "scenario_content_invalid": (
        edit_agent_json(lambda d: d["scenario"]["content"]["catalog"].update(n_items=-5)),
        "scenario.content",
    ),
    "scenario_content_edited": (
        edit_agent_json(lambda d: d["scenario"]["content"]["choice"].update(outside_utility=0.123)),
        "scenario.sha256 does not match scenario.content",
    ),
    "scenario_name_differs_from_content": (
        edit_agent_json(lambda d: d["scenario"].update(name="grocery")),
        "scenario.name = 'grocery', but its content is named 'fashion'",
    ),
    "scenario_hash_malformed": (edit_agent_json(lambda d: d["scenario"].update(sha256="abc")), "scenario.sha256"),
    "two_scenarios": (
        edit_agent_json(lambda d: d["env_kwargs"].update(scenario="grocery")),
        "env_kwargs.scenario and scenario both name a market",
    ),
    "sampling_rng_malformed": (edit_agent_json(lambda d: d.update(sampling_rng={"state": 1})), "sampling_rng"),
    "weights_missing": (lambda f: (f / "policy.pt").unlink(), "policy.pt' is missing"),
    "weights_not_a_torch_file": (write("policy.pt", b"not torch"), "policy.pt' is not a torch state dict"),
    "weights_empty": (write("policy.pt", b""), "policy.pt' is not a torch state dict"),
    "weights_with_pickled_objects": (edit_weights(lambda s: {**s, "x": Unsafe()}), "is not a torch state dict"),
    "weights_not_a_mapping": (edit_weights(lambda s: list(s.values())), "must hold a mapping of parameter names"),
    "weights_missing_a_tensor": (edit_weights(lambda s: dict(list(s.items())[1:])), "does not fit the network"),
    "weights_wrong_shape": (edit_weights(lambda s: first_tensor(s, shape=(3, 3))), "has shape (3, 3)"),
    "weights_nan": (edit_weights(lambda s: first_tensor(s, value=next(iter(s.values())) * np.nan)), "NaN"),
    "statistics_missing": (lambda f: (f / "obs_normalization.npz").unlink(), "obs_normalization.npz' is missing"),
    "statistics_not_npz": (write("obs_normalization.npz", b"junk"), "is not a NumPy .npz"),
    "statistics_nan": (edit_statistics(lambda a: a["mean"].fill(np.nan)), "mean holds NaN"),
    "statistics_wrong_shape": (edit_statistics(lambda a: a.update(var=np.ones(3))), "var is float64 of shape (3,)"),
    "statistics_without_count": (edit_statistics(lambda a: a.pop("count")), "lacks ['count']"),
    "statistics_negative_variance": (edit_statistics(lambda a: a["var"].fill(-1.0)), "var must be ≥ 0"),
    "statistics_as_objects": (
        edit_statistics(lambda a: a.update(mean=np.array([object()], dtype=object))),
        "is not a NumPy .npz",
    ),
}


@pytest.mark.parametrize("defect", sorted(MALFORMED))
def test_malformed_model_folder_is_one_line_naming_the_file(trained, tmp_path, defect):
    corrupt, message = MALFORMED[defect]
    folder = tmp_path / "model"
    shutil.copytree(trained, folder)
    corrupt(folder)
    line = one_line_error(["eval", str(folder), "--n-shoppers", "8", "--device", "cpu"])
    assert message in line
    assert str(folder) in line


def test_untouched_copy_evaluates(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "model")
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "model"), "--n-shoppers", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output

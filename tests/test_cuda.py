"""Devices: asking for CUDA where there is none is an error, not a silent run on the CPU; ``auto`` logs its
choice; on a CUDA machine PPO and DQN train there, save, load (also onto the CPU) and resume from a checkpoint."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from shopgym.agents.sb3_agents import SB3Agent, resolve_device
from shopgym.agents.sb3_options import parse_device
from shopgym.experiments.cli import app
from shopgym.experiments.configs import TrainConfig
from shopgym.experiments.runs import RunDirectory
from shopgym.experiments.training import train_agent
from shopgym.params import ParameterError

CUDA_DEVICES = torch.cuda.device_count() if torch.cuda.is_available() else 0
WHY_NO_CUDA = f"no CUDA device visible to torch {torch.__version__} (built with CUDA {torch.version.cuda})"
needs_cuda = pytest.mark.skipif(CUDA_DEVICES == 0, reason=WHY_NO_CUDA)
needs_no_cuda = pytest.mark.skipif(CUDA_DEVICES > 0, reason="this machine has CUDA: nothing to refuse")

ENV_ID = "shopgym/Promote-v1"
STEPS = 4096
HYPERPARAMS = {
    "ppo": "default:\n  n_envs: 64\n  n_steps: 16\n  batch_size: 256\n  n_epochs: 2\n",
    "dqn": "default:\n  n_envs: 64\n  buffer_size: 20000\n  learning_starts: 512\n  batch_size: 64\n"
    "  target_update_interval: 512\n  gradient_steps: 1\n",
}


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:", "cuda:x", "CPU", "cuda:-1", ""])
def test_device_that_is_not_a_device_name_is_refused(name):
    with pytest.raises(ParameterError, match="allowed: auto, cpu, cuda or cuda:N"):
        parse_device(name)


def test_cuda_device_beyond_those_present_is_refused():
    with pytest.raises(ParameterError, match=f"device = 'cuda:{CUDA_DEVICES}', but this machine has"):
        resolve_device(f"cuda:{CUDA_DEVICES}")


@needs_no_cuda
def test_train_on_cuda_without_cuda_is_refused_instead_of_running_on_the_cpu(tmp_path):
    result = CliRunner().invoke(app, ["train", "--device", "cuda", "--n-timesteps", "64", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "device = 'cuda', but this machine has no CUDA device" in result.stderr
    assert not (tmp_path / "r").exists()
    with pytest.raises(ParameterError, match="no CUDA device"):
        SB3Agent("ppo", ENV_ID, device="cuda", n_envs=4)


def test_auto_logs_the_device_it_chose(caplog):
    resolve_device.cache_clear()
    with caplog.at_level(logging.INFO, logger="shopgym"):
        chosen = resolve_device("auto")
    assert chosen == ("cuda" if CUDA_DEVICES else "cpu")
    assert f"device auto: {chosen}" in caplog.text


def test_agent_records_the_device_it_runs_on():
    agent = SB3Agent("ppo", ENV_ID, device="auto", n_envs=64)
    assert agent.device == resolve_device("auto") and agent.model.device.type == agent.device


def train(folder: Path, algo: str, resume: bool = False) -> dict:
    hyperparams = folder.parent / f"{algo}.yml"
    hyperparams.write_text(HYPERPARAMS[algo])
    config = TrainConfig(
        algo=algo, env=ENV_ID, n_timesteps=STEPS, eval_freq=1024, n_eval=32, checkpoint_freq=1024, seed=1
    )
    return train_agent(RunDirectory(folder), config, "cuda", resume, None if resume else hyperparams)


@needs_cuda
@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_train_save_load_and_resume_on_cuda(tmp_path, algo):
    run = tmp_path / "run"
    summary = train(run, algo)
    assert summary["device"].startswith("cuda") and summary["env_steps"] == STEPS
    assert json.loads((run / "run.json").read_text())["device"] == "cuda"

    on_gpu = SB3Agent.load(run / "model", device="cuda")
    on_cpu = SB3Agent.load(run / "model", device="cpu")
    assert on_gpu.model.device.type == "cuda" and on_cpu.model.device.type == "cpu"
    assert all(p.is_cuda for p in on_gpu.model.policy.parameters())
    obs = np.random.default_rng(0).normal(size=(256, *on_gpu.model.observation_space.shape)).astype(np.float32)
    np.testing.assert_array_equal(on_gpu.act(obs), on_cpu.act(obs))

    # A run killed after its last checkpoint: no model, no summary. Resuming continues on CUDA to the end.
    (run / "summary.json").unlink()
    shutil.rmtree(run / "model")
    resumed = train(run, algo, resume=True)
    assert resumed["device"].startswith("cuda") and resumed["env_steps"] == STEPS and resumed["resumes"] == 1
    steps = [int(line.split(",")[0]) for line in (run / "evaluations.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS
    assert SB3Agent.load(run / "model", device="cuda").model.num_timesteps == STEPS

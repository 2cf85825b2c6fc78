"""Training checkpoints that let a killed run continue exactly where its last checkpoint left it.

A checkpoint is a folder written beside the run (``checkpoint.new``) and renamed into place, so a kill while
writing leaves the previous checkpoint whole. It holds:

- ``weights.pt``: the policy's and optimiser's state dicts (loaded with ``torch.load(weights_only=True)``);
- ``replay_buffer.npz``: for off-policy algorithms, the filled part of the replay buffer;
- ``state.pkl``: the algorithm's counters and last observation, the environment (its shoppers mid-episode and
  its random generators), observation-normalisation statistics, the random states of torch, NumPy and Python,
  and the caller's own state (log sizes, evaluation schedule). It is a pickle: load only checkpoints your own
  runs wrote.

Checkpoints are taken at the start of a rollout, after the previous gradient update, where the algorithm holds
no half-collected data; with the same random states restored, the resumed run repeats what the uninterrupted
run would have done.
"""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer

from agents.sb3_agents import SB3Agent

__all__ = ["has_checkpoint", "load_checkpoint", "save_checkpoint"]

# Algorithm attributes that change while training (SB3 keeps the rest in its constructor arguments).
_ATTRIBUTES = (
    "num_timesteps",
    "_n_updates",
    "_n_calls",
    "_episode_num",
    "_last_obs",
    "_last_original_obs",
    "_last_episode_starts",
    "_last_lstm_states",
    "_current_progress_remaining",
    "exploration_rate",
    "ep_info_buffer",
    "ep_success_buffer",
)
_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _folder(path: Path) -> Path | None:
    """The checkpoint folder to read: ``path``, or the previous one if a kill came between the two renames."""
    for candidate in (path, path.with_name(path.name + ".old")):
        if (candidate / "state.pkl").is_file():
            return candidate
    return None


def has_checkpoint(path: str | Path) -> bool:
    return _folder(Path(path)) is not None


def save_checkpoint(agent: SB3Agent, path: str | Path, extra: dict[str, Any]) -> None:
    """Write a checkpoint of ``agent`` (and the caller's ``extra`` state) to the folder ``path``."""
    path = Path(path)
    new, old = path.with_name(path.name + ".new"), path.with_name(path.name + ".old")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    model = agent.model
    torch.save(
        {"policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict()}, new / "weights.pt"
    )
    buffer = getattr(model, "replay_buffer", None)
    if isinstance(buffer, ReplayBuffer):
        filled = buffer.buffer_size if buffer.full else buffer.pos
        arrays = {name: getattr(buffer, name)[:filled] for name in _BUFFER_ARRAYS if hasattr(buffer, name)}
        np.savez(new / "replay_buffer.npz", pos=buffer.pos, full=buffer.full, **arrays)
    state = {
        "attributes": {name: getattr(model, name) for name in _ATTRIBUTES if hasattr(model, name)},
        "env": agent.venv.venv,
        "obs_rms": agent.venv.obs_rms,
        "action_space": model.action_space,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        },
        "extra": extra,
    }
    with open(new / "state.pkl", "wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    new.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(agent: SB3Agent, path: str | Path) -> dict[str, Any]:
    """Restore ``agent`` (built from the run's config) to the checkpoint at ``path``; returns the ``extra`` state."""
    folder = _folder(Path(path))
    if folder is None:
        raise FileNotFoundError(f"no checkpoint in {str(path)!r}")
    model = agent.model
    with open(folder / "state.pkl", "rb") as handle:
        state = pickle.load(handle)
    weights = torch.load(folder / "weights.pt", map_location=model.device, weights_only=True)
    model.policy.load_state_dict(weights["policy"])
    model.policy.optimizer.load_state_dict(weights["optimizer"])
    for name, value in state["attributes"].items():
        setattr(model, name, value)
    agent.venv.venv = state["env"]
    agent.venv.obs_rms = state["obs_rms"]
    model.action_space = state["action_space"]
    if (folder / "replay_buffer.npz").is_file():
        buffer = model.replay_buffer
        with np.load(folder / "replay_buffer.npz", allow_pickle=False) as data:
            for name in _BUFFER_ARRAYS:
                if name in data:
                    getattr(buffer, name)[: len(data[name])] = data[name]
            buffer.pos, buffer.full = int(data["pos"]), bool(data["full"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])
    return state["extra"]

"""Training checkpoints that let a killed run continue exactly where its last checkpoint left it.

A checkpoint is a folder written beside the run (``checkpoint.new``) and renamed into place, so a kill while
writing leaves the previous checkpoint whole. It holds:

- ``weights.pt``: every tensor: the policy's and optimiser's state dicts, torch's random states and a recurrent
  policy's last LSTM states (loaded with ``torch.load(weights_only=True)``);
- ``replay_buffer.npz``: for off-policy algorithms, the filled part of the replay buffer (no pickles);
- ``state.pkl``: the algorithm's counters and last observation, the environment (its shoppers mid-episode and
  its random generators), observation- and reward-normalisation statistics, the random states of NumPy, Python
  and the agent's action sampler, and the caller's own state (log sizes, evaluation schedule). It is read by an
  unpickler that only builds what such a file holds (shopgym's own classes, NumPy arrays and generators,
  Gymnasium spaces, SB3's running statistics, two containers from ``collections``) and refuses anything else,
  so a tampered file cannot call arbitrary code.

Checkpoints are taken at the start of a rollout, after the previous gradient update, where the algorithm holds
no half-collected data; with the same random states restored, the resumed run repeats what the uninterrupted
run would have done.
"""

from __future__ import annotations

import importlib
import pickle
import random
import shutil
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from sb3_contrib.common.recurrent.type_aliases import RNNStates
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
    "_current_progress_remaining",
    "exploration_rate",
    "ep_info_buffer",
    "ep_success_buffer",
)
_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")

# Everything ``state.pkl`` may name besides shopgym's own classes (and the scenario resolver they hold).
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"),
    ("collections", "deque"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
    ("shopgym.scenarios", "resolve_scenario"),
}


class _CheckpointUnpickler(pickle.Unpickler):
    """Builds only the kinds of objects a checkpoint holds; any other global is refused before it is called."""

    def find_class(self, module: str, name: str) -> Any:
        module = module.replace("numpy.core.", "numpy._core.")  # NumPy 1.x pickles name numpy.core
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module.startswith(("shopgym.", "gymnasium.spaces.")):
            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type):  # a class: pickle builds it with __new__ and sets its state, no call
                return found
        raise pickle.UnpicklingError(f"a shopgym checkpoint never holds {module}.{name}; refusing to load it")


def _load_state(handle: BinaryIO) -> dict[str, Any]:
    return _CheckpointUnpickler(handle).load()


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
    lstm = getattr(model, "_last_lstm_states", None)
    torch.save(
        {
            "policy": model.policy.state_dict(),
            "optimizer": model.policy.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "lstm": None if lstm is None else {"pi": tuple(lstm.pi), "vf": tuple(lstm.vf)},
        },
        new / "weights.pt",
    )
    buffer = getattr(model, "replay_buffer", None)
    if isinstance(buffer, ReplayBuffer):
        filled = buffer.buffer_size if buffer.full else buffer.pos
        arrays = {name: getattr(buffer, name)[:filled] for name in _BUFFER_ARRAYS if hasattr(buffer, name)}
        np.savez(new / "replay_buffer.npz", pos=buffer.pos, full=buffer.full, **arrays)
    state = {
        "attributes": {name: getattr(model, name) for name in _ATTRIBUTES if hasattr(model, name)},  # no tensors
        "env": agent.venv.venv,
        "obs_rms": agent.venv.obs_rms,
        "reward_normalization": (agent.venv.ret_rms, agent.venv.returns),
        "action_space": model.action_space,
        "rng": {
            "numpy": np.random.get_state(),
            "python": random.getstate(),
            "sampling": agent.sampling_rng.bit_generator.state,
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
        state = _load_state(handle)
    weights = torch.load(folder / "weights.pt", map_location=model.device, weights_only=True)
    model.policy.load_state_dict(weights["policy"])
    model.policy.optimizer.load_state_dict(weights["optimizer"])
    for name, value in state["attributes"].items():
        setattr(model, name, value)
    if weights["lstm"] is not None:
        model._last_lstm_states = RNNStates(pi=weights["lstm"]["pi"], vf=weights["lstm"]["vf"])
    agent.venv.venv = state["env"]
    agent.venv.obs_rms = state["obs_rms"]
    if "reward_normalization" in state:  # checkpoints written before return normalisation existed lack it
        agent.venv.ret_rms, agent.venv.returns = state["reward_normalization"]
    model.action_space = state["action_space"]
    if (folder / "replay_buffer.npz").is_file():
        buffer = model.replay_buffer
        with np.load(folder / "replay_buffer.npz", allow_pickle=False) as data:
            for name in _BUFFER_ARRAYS:
                if name in data:
                    getattr(buffer, name)[: len(data[name])] = data[name]
            buffer.pos, buffer.full = int(data["pos"]), bool(data["full"])
    torch.set_rng_state(weights["torch_rng"])
    if weights["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(weights["cuda_rng"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    if "sampling" in state["rng"]:  # likewise for the action sampler
        agent.sampling_rng.bit_generator.state = state["rng"]["sampling"]
    return state["extra"]

"""Training checkpoints that let a killed run continue exactly where its last checkpoint left it.

A checkpoint is a folder written beside the run (``checkpoint.new``) and renamed into place, so a kill while
writing leaves the previous checkpoint whole. It holds:

- ``weights.pt``: every tensor: the policy's and optimiser's state dicts, torch's random states and a recurrent
  policy's last LSTM states (loaded with ``torch.load(weights_only=True)``);
- ``replay_buffer.npz``: for off-policy algorithms, the filled part of the replay buffer (no pickles);
- ``state.pkl``: the algorithm's counters and last observation, the environment (its shoppers mid-episode and
  its random generators), observation- and reward-normalisation statistics, the random states of NumPy, Python
  and the agent's action sampler, and the caller's own state (log sizes, evaluation schedule). It is read by an
  unpickler that knows an exact list of classes (the ones such a file holds: shopgym's envs, markets and
  parameters, Gymnasium spaces, SB3's running statistics, NumPy's arrays and generators), which it creates
  without calling them, and calls only functions that build NumPy values and containers from plain data. It
  refuses anything else before it runs, so a tampered file can neither call code nor read files.

Checkpoints are taken at the start of a rollout, after the previous gradient update, where the algorithm holds
no half-collected data; with the same random states restored, the resumed run repeats what the uninterrupted
run would have done.
"""

from __future__ import annotations

import importlib
import pickle
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, NoReturn

import numpy as np
import torch
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.buffers import ReplayBuffer

from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.runs import RunError
from shopgym.params import clip
from shopgym.tasks import TASKS

__all__ = ["has_checkpoint", "load_checkpoint", "read_state", "save_checkpoint"]

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

# Everything ``state.pkl`` may name: what the checkpoints of PPO, DQN, A2C and RecurrentPPO hold on every task, with
# mixed markets and every kind of drift (each a class or function ``find_class`` was asked for, logged), plus NumPy's
# form for arrays that are not contiguous.
# Classes are only created (``__new__``) and given their saved attributes: the unpickler never calls them.
_CLASSES = (
    ("gymnasium.spaces.box", "Box"),
    ("gymnasium.spaces.discrete", "Discrete"),
    ("gymnasium.spaces.multi_discrete", "MultiDiscrete"),
    ("numpy", "ndarray"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("shopgym.catalog", "Catalog"),
    ("shopgym.choice", "NestedLogit"),
    ("shopgym.catalog", "Appeal"),
    ("shopgym.core", "MarketSimulator"),
    ("shopgym.core", "VisitOutcome"),
    ("shopgym.drift", "CatalogChurnDrift"),
    ("shopgym.drift", "CompetitorDrift"),
    ("shopgym.drift", "GradualDrift"),
    ("shopgym.drift", "SeasonalDrift"),
    ("shopgym.drift", "SwitchDrift"),
    ("shopgym.envs.batch", "ShopperBatch"),
    ("shopgym.envs.sb3", "ConcatShopVecEnv"),
    ("shopgym.envs.sb3", "ShopVecEnv"),
    ("shopgym.market", "Coefficients"),
    ("shopgym.market", "Market"),
    ("shopgym.market", "SegmentTable"),
    ("shopgym.observation", "ObservationLayout"),
    ("shopgym.params", "AbruptSwitch"),
    ("shopgym.params", "CatalogChurn"),
    ("shopgym.params", "CatalogParams"),
    ("shopgym.params", "ChoiceParams"),
    ("shopgym.params", "CompetitorEntry"),
    ("shopgym.params", "DynamicsParams"),
    ("shopgym.params", "GradualShift"),
    ("shopgym.params", "RetrievalParams"),
    ("shopgym.params", "RewardParams"),
    ("shopgym.params", "Scenario"),
    ("shopgym.params", "Seasonal"),
    ("shopgym.params", "SegmentParams"),
    ("shopgym.reward", "KpiReward"),
    ("shopgym.shoppers", "ShopperState"),
    ("shopgym.tasks", "Marketing"),
    ("shopgym.tasks", "Pricing"),
    ("shopgym.tasks", "Promote"),
    ("shopgym.tasks", "Recommend"),
    ("shopgym.tasks", "RecommendSlate"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
)
# Functions the unpickler calls: each builds a container or a NumPy value from plain data, whatever its arguments.
_CALLS = (
    ("collections", "deque"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
)


def _bit_generator(kind: Any) -> np.random.PCG64:
    """NumPy's ``__bit_generator_ctor``, which calls any class it is given, for the one kind shopgym uses."""
    if kind is not np.random.PCG64 and kind != "PCG64":
        name = getattr(kind, "__qualname__", type(kind).__name__)
        raise pickle.UnpicklingError(f"a shopgym checkpoint's random generators are PCG64, not {clip(name)}")
    return np.random.PCG64()


def _generator(bit_generator: Any) -> np.random.Generator:
    """NumPy's ``__generator_ctor``, which calls any function it is given, for a PCG64 bit generator."""
    if not isinstance(bit_generator, np.random.PCG64):
        bit_generator = _bit_generator(bit_generator)
    return np.random.Generator(bit_generator)


def _resolve(names: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], Any]:
    return {(module, name): getattr(importlib.import_module(module), name) for module, name in names}


_FOUND = {
    **_resolve(_CLASSES),
    **_resolve(_CALLS),
    ("numpy.random._pickle", "__bit_generator_ctor"): _bit_generator,
    ("numpy.random._pickle", "__generator_ctor"): _generator,
    # Checkpoints from before simulators were pickled without their scenario resolver name it: a stand-in that is
    # never called, which the simulator replaces when it is unpickled.
    ("shopgym.scenarios", "resolve_scenario"): object(),
}
_CALLABLE = {id(_FOUND[key]) for key in _CALLS} | {id(_bit_generator), id(_generator)}
_CLASS_IDS = {id(_FOUND[key]) for key in _CLASSES}
# What BUILD may give saved attributes to: instances of the classes, and the arrays and dtypes the calls build.
_BUILDABLE = (*(_FOUND[key] for key in _CLASSES), np.dtype)


class _CheckpointUnpickler(pickle._Unpickler):  # the Python unpickler: its opcodes can be checked one by one
    """Builds only the objects a checkpoint holds: it finds only the classes and functions named above, calls only
    the functions, and refuses anything else (naming it) before it runs."""

    dispatch: ClassVar[dict[int, Callable[..., None]]] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self._names: dict[int, str] = {}  # id → module.name of everything found, for messages
        # Tasks registered in this process (register_task) besides the built-in ones listed above: registering
        # is done by code the user runs, never by a checkpoint.
        tasks = {(task.__module__, task.__qualname__): task for task in TASKS.values()}
        self._found = {**tasks, **_FOUND}
        self._class_ids = _CLASS_IDS | {id(task) for task in tasks.values()}
        self._buildable = (*_BUILDABLE, *tasks.values())

    def find_class(self, module: str, name: str) -> Any:
        module = module.replace("numpy.core.", "numpy._core.")  # NumPy 1.x pickles name numpy.core
        if (module, name) not in self._found:
            raise pickle.UnpicklingError(f"a shopgym checkpoint never holds {module}.{name}; refusing to load it")
        found = self._found[module, name]
        self._names[id(found)] = f"{module}.{name}"
        return found

    def _refuse(self, what: str, thing: Any) -> NoReturn:
        name = self._names.get(id(thing), f"a {type(thing).__name__}")
        raise pickle.UnpicklingError(f"a shopgym checkpoint never {what} {name}; refusing to load it")

    def load_reduce(self) -> None:
        if id(self.stack[-2]) not in _CALLABLE:
            self._refuse("calls", self.stack[-2])
        super().load_reduce()

    def load_newobj(self) -> None:
        if id(self.stack[-2]) not in self._class_ids:
            self._refuse("creates", self.stack[-2])
        super().load_newobj()

    def load_newobj_ex(self) -> None:
        if id(self.stack[-3]) not in self._class_ids:
            self._refuse("creates", self.stack[-3])
        super().load_newobj_ex()

    def load_build(self) -> None:
        if not isinstance(self.stack[-2], self._buildable):
            self._refuse("sets attributes of", self.stack[-2])
        super().load_build()

    def _instantiate(self, klass: Any, args: list[Any]) -> None:  # protocols 0 and 1 call classes: never written
        self._refuse("calls", klass)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


def read_state(path: str | Path) -> dict[str, Any]:
    """The contents of a checkpoint's ``state.pkl``; anything a checkpoint never holds raises
    :class:`pickle.UnpicklingError` naming it, before it is created or called."""
    with open(path, "rb") as handle:
        try:
            return _CheckpointUnpickler(handle).load()
        except pickle.UnpicklingError:
            raise
        except Exception as error:  # a damaged file: pickle met something else than the data its opcodes expect
            raise pickle.UnpicklingError(f"a damaged checkpoint: {type(error).__name__}: {clip(str(error))}") from None


def _folder(path: Path) -> Path | None:
    """The checkpoint folder to read: ``path``, or the previous one if a kill came between the two renames."""
    for candidate in (path, path.with_name(path.name + ".old")):
        if (candidate / "state.pkl").is_file():
            return candidate
    return None


def has_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` (or the previous checkpoint beside it) holds a checkpoint to resume from."""
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
    """Restore ``agent`` (built from the run's config) to the checkpoint at ``path``; returns the ``extra`` state.
    A ``state.pkl`` that holds anything a checkpoint never holds raises :class:`RunError`."""
    folder = _folder(Path(path))
    if folder is None:
        raise FileNotFoundError(f"no checkpoint in {str(path)!r}")
    model = agent.model
    try:
        state = read_state(folder / "state.pkl")
    except pickle.UnpicklingError as error:
        raise RunError(f"cannot resume from {str(folder / 'state.pkl')!r}: {error}") from None
    # On the CPU: torch's random states must stay there; load_state_dict moves weights and optimiser state over.
    weights = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
    model.policy.load_state_dict(weights["policy"])
    model.policy.optimizer.load_state_dict(weights["optimizer"])
    for name, value in state["attributes"].items():
        setattr(model, name, value)
    if weights["lstm"] is not None:
        pi, vf = (tuple(t.to(model.device) for t in weights["lstm"][k]) for k in ("pi", "vf"))
        model._last_lstm_states = RNNStates(pi=pi, vf=vf)
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

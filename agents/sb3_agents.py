"""stable-baselines3 agents (PPO, DQN, A2C, RecurrentPPO) trained on the batched SB3 VecEnv.

Hyperparameters come from ``agents/hyperparams/<algo>.yml``, keyed by env id with a ``default`` entry (the
env's entry overrides it key by key), safe-loaded and validated: an unknown key or a bad value is an error that
names it. Nothing is ``eval``-ed: network sizes are lists of ints, activations are names.

Saving writes ``agent.json`` (algorithm, env id, the market itself (every field of the scenario, its name and
its sha256), the other env kwargs, hyperparameters, seed, the state of the generator that draws stochastic
actions) and the policy's weights (``policy.pt``, a torch state dict) plus observation-normalisation statistics
when used. A saved agent therefore never depends on a scenario file that may since have moved or changed.
Loading checks every file first (a malformed one is a :class:`~shopgym.params.ParameterError` naming the file
and the problem), rebuilds the model from ``agent.json`` and loads the weights with
``torch.load(weights_only=True)``: a user never unpickles a file they did not produce.

(Longer than the house's 350 lines because saving, loading, resuming and the options of four algorithms act on one
agent object and its recorded config.)
"""

from __future__ import annotations

import inspect
import json
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

import shopgym
from shopgym.agents.base import TaskInfo
from shopgym.agents.networks import CandidateActorCriticPolicy, CandidateDQNPolicy
from shopgym.agents.sb3_options import ALGORITHM_NAMES, resolve_device
from shopgym.envs.batch import ShopperBatch
from shopgym.envs.sb3 import make_sb3_vec_env
from shopgym.files import read_yaml, write_atomic
from shopgym.params import ParameterError, format_validation_error, validate_scenario
from shopgym.scenarios import content_digest, resolve_scenario, scenario_record

__all__ = [
    "ALGORITHMS",
    "HyperParams",
    "SB3Agent",
    "SavedAgent",
    "load_hyperparams",
    "read_saved_agent",
    "resolve_device",
]

ALGORITHMS: dict[str, type[BaseAlgorithm]] = dict(zip(ALGORITHM_NAMES, (PPO, DQN, A2C, RecurrentPPO), strict=True))
SAMPLING_ALGORITHMS = ("ppo", "a2c")  # stochastic acting samples their action distribution
HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"
_DEFAULT_SCENARIO = inspect.signature(ShopperBatch).parameters["scenario"].default  # the env's own default market


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PolicyKwargs(_Strict):
    architecture: Literal["auto", "mlp", "candidate"] = Field(
        "auto",
        description="candidate: a shared per-candidate scorer (agents/networks.py); auto uses it where it applies",
    )
    net_arch: list[int] = Field(default=[64, 64], min_length=1, max_length=8)
    activation: Literal["tanh", "relu"] = "tanh"
    lstm_hidden_size: int | None = Field(default=None, ge=4, le=1024)

    def to_sb3(self, algo: str, info: TaskInfo) -> tuple[str | type, dict[str, Any]]:
        """(SB3 policy, policy_kwargs) for ``algo`` on the task of ``info``."""
        activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[self.activation]
        if algo == "recurrentppo":
            kwargs: dict[str, Any] = {"net_arch": list(self.net_arch), "activation_fn": activation}
            if self.lstm_hidden_size is not None:
                kwargs["lstm_hidden_size"] = self.lstm_hidden_size
            return "MlpLstmPolicy", kwargs
        layout = info.task.candidate_layout()
        if self.architecture == "candidate" and layout is None:
            raise ParameterError(f"architecture 'candidate' does not apply to the {info.name!r} task")
        if self.architecture == "mlp" or layout is None:
            return "MlpPolicy", {"net_arch": list(self.net_arch), "activation_fn": activation}
        policy = CandidateDQNPolicy if algo == "dqn" else CandidateActorCriticPolicy
        return policy, {"candidate_layout": layout, "hidden": list(self.net_arch), "activation_fn": activation}


class HyperParams(_Strict):
    """Validated hyperparameters. Algorithm-specific keys are checked against the algorithm in use."""

    n_envs: int = Field(256, ge=1, le=65536, description="shoppers stepped together (SB3 num_envs)")
    normalize_observations: bool = True
    normalize_rewards: bool = Field(
        False,
        description="divide training rewards by the running standard deviation of the discounted return "
        "(SB3's VecNormalize), so one setting fits markets whose prices differ by orders of magnitude",
    )
    reward_scale: float = Field(
        0.01, gt=0.0, le=1e3, description="training rewards are multiplied by this (after any normalisation)"
    )
    learning_rate: float = Field(3e-4, gt=0.0, le=1.0)
    gamma: float = Field(0.99, ge=0.0, le=1.0)
    policy_kwargs: PolicyKwargs = PolicyKwargs()
    deterministic: bool = Field(
        True,
        description="act with the policy's most likely action; false samples from the policy (PPO and A2C only), "
        "with a generator seeded by the agent's seed",
    )
    # PPO / A2C / RecurrentPPO
    n_steps: int | None = Field(None, ge=1, le=100_000)
    batch_size: int | None = Field(None, ge=1, le=10_000_000)
    n_epochs: int | None = Field(None, ge=1, le=100)
    gae_lambda: float | None = Field(None, ge=0.0, le=1.0)
    clip_range: float | None = Field(None, gt=0.0, le=10.0)
    ent_coef: float | None = Field(None, ge=0.0, le=10.0)
    vf_coef: float | None = Field(None, ge=0.0, le=10.0)
    max_grad_norm: float | None = Field(None, gt=0.0, le=1e3)
    # DQN
    buffer_size: int | None = Field(None, ge=1, le=100_000_000)
    learning_starts: int | None = Field(None, ge=0)
    tau: float | None = Field(None, gt=0.0, le=1.0)
    train_freq: int | None = Field(None, ge=1)
    gradient_steps: int | None = Field(None, ge=-1)
    target_update_interval: int | None = Field(None, ge=1)
    exploration_fraction: float | None = Field(None, ge=0.0, le=1.0)
    exploration_initial_eps: float | None = Field(None, ge=0.0, le=1.0)
    exploration_final_eps: float | None = Field(None, ge=0.0, le=1.0)

    _ON_POLICY = (
        "n_steps",
        "batch_size",
        "n_epochs",
        "gae_lambda",
        "clip_range",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
    )
    _ALLOWED = {
        "ppo": _ON_POLICY,
        "recurrentppo": _ON_POLICY,
        "a2c": ("n_steps", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm"),
        "dqn": (
            "buffer_size",
            "learning_starts",
            "batch_size",
            "tau",
            "train_freq",
            "gradient_steps",
            "target_update_interval",
            "exploration_fraction",
            "exploration_initial_eps",
            "exploration_final_eps",
            "max_grad_norm",
        ),
    }

    def algorithm_kwargs(self, algo: str) -> dict[str, Any]:
        """Keyword arguments for the SB3 constructor; a key set that the algorithm does not take is an error."""
        allowed = self._ALLOWED[algo]
        specific = {k: v for k in self._ON_POLICY + self._ALLOWED["dqn"] if (v := getattr(self, k)) is not None}
        wrong = sorted(set(specific) - set(allowed))
        if wrong:
            raise ParameterError(f"hyperparameters {wrong} do not apply to {algo}; allowed: {sorted(allowed)}")
        if not self.deterministic and algo not in SAMPLING_ALGORITHMS:
            raise ParameterError(
                f"deterministic = false applies to {' and '.join(SAMPLING_ALGORITHMS)}, not {algo}: "
                "its actions are not drawn from a distribution the agent can sample"
            )
        return {"learning_rate": self.learning_rate, "gamma": self.gamma, **specific}


def load_hyperparams(algo: str, env_id: str, path: str | Path | None = None) -> HyperParams:
    """The ``default`` entry of ``<algo>.yml`` updated with the ``env_id`` entry, validated."""
    if algo not in ALGORITHMS:
        raise ParameterError(f"unknown algorithm {algo!r}; known: {', '.join(ALGORITHMS)}")
    path = Path(path) if path is not None else HYPERPARAMS_DIR / f"{algo}.yml"
    data = read_yaml(path, "hyperparameter file") or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ParameterError(f"hyperparameter file {str(path)!r} must map env ids (and 'default') to mappings")
    merged = {**data.get("default", {}), **data.get(env_id, {})}
    try:
        params = HyperParams.model_validate(merged)
    except ValidationError as error:
        raise format_validation_error(
            error, f"hyperparameters for {algo} on {env_id} in {str(path)!r}", HyperParams
        ) from None
    try:
        params.algorithm_kwargs(algo)
    except ParameterError as error:
        raise ParameterError(f"hyperparameter file {str(path)!r}: {error}") from None
    return params


class _ScaledReward(VecNormalize):
    """VecNormalize that scales training rewards by a constant, after the optional return normalisation, and
    optionally normalises observations. Evaluation (``training`` false) sees the raw rewards."""

    def __init__(self, venv: VecEnv, params: HyperParams) -> None:
        super().__init__(
            venv,
            norm_obs=params.normalize_observations,
            norm_reward=params.normalize_rewards,
            gamma=params.gamma,
        )
        self.scale = params.reward_scale

    def normalize_reward(self, reward: np.ndarray) -> np.ndarray:
        return super().normalize_reward(reward) * self.scale if self.training else reward


class SB3Agent:
    """An SB3 model plus what rebuilds it. Implements the :class:`shopgym.agents.base.Policy` protocol.

    ``device`` is resolved by :func:`resolve_device` (CUDA asked for where there is none is an error);
    ``env_kwargs["scenario"]`` (a name, a YAML path, a mapping or a Scenario) is read once, here: the agent keeps
    the :class:`~shopgym.params.Scenario` itself."""

    def __init__(
        self,
        algo: str,
        env_id: str,
        hyperparams: HyperParams | None = None,
        seed: int = 0,
        device: str = "auto",
        env_kwargs: dict[str, Any] | None = None,
        n_envs: int | None = None,
        deterministic: bool | None = None,
        tensorboard_log: str | None = None,
    ) -> None:
        if algo not in ALGORITHMS:
            raise ParameterError(f"unknown algorithm {algo!r}; known: {', '.join(ALGORITHMS)}")
        self.algo, self.env_id, self.seed, self.device = algo, env_id, seed, resolve_device(device)
        self.name = algo
        self.env_kwargs = _with_market(env_kwargs or {})
        self.hyperparams = hyperparams or load_hyperparams(algo, env_id)
        self.deterministic = self.hyperparams.deterministic if deterministic is None else deterministic
        # Draws stochastic actions in `act`, apart from the random streams training uses; checkpoints keep it.
        self.sampling_rng = np.random.default_rng([seed, 1])
        n_envs = n_envs or self.hyperparams.n_envs
        raw = make_sb3_vec_env(env_id, num_envs=n_envs, seed=seed, **self.env_kwargs)
        self.info = TaskInfo.of(raw)
        self.venv = _ScaledReward(raw, self.hyperparams)
        policy, policy_kwargs = self.hyperparams.policy_kwargs.to_sb3(algo, self.info)
        self.model = ALGORITHMS[algo](
            policy,
            self.venv,
            seed=seed,
            device=self.device,
            verbose=0,
            policy_kwargs=policy_kwargs,
            tensorboard_log=tensorboard_log,
            **self.hyperparams.algorithm_kwargs(algo),
        )
        self._lstm_state: Any = None

    # ------------------------------------------------------------------ training
    def learn(self, total_timesteps: int, callback: BaseCallback | None = None, tb_log_name: str = "run") -> SB3Agent:
        """Train for ``total_timesteps`` more env steps (SB3 rounds up to whole rollouts)."""
        if total_timesteps < 1:
            raise ValueError(f"total_timesteps = {total_timesteps!r} must be ≥ 1")
        self.model.learn(
            total_timesteps=total_timesteps, callback=callback, reset_num_timesteps=False, tb_log_name=tb_log_name
        )
        return self

    def use_env(self, venv: VecEnv, env_kwargs: dict[str, Any] | None = None) -> None:
        """Go on training in another batched env of the same task (another scenario, or a mix from
        :func:`shopgym.envs.sb3.make_mixed_sb3_vec_env`) with the same number of slots. Weights, optimiser state
        and normalisation statistics carry over; the next :meth:`learn` starts new episodes."""
        wrapped = _ScaledReward(venv, self.hyperparams)
        wrapped.obs_rms, wrapped.ret_rms = self.venv.obs_rms, self.venv.ret_rms
        self.model.set_env(wrapped, force_reset=True)
        self.venv = wrapped
        if env_kwargs is not None:
            self.env_kwargs = _with_market(env_kwargs)

    # ------------------------------------------------------------------ the Policy protocol
    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        """Actions for a batch of observations: the mode of the policy, or with ``deterministic`` false a draw
        from it (PPO and A2C). Observations are normalised with frozen training statistics."""
        normalized = self.venv.normalize_obs(obs) if self.hyperparams.normalize_observations else obs
        if not self.deterministic:
            return self._sample(normalized)
        if self.algo == "recurrentppo":
            starts = self.info.visit_index(obs) == 0
            if self._lstm_state is not None and self._lstm_state[0].shape[1] != obs.shape[0]:
                self._lstm_state = None
            actions, self._lstm_state = self.model.predict(
                normalized, state=self._lstm_state, episode_start=starts, deterministic=True
            )
            return actions
        return self.model.predict(normalized, deterministic=True)[0]

    def _sample(self, normalized: np.ndarray) -> np.ndarray:
        """Draw one action per row from the policy's categorical distribution(s) with ``sampling_rng``, so that
        evaluating a stochastic policy is reproducible and leaves training's random streams alone."""
        if self.algo not in SAMPLING_ALGORITHMS:
            raise ValueError(f"sampling actions applies to {' and '.join(SAMPLING_ALGORITHMS)}, not {self.algo}")
        policy = self.model.policy
        with torch.no_grad():
            distribution = policy.get_distribution(policy.obs_to_tensor(normalized)[0]).distribution
        parts = distribution if isinstance(distribution, list) else [distribution]  # MultiDiscrete: one per dim
        draws = []
        for part in parts:
            cumulative = part.probs.cpu().numpy().astype(np.float64).cumsum(axis=1)
            uniform = self.sampling_rng.random((cumulative.shape[0], 1)) * cumulative[:, -1:]
            draws.append(np.minimum((cumulative <= uniform).sum(axis=1), cumulative.shape[1] - 1))
        return draws[0] if len(draws) == 1 else np.stack(draws, axis=1)

    def update(
        self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray, dones: np.ndarray
    ) -> None:
        """SB3 agents learn in :meth:`learn`, not from evaluation transitions."""
        return None

    def save(self, path: str | Path) -> None:
        """Write ``agent.json`` (with the market itself, see :func:`scenario_record`), ``policy.pt`` and, when
        observations are normalised, ``obs_normalization.npz`` into the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {
            "algo": self.algo,
            "env_id": self.env_id,
            "env_kwargs": {k: v for k, v in self.env_kwargs.items() if k != "scenario"},
            "scenario": scenario_record(self.env_kwargs["scenario"]),
            "seed": self.seed,
            "hyperparams": self.hyperparams.model_dump(mode="json"),
            "num_timesteps": int(self.model.num_timesteps),
            "sampling_rng": self.sampling_rng.bit_generator.state,
        }
        write_atomic(path / "agent.json", json.dumps(config, indent=1))
        torch.save(self.model.policy.state_dict(), path / "policy.pt")
        if self.hyperparams.normalize_observations:
            rms = self.venv.obs_rms
            np.savez(path / "obs_normalization.npz", mean=rms.mean, var=rms.var, count=np.array(rms.count))

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> SB3Agent:
        """Rebuild from ``agent.json`` and load the saved weights (no unpickling). Every file is checked first:
        a malformed model folder is a :class:`~shopgym.params.ParameterError` naming the file and the problem."""
        path = Path(path)
        device = resolve_device(device)
        saved, env_kwargs = read_saved_agent(path)
        with warnings.catch_warnings():  # a one-shopper rebuild makes SB3 warn about PPO's batch size
            warnings.simplefilter("ignore", UserWarning)
            try:
                agent = cls(
                    saved.algo,
                    saved.env_id,
                    saved.hyperparams,
                    seed=saved.seed,
                    device=device,
                    env_kwargs=env_kwargs,
                    n_envs=1,
                )
            except (TypeError, ValueError) as error:  # an env kwarg the task does not take, or a bad value
                raise ParameterError(f"{str(path / 'agent.json')!r} does not rebuild an agent: {error}") from None
        agent.load_weights(path)
        agent.model.num_timesteps = saved.num_timesteps
        if saved.sampling_rng is not None:  # agents saved before stochastic acting existed lack it
            agent.sampling_rng.bit_generator.state = saved.sampling_rng
        agent.venv.training = False
        return agent

    def load_weights(self, path: str | Path) -> None:
        """Take the policy weights and observation statistics of the agent saved in ``path`` (same algorithm and
        network; the task's candidate count must match, the catalog need not): fine-tuning starts here. Both
        files are checked (present, readable, every tensor of the network in its shape, finite) before use."""
        path = Path(path)
        policy = self.model.policy
        policy.load_state_dict(_read_weights(path / "policy.pt", policy.state_dict()))
        if self.hyperparams.normalize_observations:
            rms = self.venv.obs_rms
            rms.mean, rms.var, rms.count = _read_obs_statistics(path / "obs_normalization.npz", rms.mean.shape)


def _with_market(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``env_kwargs`` with its scenario (or the env's default one) read into a :class:`Scenario`."""
    return {**env_kwargs, "scenario": resolve_scenario(env_kwargs.get("scenario", _DEFAULT_SCENARIO))}


# ---------------------------------------------------------------------------------------------- saved agents
class SavedScenario(_Strict):
    """The market of a saved agent, kept whole (see :func:`scenario_record`)."""

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content: dict[str, Any]


class SavedAgent(_Strict):
    """``agent.json``: what rebuilds a saved agent."""

    algo: str
    env_id: str
    env_kwargs: dict[str, Any] = Field(default_factory=dict, description="task options besides the scenario")
    scenario: SavedScenario | None = Field(
        None, description="the market; agents saved before it was kept whole name theirs in env_kwargs instead"
    )
    seed: int = Field(ge=0)
    hyperparams: HyperParams
    num_timesteps: int = Field(ge=0)
    sampling_rng: dict[str, Any] | None = None


def read_saved_agent(path: str | Path) -> tuple[SavedAgent, dict[str, Any]]:
    """Read and check ``path/agent.json``; returns it and the env kwargs that rebuild the agent's market (its
    scenario rebuilt from the recorded content). Any problem is a :class:`ParameterError` naming the file."""
    file = Path(path) / "agent.json"
    where = repr(str(file))
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ParameterError(f"cannot read {where}: {error.strerror or error}") from None
    except ValueError as error:  # not JSON, or not UTF-8
        raise ParameterError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{where} must hold a JSON object of the saved agent, got {type(data).__name__}")
    try:
        saved = SavedAgent.model_validate(data)
    except ValidationError as error:
        raise format_validation_error(error, where, SavedAgent) from None
    if saved.algo not in ALGORITHMS:
        raise ParameterError(f"{where}: algo = {saved.algo!r}; known: {', '.join(ALGORITHMS)}")
    if saved.env_id not in shopgym.ENV_IDS:
        raise ParameterError(f"{where}: env_id = {saved.env_id!r}; known: {', '.join(sorted(shopgym.ENV_IDS))}")
    try:
        saved.hyperparams.algorithm_kwargs(saved.algo)
        if saved.sampling_rng is not None:
            np.random.PCG64().state = saved.sampling_rng
    except ParameterError as error:
        raise ParameterError(f"{where}: {error}") from None
    except (TypeError, ValueError, KeyError):
        raise ParameterError(f"{where}: sampling_rng is not the state of a NumPy PCG64 generator") from None
    if saved.scenario is None:
        return saved, dict(saved.env_kwargs)
    if "scenario" in saved.env_kwargs:
        raise ParameterError(f"{where}: env_kwargs.scenario and scenario both name a market; keep one")
    record = saved.scenario
    # The digest is checked on the content as saved: a field added to the model since (with a default that keeps the
    # old behaviour) must not make an older agent unreadable.
    if content_digest(record.content) != record.sha256:
        raise ParameterError(f"{where}: scenario.sha256 does not match scenario.content (was either edited?)")
    scenario = validate_scenario(record.content, where=f"scenario.content in {where}")
    if scenario.name != record.name:
        raise ParameterError(f"{where}: scenario.name = {record.name!r}, but its content is named {scenario.name!r}")
    return saved, {**saved.env_kwargs, "scenario": scenario}


def _read_weights(file: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict in ``file`` if it holds exactly the tensors of ``expected``, in their shapes, all finite."""
    where = repr(str(file))
    if not file.is_file():
        raise ParameterError(f"{where} is missing: the saved agent has no weights")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise ParameterError(f"{where} is not a torch state dict ({type(error).__name__} on loading)") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ParameterError(f"{where} must hold a mapping of parameter names to tensors")
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ParameterError(
            f"{where} does not fit the network agent.json describes: missing {missing}, unexpected {unexpected}"
        )
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise ParameterError(
                f"{where}: {name} has shape {tuple(tensor.shape)}; the network agent.json describes needs "
                f"{tuple(expected[name].shape)}"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ParameterError(f"{where}: {name} holds NaN or infinite values")
    return state


def _read_obs_statistics(file: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, var, count) of observation normalisation from ``file``, checked: shapes, finite, var ≥ 0, count > 0."""
    where = repr(str(file))
    if not file.is_file():
        raise ParameterError(f"{where} is missing: the agent normalises observations and needs their statistics")
    try:
        with np.load(file, allow_pickle=False) as data:
            missing = sorted({"mean", "var", "count"} - set(data.files))
            arrays = {name: data[name] for name in ("mean", "var", "count") if name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ParameterError(
            f"{where} is not a NumPy .npz of numeric arrays ({type(error).__name__} on loading)"
        ) from None
    if missing:
        raise ParameterError(f"{where} lacks {missing}; it must hold mean, var and count")
    expected = {"mean": shape, "var": shape, "count": ()}
    for name, array in arrays.items():
        if array.dtype.kind not in "fiu" or array.shape != expected[name]:
            raise ParameterError(
                f"{where}: {name} is {array.dtype} of shape {array.shape}; the task needs numbers of shape "
                f"{expected[name]}"
            )
        if not np.isfinite(array).all():
            raise ParameterError(f"{where}: {name} holds NaN or infinite values")
    if (arrays["var"] < 0).any() or arrays["count"] <= 0:
        raise ParameterError(f"{where}: var must be ≥ 0 and count > 0")
    return arrays["mean"].astype(np.float64), arrays["var"].astype(np.float64), float(arrays["count"])

"""Environment adapters over the batched core, and their registration with Gymnasium.

The horizon H (visits per episode) is ``max_episode_steps`` everywhere, with one default: the registered spec's
(:data:`DEFAULT_HORIZON`). ``gymnasium.make(id, max_episode_steps=N)`` hands N to the ``TimeLimit`` it adds and
the single env reads it from there at reset; ``gymnasium.make_vec`` and :func:`shopgym.envs.sb3.make_sb3_vec_env`
pass N (or the spec's) to their env as the ``max_episode_steps`` argument. All three end episodes after N visits
and observe ``t/N``.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from shopgym.envs.batch import DEFAULT_HORIZON, ShopperBatch
from shopgym.envs.single import ShopEnv
from shopgym.envs.vector import ShopVectorEnv
from shopgym.tasks import ENV_IDS

__all__ = ["ENV_IDS", "ShopEnv", "ShopVectorEnv", "ShopperBatch", "register_envs"]


def register_envs() -> None:
    """Register every id of :data:`shopgym.tasks.ENV_IDS` (the task registry's) with Gymnasium (idempotent)."""
    for env_id, task in ENV_IDS.items():
        if env_id in registry:
            continue
        register(
            id=env_id,
            entry_point="shopgym.envs.single:ShopEnv",
            vector_entry_point="shopgym.envs.vector:ShopVectorEnv",
            max_episode_steps=DEFAULT_HORIZON,
            kwargs={"task": task},
        )

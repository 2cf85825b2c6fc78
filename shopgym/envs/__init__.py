"""Environment adapters over the batched core, and their registration with Gymnasium.

The horizon H (visits per episode) is ``max_episode_steps`` everywhere, with one default: the registered spec's
(:data:`DEFAULT_HORIZON`). ``gymnasium.make(id, max_episode_steps=N)`` hands N to the ``TimeLimit`` it adds and
the single env reads it from there at reset; ``gymnasium.make_vec`` and :func:`shopgym.envs.sb3.make_sb3_vec_env`
pass N (or the spec's) to their env as the ``max_episode_steps`` argument. All three end episodes after N visits
and observe ``t/N``.
"""

from __future__ import annotations

from functools import partial

from gymnasium.envs.registration import register, registry
from gymnasium.error import DeprecatedEnv

from shopgym.envs.batch import DEFAULT_HORIZON, GEOMETRIC_CAP, ShopperBatch
from shopgym.envs.single import ShopEnv
from shopgym.envs.vector import ShopVectorEnv
from shopgym.tasks import ENV_IDS, TASKS

__all__ = ["ENV_IDS", "RETIRED_IDS", "ShopEnv", "ShopVectorEnv", "ShopperBatch", "register_envs"]

#: Ids of earlier shopper models → (the last shopgym release that had them, the id that replaces them).
RETIRED_IDS = {
    f"shopgym/{name}-v0": ("0.1.0", f"shopgym/{name}-v1")
    for name in ("Recommend", "RecommendSlate", "Promote", "Marketing", "Pricing")
}


def retired(env_id: str, **_: object) -> None:
    """The entry point of a retired id: raises Gymnasium's ``DeprecatedEnv`` naming its last release."""
    release, successor = RETIRED_IDS[env_id]
    raise DeprecatedEnv(
        f"{env_id} ran the first shopper model and was removed after shopgym {release} (model v2 changed the "
        f"dynamics); use {successor}, or install shopgym=={release} to reproduce old results"
    )


def register_envs() -> None:
    """Register every id of :data:`shopgym.tasks.ENV_IDS` (the task registry's) with Gymnasium (idempotent), and
    the retired ids of :data:`RETIRED_IDS` so that making one says what replaced it."""
    for env_id, task in ENV_IDS.items():
        if env_id in registry:
            continue
        geometric = TASKS[task].episode_end == "geometric"
        register(
            id=env_id,
            entry_point="shopgym.envs.single:ShopEnv",
            vector_entry_point="shopgym.envs.vector:ShopVectorEnv",
            max_episode_steps=GEOMETRIC_CAP * DEFAULT_HORIZON if geometric else DEFAULT_HORIZON,
            kwargs={"task": task},
        )
    for env_id in RETIRED_IDS:
        if env_id not in registry:
            register(id=env_id, entry_point=partial(retired, env_id), vector_entry_point=partial(retired, env_id))

"""Simulator throughput, measured the same way by ``shopgym bench`` and ``benchmarks/bench_core.py``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import shopgym  # noqa: F401  (registers the ids)

__all__ = ["rate", "stepper", "vector_throughput"]


def rate(step: Callable[[], None], n_per_step: int, min_seconds: float) -> float:
    """Steps per second of ``step()`` (three warm-up calls first), timed over at least ``min_seconds``."""
    for _ in range(3):
        step()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls < 3:
        step()
        calls += 1
    return calls * n_per_step / elapsed


def stepper(env: Any, actions: list, reset_when_done: bool) -> Callable[[], None]:
    """A function that steps ``env`` with the next of ``actions`` (cycling), resetting single envs when done."""
    counter = iter(range(10**12))

    def step() -> None:
        _, _, terminated, truncated, _ = env.step(actions[next(counter) % len(actions)])
        if reset_when_done and (terminated or truncated):
            env.reset()

    return step


def vector_throughput(env_id: str, num_envs: int, seconds: float, mode: str = "vector_entry_point") -> float:
    """Shopper-steps per second of ``gym.make_vec(env_id, num_envs)`` with random valid actions; ``mode`` is
    ``vector_entry_point`` (the batched core) or ``sync`` (a SyncVectorEnv of single envs)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    batches = [envs.action_space.sample() for _ in range(16)]
    try:
        return rate(stepper(envs, batches, reset_when_done=False), num_envs, seconds)
    finally:
        envs.close()

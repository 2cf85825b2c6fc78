"""What a command line asks of the SB3 agents, checkable before torch is imported (importing it takes about a
second): the algorithm names and the torch device.

:func:`resolve_device` is the one place that turns ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` into the device an
agent runs on; asking for CUDA where there is none is an error, not a silent fall-back to the CPU.
"""

from __future__ import annotations

import functools
import logging
import re

from shopgym.params import ParameterError

__all__ = ["ALGORITHM_NAMES", "DEVICES", "parse_device", "resolve_device"]

#: The SB3 algorithms ``shopgym.agents.sb3_agents.ALGORITHMS`` builds, by name.
ALGORITHM_NAMES = ("ppo", "dqn", "a2c", "recurrentppo")
#: The device names :func:`parse_device` accepts, as a user reads them.
DEVICES = "auto, cpu, cuda or cuda:N"

log = logging.getLogger("shopgym")


def parse_device(name: str) -> str:
    """``name`` if it names a device (``auto``, ``cpu``, ``cuda``, ``cuda:N``), else :class:`ParameterError`.
    Whether the device exists here is :func:`resolve_device`'s question."""
    if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", name):
        raise ParameterError(f"device = {name!r}; allowed: {DEVICES}")
    return name


@functools.cache  # once per process: CUDA does not come or go while it runs, and auto's choice is logged once
def resolve_device(name: str) -> str:
    """The torch device for ``name``: ``auto`` is ``cuda`` where a CUDA device is visible, else ``cpu`` (the
    choice is logged); ``cuda`` or ``cuda:N`` where that device is missing is a :class:`ParameterError`."""
    parse_device(name)
    if name == "cpu":
        return name
    import torch  # here, so that checking a command line does not pay for importing it

    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if name == "auto":
        chosen = "cuda" if available else "cpu"
        log.info("device auto: %s (%d CUDA device%s visible)", chosen, available, "" if available == 1 else "s")
        return chosen
    index = int(name.partition(":")[2] or 0)
    if index >= available:
        found = f"{available} CUDA device{'' if available == 1 else 's'}" if available else "no CUDA device"
        build = "" if torch.version.cuda else f" (torch {torch.__version__} is built without CUDA)"
        raise ParameterError(f"device = {name!r}, but this machine has {found}{build}; use 'cpu' or 'auto'")
    return name

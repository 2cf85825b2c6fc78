"""What the sections of the results page share: the project's targets, a fixed policy's evaluation as a cell, and
how it is printed."""

from __future__ import annotations

from shopgym.agents.evaluation import Evaluation
from shopgym.experiments.configs import CONFIG_DIR, TargetsConfig, load_config
from shopgym.experiments.stats import format_interval, half_width, shopper_summary

#: The project's acceptance targets (``experiments/configs/targets.yml``).
TARGETS: TargetsConfig = load_config(CONFIG_DIR / "targets.yml", TargetsConfig)


def over_shoppers(result: Evaluation) -> dict[str, float]:
    """The mean return of an evaluation and the half-width of its 95 % interval over the shoppers (cached form)."""
    return {"mean": result.mean_return, "half_width": half_width(result.returns)}


def shopper_interval(cached: dict[str, float], n_shoppers: int, digits: int = 1) -> str:
    """A cached :func:`over_shoppers` as the page prints it: mean [95 % CI over the shoppers]."""
    return format_interval(shopper_summary([cached["mean"]], [cached["half_width"]], n_shoppers), digits)

"""What the sections of the results page share: the project's targets, the markets a cell is computed on as part
of its key, a fixed policy's evaluation as a cell, and how it is printed."""

from __future__ import annotations

from shopgym.agents.evaluation import Evaluation
from shopgym.experiments.configs import CONFIG_DIR, TargetsConfig, load_config
from shopgym.experiments.runs import slug
from shopgym.experiments.stats import format_interval, half_width, shopper_summary
from shopgym.scenarios import content_digest, scenario_digest

#: The project's acceptance targets (``experiments/configs/targets.yml``).
TARGETS: TargetsConfig = load_config(CONFIG_DIR / "targets.yml", TargetsConfig)


def over_shoppers(result: Evaluation) -> dict[str, float]:
    """The mean return of an evaluation and the half-width of its 95 % interval over the shoppers (cached form)."""
    return {"mean": result.mean_return, "half_width": half_width(result.returns)}


def shopper_interval(cached: dict[str, float], n_shoppers: int, digits: int = 1) -> str:
    """A cached :func:`over_shoppers` as the page prints it: mean [95 % CI over the shoppers]."""
    return format_interval(shopper_summary([cached["mean"]], [cached["half_width"]], n_shoppers), digits)


def market(*presets: str) -> str:
    """The part of a cell key that names the markets (presets) the cell is computed on, with their content today:
    ``<name>.<first 12 hex digits of its sha256>`` for one, ``markets.<…of the sha256 of their sha256s>`` for
    several. A cell made on a market that has changed since (a preset recalibrated or edited) is thus another key:
    computed afresh, never read back as today's (cells from before markets were in their keys are not read)."""
    digests = {name: scenario_digest(name) for name in presets}
    if len(digests) == 1:
        return f"{slug(presets[0])}.{digests[presets[0]][:12]}"
    return f"markets.{content_digest(digests)[:12]}"

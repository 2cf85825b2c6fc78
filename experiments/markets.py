"""The markets a config names, fingerprinted: a run folder records them (``run.json``'s ``scenarios``), so a run
or a cached result whose preset or scenario file has changed since (been recalibrated, edited) is refused
(:meth:`~shopgym.experiments.runs.RunDirectory.check_scenarios`) rather than taken for current."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from shopgym.experiments.configs import ScenarioRef
from shopgym.scenarios import resolve_scenario, scenario_digest

__all__ = ["scenario_digests"]

#: The validator that marks a :data:`~shopgym.experiments.configs.ScenarioRef` field.
_MARK = typing.get_args(ScenarioRef)[1].func


def _names_scenarios(field: Any) -> bool:
    """Whether a config field holds ``ScenarioRef`` s (one, an optional one or a list of them)."""

    def marked(annotation: Any) -> bool:
        args = typing.get_args(annotation)
        return any(getattr(arg, "func", None) is _MARK or marked(arg) for arg in args)

    return any(getattr(m, "func", None) is _MARK for m in field.metadata) or marked(field.annotation)


def _scenario_refs(config: BaseModel) -> list[str | dict[str, Any]]:
    """Every scenario reference of ``config``: its ``ScenarioRef`` fields and those of the models it holds."""
    refs: list[str | dict[str, Any]] = []
    for name, field in type(config).model_fields.items():
        value = getattr(config, name)
        items = value if isinstance(value, list) else [value]
        if _names_scenarios(field):
            refs += [item for item in items if item is not None]
        else:
            for item in items:
                if isinstance(item, BaseModel):
                    refs += _scenario_refs(item)
    return refs


def scenario_digests(config: BaseModel) -> dict[str, str]:
    """The market of every scenario reference in ``config`` (a suite's or run's config) as it is today: reference
    (a preset name or YAML path as the config holds it; an inline mapping as compact JSON) → the sha256 of the
    scenario it resolves to (:func:`~shopgym.scenarios.scenario_digest`); and the presets its drift switches or
    shifts to, by name. A run folder records it, so a run or a cached result whose preset or file has changed since
    (been recalibrated, edited) is not taken for current."""
    digests: dict[str, str] = {}
    for ref in _scenario_refs(config):
        key = ref if isinstance(ref, str) else json.dumps(ref, sort_keys=True, separators=(",", ":"))
        digests[key] = scenario_digest(ref)
        for target in (getattr(spec, "to", None) for spec in resolve_scenario(ref).drift):
            if target is not None:
                digests.setdefault(target, scenario_digest(target))
    return digests

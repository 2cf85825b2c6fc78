"""Checks shared by the ``shopgym`` subcommands: bad input becomes one line ``shopgym: error: …`` and status 2."""

from __future__ import annotations

import typer

from shopgym.experiments.configs import unknown_choice
from shopgym.scenarios import list_scenarios


def fail(message: str) -> None:
    """Print ``shopgym: error: message`` on stderr and exit with status 2."""
    typer.echo(f"shopgym: error: {message}", err=True)
    raise typer.Exit(code=2)


def at_least(minimum: int, **values: int | None) -> None:
    """Fail naming the flag of any value (keyword = flag name with _ for -) below ``minimum``; None is allowed."""
    for name, value in values.items():
        if value is not None and value < minimum:
            fail(f"--{name.replace('_', '-')} must be ≥ {minimum}, got {value}")


def positive(**values: int | None) -> None:
    """Fail naming the flag of any value below 1."""
    at_least(1, **values)


def known_scenario(value: str) -> str:
    """A ``--scenario``: a preset name or a YAML path (read later); another name gets the closest preset."""
    if value not in list_scenarios() and not value.endswith((".yml", ".yaml")):
        fail(unknown_choice("scenario", value, list_scenarios()))
    return value

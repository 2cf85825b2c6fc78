"""Flags and checks shared by the ``shopgym`` subcommands: options derived from a config model's fields (name,
type, default and help declared once, in the model), and bad input as one line ``shopgym: error: …`` with
status 2."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from rich.markup import escape

from shopgym.experiments.configs import unknown_choice
from shopgym.scenarios import list_scenarios

#: The types a flag's value (or each of its values) can have.
_SCALARS = (bool, int, float, str)
#: A bound a field refuses a value for (pydantic's error type) and how a flag's error writes it.
_BOUNDS = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}


def fail(message: str) -> None:
    """Print ``shopgym: error: message`` on stderr and exit with status 2."""
    typer.echo(f"shopgym: error: {message}", err=True)
    raise typer.Exit(code=2)


def known_scenario(value: str) -> str:
    """A ``--scenario``: a preset name or a YAML path (read later); another name gets the closest preset."""
    if value not in list_scenarios() and not value.endswith((".yml", ".yaml")):
        fail(unknown_choice("scenario", value, list_scenarios()))
    return value


def _leaves(annotation: Any) -> set[Any]:
    """The plain types a field's annotation is made of (inside ``Annotated`` and unions)."""
    if get_origin(annotation) is Annotated:
        return _leaves(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return set().union(*(_leaves(member) for member in get_args(annotation)))
    return {get_origin(annotation) or annotation}


def _flag_type(name: str, field: FieldInfo) -> Any:
    """What a command line gives for ``field``: its one scalar type, a list of one (the flag given once per
    item), else text (a scenario: a name or a path)."""
    if get_origin(field.annotation) is list:
        items = _leaves(get_args(field.annotation)[0])
        if len(items) == 1 and next(iter(items)) in _SCALARS:
            return list[next(iter(items))]
    leaves = _leaves(field.annotation) - {type(None)}
    if len(leaves) == 1 and next(iter(leaves)) in _SCALARS:
        return next(iter(leaves))
    if str in leaves:
        return str
    raise TypeError(f"config field {name!r} ({field.annotation}) cannot be a flag: leave it out of the command")


def model_options(
    model: type[BaseModel],
    fields: tuple[str, ...] | None = None,
    *,
    exclude: tuple[str, ...] = (),
    override: bool = False,
    helps: dict[str, str] | None = None,
) -> list[inspect.Parameter]:
    """The flags of ``model``'s ``fields`` (default: all but ``exclude``) as keyword parameters for typer: each
    field's type, its default (so ``--help`` shows it) and its description as help, or ``helps[name]`` where a
    command line takes less than the model does. With ``override`` a flag defaults to None (not given: the
    config's value stands) and its help says it overrides."""
    options = []
    for name in fields or [f for f in model.model_fields if f not in exclude]:
        field = model.model_fields[name]
        kind, default = _flag_type(name, field), field.get_default(call_default_factory=True)
        help_text = (helps or {}).get(name) or field.description
        if override:
            kind, default, help_text = kind | None, None, f"override: {help_text}"
        # typer renders help as rich markup, which would swallow a "[…]" in a description
        annotation = Annotated[kind, typer.Option(help=escape(help_text) if help_text else help_text)]
        options.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return options


def with_options(*options: inspect.Parameter) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the flags ``options`` (:func:`model_options`), after its positional parameters and before
    its keyword-only ones; it receives their values in its ``**kwargs``."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True).parameters.values()
        lead = [p for p in own if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        rest = [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY]
        command.__signature__ = inspect.Signature([*lead, *options, *rest])  # what typer reads the flags from
        return command

    return decorate


def _flag_error(error: dict[str, Any]) -> str:
    """A field's validation error as the flag's: its bound, or the validator's own message."""
    flag = f"--{str(error['loc'][0]).replace('_', '-')}"
    if error["type"] in _BOUNDS:
        bound = next(iter(error["ctx"].values()))
        return f"{flag} must be {_BOUNDS[error['type']]} {bound}, got {error['input']}"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return f"{flag} = {error['input']!r}: {error['msg']}"


def parse_flags(model: type[BaseModel], flags: dict[str, Any]) -> Any:
    """``flags`` (values by field name) validated as ``model``, the other fields at their defaults; a value it
    refuses fails naming the flag (``--seed must be ≥ 0, got -5``, or the field validator's message). None where
    the model needs more than flags give (a required field, a rule across fields): then the flags are only checked,
    and the config that holds them is validated where it is read."""
    try:
        return model.model_validate(flags)
    except ValidationError as error:
        for detail in error.errors():
            if detail["loc"] and detail["loc"][0] in flags:
                fail(_flag_error(detail))
    return None

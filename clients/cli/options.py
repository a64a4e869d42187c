"""The options every command shares, declared once.

- Connection options (`--url`, `--api-key`, `--timeout`, `--max-retries`): accepted before the
  command (`triserve --url U compare ...`) and after it (`triserve compare --url U ...`); the one
  after the command wins.
- Generation options (`--temperature`, `--top-p`, ...): read off the wire model
  `serve.api.protocol.GenerationParams`, so their names, bounds and help are the server's own
  (declared in serve/api/params.py), never restated here.

    @app.command()
    @connection_options
    @generation_options("max_new_tokens", "temperature")
    def compare(ctx: typer.Context, prompt: str, params: GenerationParams): ...

A decorated command takes `params` (a validated `GenerationParams`) in place of the options,
and finds the merged connection settings in `ctx.obj`.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import annotated_types
import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from clients._core import DEFAULT_URL
from clients.client import Client
from serve.api.protocol import GenerationParams

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class Settings:
    """Where the commands send their requests, and how patiently."""

    url: str | None = None
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def server(self) -> str:
        """The base URL the client will use (the option, TRISERVE_URL, or the default)."""
        return (self.url or os.environ.get("TRISERVE_URL") or DEFAULT_URL).rstrip("/")

    def client(self) -> Client:
        """An SDK client with these settings."""
        return Client(self.url, api_key=self.api_key, timeout=self.timeout,
                      max_retries=self.max_retries)


# ---- adding options to a command ----------------------------------------------------------------


def add_options(extra: dict[str, Any], apply: Callable[[dict, dict, Any], None],
                replaces: tuple[str, ...] = ()):
    """A decorator adding keyword options to a typer command: `extra` maps each new parameter's
    name to its `Annotated[type, typer.Option(...)]` (default None). Before the command runs,
    `apply(values, kwargs, ctx)` turns their values into the command's own arguments (`ctx`: the
    command's `typer.Context` parameter, or None); the parameters named in `replaces` are filled
    that way and hidden from the command line."""

    def wrap(fn):
        sig = inspect.signature(fn, eval_str=True)
        kept = [p for p in sig.parameters.values() if p.name not in replaces]
        ctx_name = next((p.name for p in kept if p.annotation is typer.Context), None)
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                   annotation=annotation) for name, annotation in extra.items()]

        @functools.wraps(fn)
        def command(*args, **kwargs):
            values = {name: kwargs.pop(name, None) for name in extra}
            apply(values, kwargs, kwargs.get(ctx_name))
            return fn(*args, **kwargs)

        # typer reads the signature (and the annotations) of what it is given.
        command.__signature__ = sig.replace(parameters=kept + added)
        command.__annotations__ = {p.name: p.annotation for p in kept + added
                                   if p.annotation is not inspect.Parameter.empty}
        return command

    return wrap


# ---- connection ---------------------------------------------------------------------------------

URL_HELP = "Server base URL."
API_KEY_HELP = "API key, sent as a Bearer token."
TIMEOUT_HELP = "Seconds to wait for an answer."
RETRIES_HELP = "Retries on 408/429/5xx and lost connections."
_CONNECTION = {
    "url": Annotated[str | None, typer.Option("--url", help=URL_HELP, show_default=False)],
    "api_key": Annotated[str | None, typer.Option(
        "--api-key", help=API_KEY_HELP, show_default=False)],
    "timeout": Annotated[float | None, typer.Option(
        "--timeout", help=TIMEOUT_HELP, show_default=False)],
    "max_retries": Annotated[int | None, typer.Option(
        "--max-retries", min=0, help=RETRIES_HELP, show_default=False)],
}


def _merge_connection(values: dict, kwargs: dict, ctx) -> None:
    given = {k: v for k, v in values.items() if v is not None}
    ctx.obj = replace(ctx.obj or Settings(), **given)


connection_options = add_options(_CONNECTION, _merge_connection)
connection_options.__doc__ = """Lets a command take --url, --api-key, --timeout and --max-retries
after its name too; the merged settings are in `ctx.obj` (the command needs a `ctx` parameter)."""


# ---- generation parameters ----------------------------------------------------------------------

# Flags whose spelling is the CLI's own; every other option is `--` + the field's name.
FLAGS = {
    "max_new_tokens": ("--max-new-tokens", "-m"),
    "temperature": ("--temperature", "-t"),
    "enable_thinking": ("--think/--no-think",),
}
_BOUNDS = ((annotated_types.Ge, "ge", "≥"), (annotated_types.Gt, "gt", ">"),
           (annotated_types.Le, "le", "≤"), (annotated_types.Lt, "lt", "<"))


@dataclass(frozen=True)
class FieldSpec:
    """A `GenerationParams` field as a command line sees it."""

    name: str
    type: Any  # int, float, bool or list[str]
    description: str
    bounds: dict[str, float]  # ge / gt / le / lt

    def help(self, shown: tuple[str, ...] = ()) -> str:
        """The description, with the bounds not in `shown` (those the option's range shows)."""
        marks = dict((key, sign) for _, key, sign in _BOUNDS)
        limits = ", ".join(f"x {marks[k]} {v:g}" for k, v in self.bounds.items() if k not in shown)
        return f"{self.description} ({limits})" if limits else self.description


def field_spec(name: str) -> FieldSpec:
    """Type, description and bounds of `GenerationParams.<name>`, read from its declaration
    (the metadata may sit on the field or inside its `Annotated[...] | None`)."""
    field = GenerationParams.model_fields[name]
    infos = [field, *_infos(field.annotation)]
    description = next((i.description for i in infos if i.description), name.replace("_", " "))
    bounds = {key: getattr(m, key) for info in infos for m in info.metadata
              for kind, key, _ in _BOUNDS if isinstance(m, kind)}
    return FieldSpec(name, _plain(field.annotation), description, bounds)


def _infos(tp) -> list[FieldInfo]:
    """The FieldInfos of the outer Annotated layers of `tp` (through `X | None`)."""
    if typing.get_origin(tp) is Annotated:
        return [m for m in tp.__metadata__ if isinstance(m, FieldInfo)] + _infos(tp.__origin__)
    if _is_union(tp):
        return [i for arg in typing.get_args(tp) if arg is not type(None) for i in _infos(arg)]
    return []


def _plain(tp):
    """`tp` without its Annotated layers and None: what typer converts the option to."""
    if typing.get_origin(tp) is Annotated:
        return _plain(tp.__origin__)
    if _is_union(tp):
        (arg,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _plain(arg)
    if typing.get_origin(tp) is list:
        return list[_plain(typing.get_args(tp)[0])]
    return tp


def _is_union(tp) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def generation_option(name: str):
    """The typer option of one `GenerationParams` field: flag, type, help and range from it."""
    spec = field_spec(name)
    decls = FLAGS.get(name, ("--" + name.replace("_", "-"),))
    limits: dict[str, Any] = {}
    if spec.type in (int, float):
        # Inclusive bounds become click's range (shown in --help); exclusive ones are checked
        # by the model, whose message names the field.
        limits = {k: spec.bounds[b] for k, b in (("min", "ge"), ("max", "le")) if b in spec.bounds}
    shown = tuple(b for b in ("ge", "le") if limits and b in spec.bounds)
    hint = " (repeatable)" if typing.get_origin(spec.type) is list else ""
    return Annotated[spec.type | None, typer.Option(
        *decls, help=spec.help(shown) + hint, show_default=False, **limits)]


def build_params(values: dict) -> GenerationParams:
    """A `GenerationParams` of the options given; a value out of bounds is a usage error that
    names the field."""
    try:
        return GenerationParams(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def generation_options(*names: str):
    """A decorator giving a command the options of these `GenerationParams` fields; the command
    receives them as one validated `params: GenerationParams`."""

    def apply(values: dict, kwargs: dict, ctx) -> None:
        kwargs["params"] = build_params(values)

    return add_options({n: generation_option(n) for n in names}, apply, replaces=("params",))


# What compare and chat offer: every sampling parameter a terminal user can type.
SAMPLING = ("max_new_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty",
            "presence_penalty", "frequency_penalty", "min_tokens", "stop", "seed",
            "enable_thinking", "max_thinking_tokens")

"""The config reference table of docs/configuration.md, made from the config models' field
descriptions (`tools/update_config_reference.py` writes it there)."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from serve.config import AppConfig


def rows(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        if field.default is PydanticUndefined and field.default_factory is None:
            default = "required"
        elif field.default_factory is not None:
            default = "see below" if _nested(field.annotation) else f"`{field.default_factory()!r}`"
        else:
            default = f"`{field.default!r}`"
        yield f"| `{prefix}{name}` | {default} | {field.description} |"
        if _nested(field.annotation):
            yield from rows(field.annotation, f"{prefix}{name}.")
        elif name == "roles":
            from serve.config import RoleConfig

            yield from rows(RoleConfig, "roles.<role>.")


def _nested(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def table() -> str:
    return "\n".join(["| field | default | meaning |", "|---|---|---|", *rows(AppConfig)])


"""Declared checks on an answer, in the manner of promptfoo's assertions.

A check is `{type, value?, threshold?, min_count?, description?}` in the probes file; any type
may be negated with a `not-` prefix (`not-contains`, `not-runaway`). Types:

| type            | passes when the answer …                                          |
|-----------------|-------------------------------------------------------------------|
| equals          | is `value` (whitespace trimmed)                                   |
| starts-with     | starts with `value` (leading whitespace ignored)                  |
| contains        | contains `value`                                                  |
| icontains       | contains `value`, ignoring case                                   |
| contains-any    | contains one of the strings in `value`                            |
| contains-all    | contains every string in `value`                                  |
| regex           | matches the regex `value` at least `min_count` times (default 1)  |
| max-sentences   | has at most `value` sentences                                     |
| asks-question   | asks something back (question mark or a clarifying phrase)        |
| copies-input    | shares more than `threshold` (0.6) of its 6-grams with the input  |
| runaway         | runs on into chat-role markers (`user`/`assistant` lines)         |
| max-repetition  | repeats at most `value` of its 4-grams                            |

    >>> Check(type="starts-with", value="结论：").passes("结论：今天很好。", Context())
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clients.study import measures


@dataclass
class Context:
    """What a check may look at beyond the answer: the probe's input text."""

    input: str = ""


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


_CHECKS: dict[str, Callable[[str, Check, Context], bool]] = {
    "equals": lambda text, c, ctx: text.strip() == str(c.value).strip(),
    "starts-with": lambda text, c, ctx: text.lstrip().startswith(str(c.value)),
    "contains": lambda text, c, ctx: str(c.value) in text,
    "icontains": lambda text, c, ctx: str(c.value).lower() in text.lower(),
    "contains-any": lambda text, c, ctx: any(v in text for v in _strings(c.value)),
    "contains-all": lambda text, c, ctx: all(v in text for v in _strings(c.value)),
    "regex": lambda text, c, ctx: len(re.findall(str(c.value), text)) >= (c.min_count or 1),
    "max-sentences": lambda text, c, ctx: measures.sentences(text) <= int(c.value),
    "asks-question": lambda text, c, ctx: measures.asks_question(text),
    "copies-input": lambda text, c, ctx: measures.copy_ratio(text, ctx.input)
    > (0.6 if c.threshold is None else c.threshold),
    "runaway": lambda text, c, ctx: measures.runaway_markers(text) > 0,
    "max-repetition": lambda text, c, ctx: measures.repetition(text) <= float(c.value),
}
_NEEDS_VALUE = {"equals", "starts-with", "contains", "icontains", "contains-any", "contains-all",
                "regex", "max-sentences", "max-repetition"}


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A check type, optionally prefixed with `not-`.")
    value: Any = Field(None, description="What the check compares with.")
    threshold: float | None = Field(None, ge=0, le=1, description="copies-input: the limit.")
    min_count: int | None = Field(None, ge=1, description="regex: matches needed.")
    description: str | None = Field(None, description="Shown in the report instead of the type.")

    @property
    def negated(self) -> bool:
        return self.type.startswith("not-")

    @property
    def base_type(self) -> str:
        return self.type.removeprefix("not-")

    @model_validator(mode="after")
    def _known(self):
        if self.base_type not in _CHECKS:
            raise ValueError(f"unknown check type {self.type!r}; known: {', '.join(_CHECKS)}")
        if self.base_type in _NEEDS_VALUE and self.value is None:
            raise ValueError(f"check {self.type!r} needs a value")
        if self.base_type == "regex":
            try:
                re.compile(str(self.value))  # a bad pattern fails when the file loads
            except re.error as exc:
                raise ValueError(f"bad regex {self.value!r}: {exc}") from None
        return self

    def passes(self, text: str, ctx: Context) -> bool:
        return _CHECKS[self.base_type](text, self, ctx) != self.negated

    @property
    def label(self) -> str:
        if self.description:
            return self.description
        if self.value is None:
            return self.type
        shown = ", ".join(_strings(self.value)) if isinstance(self.value, list) else self.value
        return f"{self.type} {shown}"

"""The probes file: prompts with their declared checks (see `probes.yaml` beside this module).

    >>> probes = load_probes()                       # the study's five probes
    >>> probes = load_probes("my_probes.yaml")       # or your own
    >>> probes[1].text                               # the prompt with {{input}} filled in
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clients.study.checks import Check, Context


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Short name, used in reports.")
    title: str = Field(description="One line for the report.")
    label: str | None = Field(
        None, description="A few words for the comparison page's probe button (default: title).")
    prompt: str = Field(min_length=1, description="Sent to every role; may hold {{input}}.")
    input: str | None = Field(None, description="Text put in place of {{input}}.")
    system: str | None = Field(None, description="A system prompt (default: each role's own).")
    what: str | None = Field(None, description="What the probe shows, for the report.")
    rubric: str | None = Field(
        None, description="What a good answer does, for the judge (`triserve study --judge`); "
        "without one the judge is told to prefer the more helpful, correct and relevant answer.")
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _input_placed(self):
        if self.input is not None and "{{input}}" not in self.prompt:
            raise ValueError("`input` is given but the prompt has no {{input}}")
        return self

    @property
    def text(self) -> str:
        return self.prompt.replace("{{input}}", self.input or "")

    @property
    def button(self) -> dict[str, str]:
        """The page's probe button: {"id", "label", "prompt"} (the prompt as sent, input filled)."""
        return {"id": self.id, "label": self.label or self.title, "prompt": self.text}

    @property
    def instruction(self) -> str:
        """The prompt without its `input`: what an answer responds to (continuation.py)."""
        return self.prompt.replace("{{input}}", "")

    @property
    def context(self) -> Context:
        return Context(input=self.input or "")


class ProbeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probes: list[Probe] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        ids = [p.id for p in self.probes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"probe ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


class ProbeFileError(ValueError):
    pass


def load_probes(path: str | Path | None = None) -> list[Probe]:
    """The probes of a YAML file; the study's own when `path` is None."""
    if path is None:
        text = resources.files("clients.study").joinpath("probes.yaml").read_text("utf-8")
        where = "the built-in probes"
    else:
        text = Path(path).read_text("utf-8")
        where = str(path)
    try:
        return ProbeFile.model_validate(yaml.safe_load(text)).probes
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProbeFileError(f"{where}: {exc}") from exc

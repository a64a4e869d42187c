"""What every config model shares: unknown keys fail (`extra="forbid"`), naming the field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Validation context key: check vLLM engine argument names against vLLM's own (`build_app` sets
# it; the replicas, which validate the same config again, need not import vLLM to do so).
CHECK_ENGINE_ARGS = "check_engine_args"


class StrictConfig(BaseModel):
    """A config section: a misspelt key fails `build_app` with a message that names it."""

    model_config = ConfigDict(extra="forbid")

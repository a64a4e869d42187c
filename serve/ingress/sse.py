"""Server-sent event frames, always built from a model's JSON (never by formatting JSON text)."""

from pydantic import BaseModel

DONE = "data: [DONE]\n\n"


def sse(model: BaseModel, exclude_none: bool = True) -> str:
    return "data: " + model.model_dump_json(exclude_none=exclude_none) + "\n\n"

# Headers of every SSE response: no caching, no proxy buffering (nginx honours x-accel-buffering).
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

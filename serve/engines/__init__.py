"""Engines behind the seam in `serve/engines/base.py`, one registry entry per `engine` setting.

Each engine module is imported only when a role asks for it, so a replica of an `hf` role never
imports vLLM and the ingress imports neither torch nor vLLM.
"""

from __future__ import annotations

from importlib import import_module

from serve.config import RoleConfig
from serve.engines.base import Engine

# engine setting → "module:class"
ENGINES = {
    "hf": "serve.engines.hf.engine:HFEngine",
    "vllm": "serve.engines.vllm.engine:VLLMEngine",
    "scripted": "serve.engines.scripted:ScriptedEngine",
}


def build_engine(config: RoleConfig) -> Engine:
    """The engine a role's `engine` setting names, not started yet."""
    module, name = ENGINES[config.engine].split(":")
    return getattr(import_module(module), name)(config)

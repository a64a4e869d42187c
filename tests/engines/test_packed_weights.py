"""Our loop's linear layers packed for oneDNN (serve/engines/hf/packed.py): what is replaced,
that the products agree with nn.Linear, when nothing is packed, and the role's switch."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModelForCausalLM

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.engines.hf import packed
from serve.engines.hf.engine import HFEngine
from serve.engines.hf.packed import PackedLinear, pack_linears
from serve.generation import GenerationRequest


def _linears(model: nn.Module) -> tuple[int, int]:
    kinds = [type(m) for m in model.modules()]
    return kinds.count(nn.Linear), kinds.count(PackedLinear)


def _logits(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=ids).logits


def test_every_linear_layer_is_packed_and_the_logits_agree(tiny_dirs):
    model = AutoModelForCausalLM.from_pretrained(tiny_dirs["qwen2"], dtype=torch.float32).eval()
    ids = torch.randint(0, model.config.vocab_size, (3, 17),
                        generator=torch.Generator().manual_seed(1))
    want = _logits(model, ids)
    before, _ = _linears(model)
    assert pack_linears(model) == before > 0
    assert _linears(model) == (0, before)
    got = _logits(model, ids)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    # The embedding the output layer was tied to is still the model's own.
    assert model.get_input_embeddings().weight.shape[0] == model.config.vocab_size


def test_bfloat16_and_disagreeing_products_leave_the_model_as_loaded(tiny_dirs, monkeypatch):
    model = AutoModelForCausalLM.from_pretrained(tiny_dirs["qwen2"], dtype=torch.bfloat16)
    assert pack_linears(model) == 0 and _linears(model)[1] == 0

    model = AutoModelForCausalLM.from_pretrained(tiny_dirs["qwen2"], dtype=torch.float32)
    # A kernel that computes something else: the check on the first layer refuses it.
    real = PackedLinear.forward
    monkeypatch.setattr(PackedLinear, "forward", lambda self, x: real(self, x) + 1e-2)
    assert pack_linears(model) == 0
    assert _linears(model)[1] == 0
    monkeypatch.setattr(packed, "_CHECK_RTOL", 1.0)  # the same kernel, allowed: packed
    assert pack_linears(model) > 0


def _engine(path, **extra) -> HFEngine:
    engine = HFEngine(RoleConfig.model_validate(
        {"model": {"source": "local", "path": str(path)}, "torch_threads": 1, "dtype": "float32",
         "defaults": {"max_new_tokens": 12, "temperature": 0.0}, **extra}))
    engine.load()
    return engine


def _answer(engine: HFEngine) -> list[int]:
    req = engine.prepare(GenerationRequest(request_id="p", prompt="Which is larger, 9.11 or 9.8?",
                                           params=GenerationParams()))
    for step in engine.steps([req]):
        if step[0] is not None and step[0].finish_reason:
            return engine.tokenizer(step[0].response)["input_ids"]


def test_the_role_packs_by_default_and_packed_weights_false_keeps_nn_linear(tiny_dirs):
    on, off = _engine(tiny_dirs["qwen2"]), _engine(tiny_dirs["qwen2"], packed_weights=False)
    assert _linears(on.model)[0] == 0 and _linears(on.model)[1] > 0
    assert _linears(off.model)[1] == 0
    assert on.vocab_size == off.vocab_size
    # What the replica's start line says (serve/replica/deployment.py).
    packed = _linears(on.model)[1]
    assert on.loaded_as() == f"float32 on cpu, {packed} linear layers packed for oneDNN"
    assert off.loaded_as() == "float32 on cpu"
    assert _answer(on) == _answer(off)

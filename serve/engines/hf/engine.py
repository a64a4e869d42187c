"""The real engine: a transformers causal LM decoded step by step in a left-padded batch.

Why not `model.generate`: it applies one set of sampling parameters to the whole batch and
returns only when the longest request is done. Here each row samples with its own parameters
and seed (sampling.py), requests join the running batch at the next step, and a row that
finishes (EOS, stop string, its own `max_new_tokens`) leaves it at once, its KV cache rows
dropped, so it is answered without waiting for the others (batcher.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Iterator

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from serve.engines.base import Engine
from serve.engines.hf.batcher import ContinuousBatcher
from serve.engines.hf.model import LoadedModel
from serve.engines.hf.packed import pack_linears
from serve.engines.prompts import PromptBuilder
from serve.engines.reasoning import forced_end_ids
from serve.engines.sources import (LocalModel, converted_dir, load_gguf, one_converter, resolve,
                                   save_converted)
from serve.engines.text import prompt_logprobs
from serve.generation import Chunk, GenerationRequest, PreparedRequest, TokenLogprob

logger = logging.getLogger("triserve.engine")

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFEngine(Engine):
    """Our continuous-batching decode loop over a transformers causal LM (portable: CPU or GPU).

    `start` loads the model (a GGUF file is dequantised once and its safetensors copy kept);
    `adopt` serves a model built elsewhere. Raises from `start` when the files are missing."""

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    def load(self) -> None:
        """`start` without an event loop (benchmarks, tests)."""
        path, gguf_file = self._local_files()
        model = None
        if gguf_file:
            local = LocalModel(path, gguf_file)
            target = converted_dir(local, self.config.model)
            with one_converter(target):  # a role starting beside this one may be converting it
                if (target / "config.json").is_file():
                    path = str(target)
                else:  # float32 as loaded; `adopt` casts to the role's dtype
                    model, tokenizer = load_gguf(local)
                    save_converted(model, tokenizer, target)
        if model is None:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=self._dtype(self._device()))
        self.adopt(model, tokenizer)
        logger.info("loaded %s: %s", self.model_id, self.loaded_as())

    def adopt(self, model, tokenizer) -> None:
        """Serve an already built model (what `start` loads; benchmarks pass random-weight ones).

        Example::

            engine = HFEngine(RoleConfig.model_validate({"model": {"source": "local", "path": "-"}}))
            engine.adopt(AutoModelForCausalLM.from_config(config), tokenizer)
        """
        if self.config.torch_threads:
            torch.set_num_threads(self.config.torch_threads)
        self.device = self._device()
        self.dtype = self._dtype(self.device)
        self.model = model.to(self.device, self.dtype).eval()
        self.tokenizer = tokenizer
        eos = model.generation_config.eos_token_id
        self.eos_ids = {tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.vocab_size = model.get_output_embeddings().weight.shape[0]
        self.packed_layers = pack_linears(self.model) if self.config.packed_weights else 0
        self.prompts = PromptBuilder(tokenizer, self.config, self.model_id, self.vocab_size)
        self._grammars = None
        self.think_ids = self.prompts.think_ids
        self.forced_end = forced_end_ids(tokenizer)
        self.loaded = LoadedModel(self.model, tokenizer, self.device, self.eos_ids, self.think_ids,
                                  self.forced_end, self.config.torch_threads)
        self.pad_id = self.loaded.pad_id
        batching = self.config.batching
        self.batcher = ContinuousBatcher(
            self.loaded, batching.max_batch_size, join=batching.continuous,
            wait_s=batching.batch_wait_timeout_s)

    def loaded_as(self) -> str:
        """dtype and device, and how many linear layers were packed (serve/engines/hf/packed.py)."""
        dtype = str(self.dtype).removeprefix("torch.")
        held = f"{dtype} on {self.device.type}"
        if self.packed_layers:
            held += f", {self.packed_layers} linear layers packed for oneDNN"
        return held

    def _device(self) -> torch.device:
        want = self.config.device
        cuda = torch.cuda.is_available()
        return torch.device("cuda" if want == "cuda" or (want == "auto" and cuda) else "cpu")

    def _dtype(self, device: torch.device) -> torch.dtype:
        if self.config.dtype == "auto":
            return torch.bfloat16 if device.type == "cuda" else torch.float32
        return _DTYPES[self.config.dtype]

    def _local_files(self) -> tuple[str, str | None]:
        local = resolve(self.config.model)
        if not local.gguf_file:
            return local.path, None
        converted = converted_dir(local, self.config.model)
        if (converted / "config.json").is_file():
            return str(converted), None
        return local.path, local.gguf_file

    # ---- requests ---------------------------------------------------------------------------

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        """The prompt builder's work, and the request's grammar compiled (xgrammar) when it asks
        for JSON; raises `InvalidRequest` for a schema xgrammar refuses."""
        prepared = self.prompts.prepare(req)
        if prepared.sampling.constraint is not None:
            if self._grammars is None:
                from serve.engines.hf.grammar import Grammars

                self._grammars = Grammars(self.tokenizer, self.vocab_size, self.eos_ids)
            prepared.grammar = self._grammars.matcher(prepared.sampling.constraint)
        return prepared

    # ---- decoding ---------------------------------------------------------------------------

    async def stream(self, req: PreparedRequest) -> AsyncIterator[Chunk]:
        """Joins `req` to the running batch at the next decode step (serve/engines/hf/batcher.py)."""
        async for chunk in self.batcher.stream(req):
            yield chunk

    async def prompt_logprobs(self, req: PreparedRequest) -> list[TokenLogprob]:
        """One forward pass over the prompt, in a thread beside the decode loop's
        (`LoadedModel.score`)."""
        scored = await asyncio.to_thread(self.loaded.score, req.prompt_ids,
                                         req.sampling.logprobs or 0)
        return prompt_logprobs(self.tokenizer, req.prompt_ids, scored)

    def steps(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        """The same for a group, synchronously: one list per decode step, as long as `batch`
        (a `Chunk` where a request produced text or finished, else None). For benchmarks and
        tests that drive the loop without an event loop; calls may overlap."""
        return self.batcher.steps(batch)

    def running(self) -> int:
        return self.batcher.running()

    def dead(self) -> str | None:
        return self.batcher.dead

    async def check_health(self) -> None:
        if self.batcher.dead:
            raise RuntimeError(self.batcher.dead)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # surfaces a broken CUDA context

    def shutdown(self) -> None:
        if getattr(self, "batcher", None) is not None:
            self.batcher.stop()
        self.model = None
        if getattr(self, "loaded", None) is not None:
            self.loaded.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

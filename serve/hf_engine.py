"""The real engine: a transformers causal LM decoded step by step in a left-padded batch.

Why not `model.generate`: it applies one set of sampling parameters to the whole batch and
returns only when the longest request is done. Here each row samples with its own parameters
and seed (serve/sampling.py), requests join the running batch at the next step, and a row that
finishes (EOS, stop string, its own `max_new_tokens`) leaves it at once, its KV cache rows
dropped, so it is answered without waiting for the others (serve/continuous.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Iterator

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from serve.continuous import ContinuousBatcher
from serve.engine import Engine, build_messages, resolve_sampling, uses_raw_prompt
from serve.errors import InvalidRequest
from serve.generation import Chunk, GenerationRequest, PreparedRequest
from serve.reasoning import think_token_ids
from serve.sources import converted_dir, resolve

logger = logging.getLogger("triserve.engine")

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFEngine(Engine):
    def start(self) -> None:
        path, gguf_file = self._local_files()
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        # A GGUF file is dequantised to float32 and kept so (the converted copy serves every dtype);
        # `adopt` casts to the role's dtype.
        dtype = torch.float32 if gguf_file else self._dtype(self._device())
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
        if gguf_file:
            self._save_converted(model, tokenizer, path, gguf_file)
        self.adopt(model, tokenizer)
        logger.info("loaded %s on %s (%s)", self.model_id, self.device, self.dtype)

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
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        eos = model.generation_config.eos_token_id
        self.eos_ids = {tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.think_ids = think_token_ids(tokenizer)
        batching = self.config.batching
        self.batcher = ContinuousBatcher(self, batching.max_batch_size, join=batching.continuous)

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

    def _save_converted(self, model, tokenizer, path: str, gguf_file: str) -> None:
        """Keep a safetensors copy of a dequantised GGUF model: the next start loads in a blink."""
        from serve.sources import LocalModel

        target = converted_dir(LocalModel(path, gguf_file), self.config.model)
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
        except Exception as exc:  # an optimisation only: never fail a start over it
            logger.warning("kept no converted copy of %s: %s", gguf_file, exc)
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)

    # ---- requests ---------------------------------------------------------------------------

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        cfg = self.config
        sampling = resolve_sampling(req.params, cfg)
        raw = uses_raw_prompt(req, cfg)
        thinking = cfg.reasoning and sampling.enable_thinking and not raw and None not in self.think_ids
        if raw:
            param = "prompt"
            ids = self.tokenizer(req.prompt, add_special_tokens=True)["input_ids"]
        else:
            param = "messages" if req.messages is not None else "prompt"
            if not self.tokenizer.chat_template:
                raise InvalidRequest(
                    f"model {self.model_id!r} has no chat template; send a raw prompt",
                    param=param,
                )
            extra = {"enable_thinking": sampling.enable_thinking} if cfg.reasoning else {}
            text = self.tokenizer.apply_chat_template(
                build_messages(req, cfg), tokenize=False, add_generation_prompt=True, **extra
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > cfg.max_input_tokens:
            raise InvalidRequest(
                f"the prompt is {len(ids)} tokens; this role accepts at most {cfg.max_input_tokens}",
                param=param,
                code="context_length_exceeded",
            )
        return PreparedRequest(
            request_id=req.request_id,
            prompt_ids=ids,
            sampling=sampling,
            thinking=thinking,
            prompt_opens_thinking=thinking and self._opens_thinking(ids),
        )

    def _opens_thinking(self, ids: list[int]) -> bool:
        start, end = self.think_ids
        tail = ids[-4:]  # the generation prompt's last few tokens: "<think>\n" or "<think>\n\n</think>\n\n"
        return start in tail and end not in tail

    # ---- decoding ---------------------------------------------------------------------------

    def generate(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        """Joins `batch` to the running batch (serve/continuous.py); calls may overlap."""
        return self.batcher.generate(batch)

    def forward(self, ids, mask, positions, cache, **kwargs) -> torch.Tensor:
        """One forward pass; the last position's logits as float32 [rows, vocab]."""
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            **kwargs,
        )
        return out.logits[:, -1, :].float()

    def left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[row, width - len(p) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def check_health(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # surfaces a broken CUDA context

    def shutdown(self) -> None:
        self.batcher.stop()
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

"""The real engine: a transformers causal LM decoded step by step with a left-padded batch.

Why not `model.generate`: it applies one set of sampling parameters to the whole batch and
returns only when the longest request is done. Here each row samples with its own parameters
and seed, and a row that finishes (EOS, stop string, its own `max_new_tokens`) leaves the batch
at once, its KV cache rows dropped, so the others decode faster and it is answered without
waiting for them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Iterator

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from serve.engine import Engine, build_messages, resolve_sampling, uses_raw_prompt
from serve.errors import InvalidRequest
from serve.generation import Chunk, GenerationRequest, PreparedRequest
from serve.reasoning import think_token_ids
from serve.sampling import RowSampler, sample_next
from serve.sequence import SequenceState
from serve.sources import converted_dir, resolve

logger = logging.getLogger("triserve.engine")

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFEngine(Engine):
    def start(self) -> None:
        cfg = self.config
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        cuda = torch.cuda.is_available()
        self.device = torch.device("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and cuda) else "cpu")
        if cfg.dtype == "auto":
            self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        else:
            self.dtype = _DTYPES[cfg.dtype]
        path, gguf_file = self._local_files()
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        self.tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=self.dtype, **kwargs)
        self.model.to(self.device).eval()
        if gguf_file:
            self._save_converted(path, gguf_file)
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = {tok.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.think_ids = think_token_ids(tok)
        logger.info("loaded %s on %s (%s)", self.model_id, self.device, self.dtype)

    def _local_files(self) -> tuple[str, str | None]:
        local = resolve(self.config.model)
        if not local.gguf_file:
            return local.path, None
        converted = converted_dir(local, self.config.model)
        if (converted / "config.json").is_file():
            return str(converted), None
        return local.path, local.gguf_file

    def _save_converted(self, path: str, gguf_file: str) -> None:
        """Keep a safetensors copy of a dequantised GGUF model: the next start loads in a blink."""
        from serve.sources import LocalModel

        target = converted_dir(LocalModel(path, gguf_file), self.config.model)
        tmp = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = tempfile.mkdtemp(dir=target.parent, prefix=".tmp-")
            # The weights were dequantised on load; drop the GGUF marker so they save as plain
            # safetensors.
            self.model.hf_quantizer = None
            self.model.config.__dict__.pop("quantization_config", None)
            self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
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

    @torch.inference_mode()
    def generate(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        states = [SequenceState(r, self.tokenizer, self.think_ids, self.eos_ids) for r in batch]
        samplers = [RowSampler(r.sampling, r.prompt_ids) for r in batch]
        input_ids, mask = self._left_pad([r.prompt_ids for r in batch])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = self._forward(input_ids, mask, positions, cache, logits_to_keep=1)
        next_pos = positions[:, -1] + 1
        active = list(range(len(batch)))  # batch rows still decoding, in cache order
        while active:
            tokens = sample_next(logits, [samplers[i] for i in active])
            out: list[Chunk | None] = [None] * len(batch)
            keep = []
            for j, i in enumerate(active):
                state = states[i]
                out[i] = state.cancel() if batch[i].cancelled.is_set() else state.add(tokens[j])
                if not state.finished:
                    keep.append(j)
            yield out
            if not keep:
                return
            if len(keep) < len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, next_pos = mask[index], next_pos[index]
                active = [active[j] for j in keep]
            step = torch.tensor([[tokens[j]] for j in keep], device=self.device)
            mask = torch.cat([mask, mask.new_ones((len(keep), 1))], dim=1)
            logits = self._forward(step, mask, next_pos[:, None], cache)
            next_pos = next_pos + 1

    def _forward(self, ids, mask, positions, cache, **kwargs) -> torch.Tensor:
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            **kwargs,
        )
        return out.logits[:, -1, :].float()

    def _left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
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
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

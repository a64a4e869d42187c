"""Tiny random Qwen2 / Qwen3 models and a tiny BPE tokenizer, built in a fraction of a second.

Real transformers models (random weights, ~100k parameters) so that tests exercise the real
engine without downloading anything.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from transformers import Qwen3Config, Qwen3ForCausalLM

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]

CHATML = (
    # Tools as Qwen's templates offer them: in a system turn, before the conversation.
    "{%- if tools %}{{ '<|im_start|>system\\nTools: ' + (tools | tojson) + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{%- if THINK %}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{ '<think>\\n\\n</think>\\n\\n' }}{%- else %}{{ '<think>\\n' }}{%- endif %}"
    "{%- endif %}{%- endif %}"
)

CORPUS = (
    "The quick brown fox jumps over the lazy dog. Which is larger, 9.11 or 9.8? "
    "Apples, bananas, oranges and carrots. Please summarise in one sentence. "
    "苹果、香蕉、橘子、胡萝卜。9.11和9.8哪个更大？帮我整理一下那个东西，明天要用。"
    "结论：这是一个测试。你是一个专业的人工智能助手，请简单回答问题。"
    "user assistant system hello world stop STOP end of text. 0123456789 "
)


def build_tokenizer(thinking: bool) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([CORPUS] * 20, trainer=trainer)
    template = CHATML.replace("THINK", "true" if thinking else "false")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL[1:2] + SPECIAL[3:],
        chat_template=template,
    )


def build_model(path: Path, kind: str, seed: int = 0, head_dim: int = 16) -> Path:
    """kind: 'qwen2' (no thinking tags in its template) or 'qwen3' (thinks). `head_dim` (Qwen3
    only): vLLM's CPU attention takes 32 and up, so the models both engines run use 32."""
    tokenizer = build_tokenizer(thinking=kind == "qwen3")
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        initializer_range=0.5,  # wide enough that random models say varied things
    )
    torch.manual_seed(seed)
    if kind == "qwen3":
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=head_dim, **common))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

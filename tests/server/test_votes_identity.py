"""Clean votes (serve/votes/identity.py): which names an answer must not say, and when it does."""

from __future__ import annotations

from serve.api.votes import VotedAnswer
from serve.votes.identity import identity_leak, identity_names

NAMES = identity_names(["Qwen/Qwen3-4B", "SmolLM2-135M-Instruct", "tiny-qwen2", "gemma-3-270m"],
                       ["Alibaba", "Hugging Face"])


def answer(content: str, thinking: str | None = None, role: str = "instruct") -> VotedAnswer:
    return VotedAnswer(role=role, model="m", content=content, thinking=thinking)


def test_the_names_are_the_ids_their_last_parts_their_family_and_the_makers():
    assert NAMES == ["Qwen/Qwen3-4B", "Qwen3-4B", "Qwen3", "SmolLM2-135M-Instruct", "SmolLM2",
                     "tiny-qwen2", "gemma-3-270m", "gemma", "Alibaba", "Hugging Face"]


def test_an_answer_that_names_a_model_or_maker_is_caught_whole_words_any_case():
    assert identity_leak([answer("I am QWEN3, a model.")], NAMES) == \
        "the instruct answer names 'Qwen3'"
    assert identity_leak([answer("ok"), answer("made by hugging face", role="base")], NAMES) == \
        "the base answer names 'Hugging Face'"
    assert identity_leak([answer("fine", thinking="I am SmolLM2; answer plainly")], NAMES)
    assert identity_leak([answer("a tiny gemmas-like word, qwen3x")], NAMES) is None
    assert identity_leak([answer("9.8 is larger than 9.11.")], NAMES) is None

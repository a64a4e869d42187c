"""Measures of one answer's text: sentences, repetition, runaway chat markers, copying, questions.

Text is cut into units the way a reader counts: each CJK character is a unit, a Latin word or a
number is a unit, any other visible character is a unit. No tokenizer is needed, so the measures
mean the same for every model.

    >>> repetition("苹果苹果苹果苹果苹果苹果")
    0.78
    >>> sentences("结论：人工智能正在改变教育。")
    1
"""

from __future__ import annotations

import re

_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?|[^\s]")

# A line that is only a chat role's name: what a base model writes when it runs on past its
# turn and plays both sides ("…\nuser\n…\nassistant\n…"), the special tokens having been dropped.
_ROLE_LINE = re.compile(
    r"^\s*(?:user|assistant|system|human|用户|助手|ai)\s*[:：]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_TEMPLATE_TOKEN = re.compile(r"<\|im_(?:start|end)\|>|<\|endoftext\|>")

# Sentence ends: CJK and Latin terminators; a '.' only when not inside a number ("9.11").
SENTENCE_END = re.compile(r"[。！？!?；;]+|\.(?!\d)|\n+")

_QUESTION_CUES = re.compile(
    r"请问|请提供|请告诉|请说明|能否告诉|可以告诉|您指的是|你指的是|具体是指|是指哪|哪一个|哪个东西|"
    r"could you|can you tell|which one|what do you mean",
    re.IGNORECASE,
)


def units(text: str) -> list[str]:
    return _UNIT.findall(text)


def repetition(text: str, n: int = 4) -> float:
    """Share of the text's unit n-grams that repeat an earlier one (0 = none, →1 = a loop)."""
    u = units(text)
    grams = [tuple(u[i:i + n]) for i in range(len(u) - n + 1)]
    if not grams:
        return 0.0
    return round(1 - len(set(grams)) / len(grams), 2)


def runaway_markers(text: str) -> int:
    """How many chat-role marker lines (or template tokens) the answer runs on into."""
    return len(_ROLE_LINE.findall(text)) + len(_TEMPLATE_TOKEN.findall(text))


def sentences(text: str) -> int:
    """Sentences in the text: pieces between terminators that hold a word or a CJK character."""
    pieces = SENTENCE_END.split(text)
    return sum(1 for p in pieces if re.search(r"[\w\u3400-\u9fff]", p))


def asks_question(text: str) -> bool:
    """Does the answer ask something back (a question mark, or a clarifying phrase)?"""
    return "？" in text or "?" in text or bool(_QUESTION_CUES.search(text))


def copy_ratio(text: str, source: str, n: int = 6) -> float:
    """Share of the answer's unit n-grams found verbatim in `source` (1.0 = a copy of it)."""
    a, s = units(text), units(source)
    grams = [tuple(a[i:i + n]) for i in range(len(a) - n + 1)]
    if not grams:
        return 0.0
    known = {tuple(s[i:i + n]) for i in range(len(s) - n + 1)}
    return round(sum(g in known for g in grams) / len(grams), 2)


def thinking_tokens(completion_tokens: int, thinking: str | None, response: str) -> int:
    """The thinking's share of the completion tokens, by its share of the decoded text.

    The server reports one completion-token count per answer; thinking and answer come from the
    same tokenizer, so their character shares estimate their token shares closely.
    """
    if not thinking or not response:
        return 0
    return round(completion_tokens * min(1.0, len(thinking) / len(response)))

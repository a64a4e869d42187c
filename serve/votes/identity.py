"""Clean votes: a vote whose shown answers name a model or its maker is flagged when stored.

In an anonymous comparison, an answer that says "I am Qwen, made by Alibaba Cloud" unblinds it;
FastChat drops such battles from Chatbot Arena's standings (fastchat/serve/monitor: the
"identity" filter over the model names in the outputs). triserve keeps the vote, flags it with
the reason, and leaves it out of the standings unless asked (`include_flagged`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from serve.api.votes import VotedAnswer


def identity_names(model_ids: Iterable[str], makers: Iterable[str]) -> list[str]:
    """The names an answer must not say: each model id, its last path part (`Qwen/Qwen3-4B` →
    `Qwen3-4B`), that part's first word when it is a name rather than a common word (it holds a
    digit, or has five letters or more: `SmolLM2`, `gemma`, not `tiny`), and the makers."""
    out: list[str] = []
    for model in model_ids:
        base = model.rsplit("/", 1)[-1]
        first = re.split(r"[-_. ]", base, maxsplit=1)[0]
        word = [first] if re.search(r"\d", first) or len(first) >= 5 else []
        out += [model, base, *word]
    out += list(makers)
    return list(dict.fromkeys(n for n in out if n.strip()))


def identity_leak(answers: Iterable[VotedAnswer], names: Iterable[str]) -> str | None:
    """Why the vote is flagged (the first answer that names a model or maker, and the name),
    or None. A name matches case-insensitively, as a whole word (`qwen` in "I am Qwen." but not
    in "qwenty")."""
    patterns = [(n, re.compile(rf"(?<![\w]){re.escape(n)}(?![\w])", re.IGNORECASE))
                for n in sorted(set(names), key=len, reverse=True)]
    for answer in answers:
        text = f"{answer.thinking or ''}\n{answer.content}"
        for name, pattern in patterns:
            if pattern.search(text):
                return f"the {answer.role} answer names {name!r}"
    return None

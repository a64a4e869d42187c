"""The prompt set of `triserve bench`: the study's five probes, a file, or synthetic prompts.

    >>> prompts = load_prompts()                                   # the study's five probes
    >>> prompts = load_prompts("prompts.jsonl")                    # {"prompt": ..., "system": ...}
    >>> prompts = synthetic_prompts(100, mean_words=64, sd_words=16, seed=0)
    >>> picker = PromptPicker(prompts, seed=0)                      # a seeded, repeatable order
    >>> picker.next().text

Which prompt each request sends is decided by a seeded generator in launch order, so two runs
with the same seed send the same sequence of prompts.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from clients.study.probes import load_probes


@dataclass(frozen=True)
class BenchPrompt:
    id: str
    text: str
    system: str | None = None


class PromptFileError(ValueError):
    pass


def load_prompts(path: str | Path | None = None) -> list[BenchPrompt]:
    """The study's probes (`path` None), a probes YAML file, a JSONL file of
    `{"prompt": ..., "system": ..., "id": ...}` objects, or a text file with one prompt a line."""
    if path is None or Path(path).suffix in (".yaml", ".yml"):
        return [BenchPrompt(p.id, p.text, p.system) for p in load_probes(path)]
    path = Path(path)
    lines = [line for line in path.read_text("utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        prompts = [_from_json(path, n, line) for n, line in enumerate(lines, 1)]
    else:
        prompts = [BenchPrompt(f"line-{n}", line) for n, line in enumerate(lines, 1)]
    if not prompts:
        raise PromptFileError(f"{path}: no prompts in it")
    return prompts


def _from_json(path: Path, n: int, line: str) -> BenchPrompt:
    try:
        obj = json.loads(line)
        text = obj["prompt"]
        if not isinstance(text, str) or not text.strip():
            raise ValueError("'prompt' must be a non-empty string")
        return BenchPrompt(str(obj.get("id", f"line-{n}")), text, obj.get("system"))
    except (ValueError, KeyError, TypeError) as exc:
        raise PromptFileError(f"{path}:{n}: {exc}") from None


# Common words, so that a tokenizer sees ordinary text (about 1.3 tokens a word for BPE vocabs).
_WORDS = (
    "the of and to in is that it was for on are as with his they at be this have from or one had "
    "by word but not what all were we when your can said there use an each which she do how their "
    "if will up other about out many then them these so some her would make like him into time has "
    "look two more write go see number no way could people my than first water been call who oil "
    "its now find long down day did get come made may part river city model answer question light"
).split()


def synthetic_prompts(count: int, mean_words: float, sd_words: float,
                      seed: int) -> list[BenchPrompt]:
    """`count` prompts of random common words; lengths drawn from a normal distribution
    (at least one word), all from `seed`."""
    rng = random.Random(seed)
    prompts = []
    for n in range(count):
        words = max(1, round(rng.gauss(mean_words, sd_words)))
        body = " ".join(rng.choice(_WORDS) for _ in range(words))
        prompts.append(BenchPrompt(f"synthetic-{n}", f"Continue this text: {body}"))
    return prompts


class PromptPicker:
    """Hands out prompts in a seeded random order (uniform choice, with replacement)."""

    def __init__(self, prompts: list[BenchPrompt], seed: int):
        self.prompts = prompts
        self._rng = random.Random(seed)

    def next(self) -> BenchPrompt:
        return self.prompts[self._rng.randrange(len(self.prompts))]

"""Does an answer respond to the prompt, or continue it? A deterministic score in 0…1.

A base model is trained to continue text. Given the bare list `苹果、香蕉、橘子、胡萝卜` it writes
`、果干、金罗…` (the list's next items); given `9.11和9.8哪个更大？` it writes `9.8和9.12哪个大更好
… 9.11和9.5哪个大更好?` (more questions of the same kind). A chat model answers instead: `9.8更大。`,
`苹果、香蕉、橘子是水果，胡萝卜是蔬菜。`. On the CPU demo Gemma 3 270M also writes `等水果…` after the
list, `然而，未来…` after the summary's source, and a blank line then a new paragraph after the
questions. The score is the strongest of four cues, each read off the two texts alone (no model,
no tokenizer), and the report names the cue that fired:

| cue       | score | fires when                                                             |
|-----------|-------|------------------------------------------------------------------------|
| joins     | 1     | the answer opens mid-sentence: with joining punctuation (`、，；：…)`), a |
|           |       | connective that leans on text before it (`等`, `和`, `以及`, `然而`,     |
|           |       | `但是`, `而且`, `所以`, `and`, `but`, …), or in lower case after a prompt |
|           |       | that ends without a full stop                                          |
| paragraph | 1     | the answer opens with a line break: the prompt's document goes on with  |
|           |       | its next paragraph (a chat reply starts with its text; not checked     |
|           |       | after thinking, whose closing blank lines are the template's)          |
| list      | 1     | the prompt is a bare list (one sentence, 3+ items of ≤ 8 units) and    |
|           |       | the answer's first sentence is a bare list in the same separator       |
|           |       | (items no longer than the prompt's longest, or 4 units): the list      |
|           |       | carried on, or repeated, rather than something said about it           |
| echo      | k/m   | k of the answer's first m (≤ 4) sentences re-state a sentence of the   |
|           |       | prompt in its frame: overlap coefficient |A∩P| / min(|A|, |P|) > 0.5 of |
|           |       | their shape bigrams (numbers as `#`, NFKC, lower case), so             |
|           |       | `9.8和9.12哪个大更好` echoes `9.11和9.8哪个更大？`; `9.8更大。` does not   |

Units are those of `measures.units` (a CJK character, a Latin word, a number, a mark). Sentences
of under 5 units are not read by `echo` (too short to tell). For a list prompt `echo` is off: an
answer names the list's items to say something about them, so sharing them shows nothing.
Callers pass the prompt without a probe's `input` (a summary quotes its source by design; copying
it is the `copies-input` check's business). Blind spots, by design: a base model that writes new,
unrelated text (headings after the vague request) does not echo the prompt and scores 0; the
judge and the runaway count see that.

    >>> continuation("苹果、香蕉、橘子、胡萝卜", "、果干、金罗").score
    1.0
    >>> continuation("9.11和9.8哪个更大？", "9.8更大。").score
    0.0
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from clients.study.measures import SENTENCE_END, units

# Punctuation that continues a sentence: an answer cannot open with it, a continuation can.
_JOINERS = set("、，,；;：:)）」』》】〕…")
_FULL_STOPS = set("。！？!?.…")
# Words that lean on text before them: a reply does not open with them, a continuation does.
_CONNECTIVE = re.compile(
    r"(?:等(?!一下|待|我)|和|与|及|以及|或(?!许)|或者|还有|然而|但是|但|而且|并且|此外|另外|因此|"
    r"所以|于是|的(?!确)|了(?!解))"  # not 或许 "perhaps", 的确 "indeed", 了解 "understood": replies
    r"|(?i:(?:and|but|or|however|moreover|furthermore)\b)")
_LIST_SEPARATORS = ("、", "，", ",", "；", ";", "|")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
ECHO_THRESHOLD = 0.5
ECHO_SENTENCES = 4
MIN_SENTENCE_UNITS = 5


@dataclass(frozen=True)
class Continuation:
    """score: 0 (an answer) … 1 (the prompt's continuation); cue: which rule gave it."""

    score: float
    cue: str  # "joins", "list", "echo", or "" when none fired
    detail: str


def _shape(text: str) -> list[str]:
    """Units with numbers abstracted: `9.8和9.12` → ['#', '和', '#']."""
    return ["#" if _NUMBER.fullmatch(u) else u.lower()
            for u in units(unicodedata.normalize("NFKC", text))]


def _bigrams(shape: list[str]) -> set[tuple[str, str]]:
    return set(zip(shape, shape[1:]))


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if s.strip()]


def _list_items(text: str) -> tuple[str, list[list[str]]] | None:
    """The separator and the items' units if `text` is a list of 2+ items in one separator."""
    for sep in _LIST_SEPARATORS:
        if sep not in text:
            continue
        items = [units(i) for i in text.split(sep)]
        if items and not items[0]:
            items = items[1:]  # opens with the separator: the list's next item follows
        if len(items) >= 2 and all(items):
            return sep, items
    return None


def _joins(prompt: str, answer: str) -> bool:
    opening = answer.lstrip()
    if not opening:
        return False
    if opening[0] in _JOINERS or _CONNECTIVE.match(opening):
        return True
    ends_open = prompt.rstrip()[-1:] not in _FULL_STOPS
    return ends_open and opening[0].isascii() and opening[0].islower()


def _bare_list(prompt: str) -> tuple[str, list[list[str]]] | None:
    """A prompt that is one list and nothing else: 3+ short items (≤ 8 units), one sentence."""
    listed = _list_items(prompt.strip()) if len(_sentences(prompt)) == 1 else None
    if listed is None or len(listed[1]) < 3 or any(len(i) > 8 for i in listed[1]):
        return None
    return listed


def _continues_list(listed: tuple[str, list[list[str]]], answer: str) -> bool:
    sep, items = listed
    limit = max(4, max(len(i) for i in items))
    first = _sentences(answer)
    found = _list_items(first[0].strip()) if first else None
    return found is not None and found[0] == sep and all(len(i) <= limit for i in found[1])


def _echoes(prompt: str, answer: str) -> tuple[int, int]:
    """(sentences that echo a prompt sentence, sentences read) over the answer's first few."""
    said = [_bigrams(_shape(s)) for s in _sentences(prompt)]
    said = [b for b in said if b]
    read = [s for s in _sentences(answer) if len(units(s)) >= MIN_SENTENCE_UNITS][:ECHO_SENTENCES]
    hits = 0
    for sentence in read:
        grams = _bigrams(_shape(sentence))
        if any(len(grams & p) / min(len(grams), len(p)) > ECHO_THRESHOLD for p in said):
            hits += 1
    return hits, len(read)


def continuation(prompt: str, answer: str, *, after_thinking: bool = False) -> Continuation:
    """How far `answer` continues `prompt` rather than answering it (see the module's table).

    after_thinking: the answer followed the model's thinking (its leading blank lines are then
    the template's, not a paragraph break).
    """
    if _joins(prompt, answer):
        opening = answer.lstrip()
        word = _CONNECTIVE.match(opening)
        how = (f"with {opening[0]!r}" if opening[0] in _JOINERS
               else f"with {word.group()!r}" if word else "in lower case")
        return Continuation(1.0, "joins", f"opens mid-sentence, {how}")
    if not after_thinking and answer.strip() and answer[:1] in "\r\n":
        return Continuation(1.0, "paragraph", "opens with a line break: the next paragraph")
    listed = _bare_list(prompt)
    if listed is not None:
        if _continues_list(listed, answer):
            return Continuation(1.0, "list", "its first sentence carries the prompt's list on")
        return Continuation(0.0, "", "")
    hits, read = _echoes(prompt, answer)
    if hits:
        return Continuation(round(hits / read, 2), "echo",
                            f"{hits} of its first {read} sentences re-state the prompt's")
    return Continuation(0.0, "", "")

"""The judge: a model compares two answers to a probe against the probe's rubric, in both orders.

    from clients import Client
    from clients.study.judge import Judge, judge_study
    judge = Judge(Client(), "instruct")                                  # a role of the server
    judge = Judge(Client("http://gpu:8000", api_key=key), "qwen3-32b")   # any OpenAI-compatible one
    study.judging = judge_study(judge, study)

For each probe and sample, every pair of roles (x, y) is judged twice, once with x's answer shown
as A and once as B, through `POST /v1/chat/completions`. The judge sees the user's message, the
probe's `rubric` and the two answers' `content`: the thinking is never shown (a `<think>` block
left inside an answer is cut out too), so a long thought earns nothing by itself. The judge must
end with a line `VERDICT: A`, `VERDICT: B` or `VERDICT: TIE`; `parse_verdict` reads the last such
line and forgives case, bold marks and a full-width colon.

Scoring rule (position bias cancelled). A verdict scores x 1 for a win, 0.5 for a tie, 0 for a
loss. A pair's score for x is the mean of its two orders: both orders agreeing on x gives 1, a win
and a tie 0.75, and orders that disagree (each prefers whichever answer it saw first, or second)
give 0.5, a tie, so a judge that always says "A" scores every pair 0.5. A pair with a failed or
unreadable order is left out of the scores, and the failure is counted and shown. A role's
win rate is the mean, over the probes' samples, of its pair scores against the other roles in that
sample; its interval is the stratified bootstrap of stats.py over those samples.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

from pydantic import ValidationError

from clients.client import Client
from clients.errors import APIError
from clients.study.judging import Judging, Pair, Verdict
from clients.study.runner import Sample, Study
from serve.api.protocol import GenerationParams

VERDICTS = ("A", "B", "TIE")
MAX_ANSWER_CHARS = 6000  # per answer in the judge's prompt; a longer answer is cut, and marked
DEFAULT_RUBRIC = ("Prefer the answer that responds to the user's message more helpfully, "
                  "correctly and relevantly, in the user's language.")

PROMPT = """You are an impartial judge. Two assistants answered the same user message. Decide \
which answer is better according to the rubric. Judge only what the answers say: do not let \
their order, their length or the assistants' names sway you.

# The user's message
{prompt}

# Rubric
{rubric}

# Answer A
{a}

# Answer B
{b}

{ending}"""
ENDINGS = {
    "text": "Think briefly about how each answer meets the rubric. Then end with one line that is "
            "exactly one of:\nVERDICT: A\nVERDICT: B\nVERDICT: TIE",
    "json": 'Reply with a JSON object: {"verdict": "A", "B" or "TIE", "reason": one short '
            "sentence}.",
}
# `json`: constrained decoding (the server's response_format), so even a small judge always
# gives a readable verdict; the verdict comes first, so the judge does not reason before it.
VERDICT_SCHEMA = {"type": "object", "additionalProperties": False,
                  "required": ["verdict", "reason"],
                  "properties": {"verdict": {"enum": list(VERDICTS)},
                                 "reason": {"type": "string", "maxLength": 300}}}

_VERDICT = re.compile(r"(?i:verdict)\W{0,6}(?:(?i:answer)\s*)?(A|B|(?i:tie))(?![A-Za-z])")
_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)


def parse_verdict(text: str) -> str | None:
    """"A", "B" or "TIE" from the judge's last `VERDICT: …` line (or `"verdict": "…"` of the
    JSON format); None when there is none.

    >>> parse_verdict("A is vague.\\n**Verdict:** B")
    'B'
    """
    found = _VERDICT.findall(strip_thinking(text))
    return found[-1].upper() if found else None


def strip_thinking(text: str) -> str:
    """The text without `<think>…</think>` blocks (or everything up to a lone `</think>`)."""
    text = _THINK_BLOCK.sub("", text or "")
    return text.split("</think>", 1)[1].lstrip() if "</think>" in text else text


def _shown(text: str) -> str:
    text = strip_thinking(text).strip()
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS] + " [… cut for the judge]"
    return text or "(an empty answer)"


def judge_prompt(probe_text: str, rubric: str | None, a: str, b: str,
                 fmt: str = "text") -> str:
    """The judge's prompt for answers `a` (shown as A) and `b` (as B), thinking cut out; `fmt`:
    how it must answer ("text": a final VERDICT line, "json": a JSON object)."""
    return PROMPT.format(prompt=probe_text, rubric=(rubric or DEFAULT_RUBRIC).strip(),
                         a=_shown(a), b=_shown(b), ending=ENDINGS[fmt])


class Judge:
    """A judge model behind `/v1/chat/completions`: a role of the study's own server, or any
    OpenAI-compatible server (`Client(url, api_key=…)`; the model's name as that server knows
    it). Greedy (temperature 0), at most `max_tokens` tokens per verdict; `fmt` "text" (a final
    VERDICT line) or "json" (constrained to VERDICT_SCHEMA through `response_format`)."""

    def __init__(self, client: Client, model: str, *, max_tokens: int = 512,
                 name: str | None = None, role: str | None = None, fmt: str = "text"):
        """`role`: the study role this judge is, when it is one (then `model` is that role)."""
        if fmt not in ENDINGS:
            raise ValueError(f"judge format {fmt!r}: one of {', '.join(ENDINGS)}")
        self.client, self.model, self.role, self.fmt = client, model, role, fmt
        schema = {"type": "json_schema",
                  "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA}}
        self.params = GenerationParams(max_new_tokens=max_tokens, temperature=0.0,
                                       response_format=schema if fmt == "json" else None)
        self.name = name or f"{model} at {client.base_url}"

    def ask(self, prompt: str) -> str:
        """The judge's answer (its `content`; a reasoning judge's thinking is not kept)."""
        response = self.client.chat(self.model, [{"role": "user", "content": prompt}],
                                    params=self.params)
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    def check(self) -> None:
        """One tiny request, so that a wrong URL, model or key fails before the study runs."""
        self.client.chat(self.model, [{"role": "user", "content": "Reply with: VERDICT: TIE"}],
                         params=self.params.model_copy(update={"max_new_tokens": 16}))

    def verdict(self, probe: str, index: int, first: str, second: str, prompt: str) -> Verdict:
        """Asks once; an API error or a missing verdict line is recorded, never raised."""
        v = Verdict(probe, index, first, second)
        try:
            v.raw = self.ask(prompt)
        except (APIError, ValidationError) as exc:
            v.failure = f"error: {exc}"
            return v
        v.verdict = parse_verdict(v.raw)
        if v.verdict is None:
            v.failure = "no VERDICT line"
        return v


def _by_unit(study: Study, samples: list[Sample]) -> dict[tuple[str, int], dict[str, Sample]]:
    """(probe, sample index) → label → answer, in the probes' order (so the report's is fixed)."""
    order = {p.id: n for n, p in enumerate(study.probes)}
    out: dict[tuple[str, int], dict[str, Sample]] = {}
    for s in sorted(samples, key=lambda s: (order.get(s.probe.id, 0), s.index)):
        out.setdefault((s.probe.id, s.index), {})[s.role] = s
    return out


def reference_role(study: Study) -> str | None:
    """Whom the budget runs are judged against: `instruct` when it was asked, else the first
    other role (a fixed opponent, so that the budgets' scores compare with each other)."""
    others = [r for r in study.roles if r != study.budget_role]
    return "instruct" if "instruct" in others else (others[0] if others else None)


def judge_study(judge: Judge, study: Study, *, concurrency: int = 2,
                on_verdict: Callable[[int], None] | None = None) -> Judging:
    """Judges every pair of roles in every probe sample, and each thinking budget's answers
    against `reference_role`'s, both orders each; `on_verdict(1)` after each call."""
    name = judge.name
    if getattr(judge, "role", None) in study.roles:
        name += " (also a contestant: it may favour its own answers)"
    judging = Judging(judge=name, reference=reference_role(study))
    start = time.perf_counter()
    probes = {p.id: p for p in study.probes}
    todo: list[tuple[list[Pair], Sample, Sample]] = []
    units = _by_unit(study, study.samples)
    for answers in units.values():
        for x, y in combinations([r for r in study.roles if r in answers], 2):
            todo.append((judging.pairs, answers[x], answers[y]))
    for budget, samples in study.budget_samples.items():
        judging.budget_pairs[budget] = []
        for unit, answers in _by_unit(study, samples).items():
            ref = units.get(unit, {}).get(judging.reference or "")
            for s in answers.values():
                if ref is not None:
                    todo.append((judging.budget_pairs[budget], s, ref))

    def run(x: Sample, y: Sample) -> Pair:
        text, rubric = x.probe.text, probes[x.probe.id].rubric
        orders = []
        for first, second in ((x, y), (y, x)):
            prompt = judge_prompt(text, rubric, first.result.content, second.result.content,
                                  getattr(judge, "fmt", "text"))
            orders.append(judge.verdict(x.probe.id, x.index, first.role, second.role, prompt))
            if on_verdict is not None:
                on_verdict(1)
        return Pair(x.probe.id, x.index, x.role, y.role, (orders[0], orders[1]))

    ok = [(out, x, y) for out, x, y in todo if x.result.error is None and y.result.error is None]
    judging.skipped = len(todo) - len(ok)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        for out, pair in zip([o for o, _, _ in ok],
                             pool.map(lambda job: run(job[1], job[2]), ok)):
            out.append(pair)
    finally:  # Ctrl-C or a failure: nothing more is sent; calls in flight end on their own
        pool.shutdown(wait=False, cancel_futures=True)
    judging.duration_s = round(time.perf_counter() - start, 2)
    return judging

"""The parts of `triserve bench` that need no server: prompt sets, the load schedules, and the
statistics (fed with outcomes whose times are set by hand)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import pytest

from clients.bench.load import LevelRun, LoadSpec, run_level
from clients.bench.prompts import PromptFileError, PromptPicker, load_prompts, synthetic_prompts
from clients.bench.stats import Slo, percentile, summarize
from clients.bench.targets import Channel, Outcome


def test_default_prompts_are_the_study_probes():
    prompts = load_prompts()
    assert len(prompts) == 5 and prompts[0].id == "no-instruction"
    assert all("{{input}}" not in p.text for p in prompts)  # inputs filled in


def test_prompt_files(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "a b", "system": "S"}\n\n{"prompt": "c", "id": "x"}\n')
    assert [(p.id, p.text, p.system) for p in load_prompts(jsonl)] == [
        ("line-1", "a b", "S"), ("x", "c", None)]
    text = tmp_path / "p.txt"
    text.write_text("first\n\nsecond\n")
    assert [p.text for p in load_prompts(text)] == ["first", "second"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    with pytest.raises(PromptFileError, match="bad.jsonl:2"):
        load_prompts(bad)


def test_synthetic_prompts_follow_the_length_distribution_and_the_seed():
    a = synthetic_prompts(400, mean_words=50, sd_words=10, seed=3)
    assert a == synthetic_prompts(400, mean_words=50, sd_words=10, seed=3)
    assert a != synthetic_prompts(400, mean_words=50, sd_words=10, seed=4)
    lengths = [len(p.text.split()) - 3 for p in a]  # less "Continue this text:"
    assert 48 < statistics.mean(lengths) < 52 and 8 < statistics.stdev(lengths) < 12
    assert min(len(p.text.split()) for p in synthetic_prompts(50, 1, 5, seed=0)) >= 4


def test_picker_order_is_seeded():
    prompts = load_prompts()
    one, two, other = (PromptPicker(prompts, seed) for seed in (7, 7, 8))
    order = [one.next().id for _ in range(20)]
    assert order == [two.next().id for _ in range(20)]
    assert order != [other.next().id for _ in range(20)] and len(set(order)) > 1


class Timer:
    """Stands in for a route: each request takes `seconds`; it notes starts, ends, concurrency."""

    def __init__(self, seconds: float):
        self.seconds, self.in_flight, self.most = seconds, 0, 0
        self.sent: list[Outcome] = []

    async def send(self, http, core, prompt) -> Outcome:
        out = Outcome(prompt.id, time.perf_counter())
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(self.seconds)
        self.in_flight -= 1
        out.end = time.perf_counter()
        self.sent.append(out)
        return out


def _run(spec: LoadSpec, seconds: float = 0.01) -> tuple[LevelRun, Timer]:
    timer = Timer(seconds)
    run = asyncio.run(run_level(timer, None, PromptPicker(load_prompts(), 0), spec, timeout=5))
    return run, timer


def test_closed_loop_warms_up_then_measures_a_request_count():
    run, timer = _run(LoadSpec("closed", 3, requests=12, warmup_s=0.1), seconds=0.03)
    assert len(run.outcomes) == 12 and run.warmup_sent >= 3 and timer.most == 3
    warmup = [o for o in timer.sent if o not in run.outcomes]
    # The window holds measured requests only: the warm-up has finished when it starts.
    assert max(o.end for o in warmup) <= run.window_start <= min(o.start for o in run.outcomes)
    assert run.wall_s == pytest.approx(max(o.end for o in run.outcomes) - run.window_start)


def test_closed_loop_duration_starts_nothing_after_the_window():
    run, _ = _run(LoadSpec("closed", 2, duration_s=0.3), seconds=0.05)
    assert run.warmup_sent == 0 and 4 <= len(run.outcomes) <= 14
    assert all(o.start - run.window_start < 0.3 for o in run.outcomes)


def test_refused_users_wait_as_asked_instead_of_hammering():
    class Refuser(Timer):
        async def send(self, http, core, prompt) -> Outcome:
            out = await super().send(http, core, prompt)
            out.error, out.retry_after = "503", 0.2
            return out

    timer = Refuser(0.0)
    run = asyncio.run(run_level(timer, None, PromptPicker(load_prompts(), 0),
                                LoadSpec("closed", 2, duration_s=0.5), timeout=5))
    assert 2 <= len(run.outcomes) <= 8  # about 2 users × 0.5 s / 0.2 s, not thousands
    assert summarize(run, Slo())["requests"]["rejected_503"] == len(run.outcomes)


def test_open_loop_arrivals_are_poisson_and_seeded():
    spec = LoadSpec("open", 200, duration_s=0.5, seed=11)
    first, again = _run(spec)[0], _run(spec)[0]
    # Judged on the schedule, not on how fast the loop ran: the same count every time.
    assert len(first.outcomes) == len(again.outcomes)
    assert 70 < len(first.outcomes) < 130  # 100 expected; Poisson sd 10
    assert len(_run(LoadSpec("open", 200, duration_s=0.5, seed=12))[0].outcomes) != len(
        first.outcomes)


def test_open_loop_cap_on_requests_in_flight():
    run, timer = _run(LoadSpec("open", 500, requests=40, max_concurrency=3), seconds=0.02)
    assert len(run.outcomes) == 40 and timer.most == 3


def test_load_spec_is_checked():
    with pytest.raises(ValueError):
        LoadSpec("closed", 0)
    with pytest.raises(ValueError):
        LoadSpec("open", 1, duration_s=None)


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 99) == 5
    assert percentile(list(range(101)), 90) == 90
    assert percentile([10, 0, 20], 75) == 15


def _outcome(start, ttft, gaps, tokens=None, error=None, role="instruct"):
    times = [start + ttft]
    for g in gaps:
        times.append(times[-1] + g)
    ch = Channel(times=times if error is None else [], usage_tokens=tokens)
    end = times[-1] + 0.01
    return Outcome("p", start, end=end, status=200, error=error, channels={role: ch},
                   prompt_tokens=5)


def test_summary_numbers():
    outcomes = [
        _outcome(0.0, 0.1, [0.05, 0.05, 0.05], tokens=4),     # tpot 0.05
        _outcome(0.5, 0.3, [0.2, 0.2], tokens=3),             # tpot 0.2, misses the TPOT SLO
        _outcome(1.0, 0.2, [0.1], tokens=None),               # no usage: 2 frames counted
        _outcome(1.2, 0.0, [], error="503"),
        _outcome(1.3, 0.0, [], error="500"),
        _outcome(1.4, 0.0, [], error="timeout"),
    ]
    run = LevelRun(LoadSpec("closed", 2, duration_s=1), window_start=0.0, outcomes=outcomes)
    s = summarize(run, Slo(ttft_s=0.25, tpot_s=0.12))
    assert s["requests"] == {"total": 6, "completed": 3, "failed": 2, "rejected_503": 1}
    assert s["errors"] == {"500": 1, "timeout": 1}
    assert s["output_tokens"] == 4 + 3 + 2 and s["tokens_counted_not_reported"] == 1
    assert s["input_tokens"] == 15
    wall = max(o.end for o in outcomes)
    assert s["duration_s"] == pytest.approx(wall)
    assert s["request_throughput"] == pytest.approx(3 / wall)
    assert s["output_throughput"] == pytest.approx(9 / wall)
    assert s["goodput"] == pytest.approx(2 / wall)  # the first and the third
    assert s["slo_attainment"] == pytest.approx(2 / 6)
    assert s["ttft_s"]["p50"] == pytest.approx(0.2) and s["ttft_s"]["max"] == pytest.approx(0.3)
    assert s["tpot_s"]["n"] == 3 and s["tpot_s"]["max"] == pytest.approx(0.2)
    assert s["itl_s"]["n"] == 6
    assert s["e2e_s"]["p50"] == pytest.approx(0.31)
    json.dumps(s)  # JSON-ready as is


def test_compare_outcome_takes_first_token_of_any_role_and_averages_tpot():
    a = _outcome(0.0, 0.4, [0.1, 0.1], tokens=3, role="base").channels["base"]
    b = _outcome(0.0, 0.2, [0.3], tokens=2, role="reasoning").channels["reasoning"]
    o = Outcome("p", 0.0, end=1.0, status=200, channels={"base": a, "reasoning": b})
    assert o.ttft == pytest.approx(0.2)
    assert o.tpot == pytest.approx((0.1 + 0.3) / 2)
    assert o.output_tokens == 5 and sorted(o.itl) == pytest.approx([0.1, 0.1, 0.3])


def test_no_successful_request_gives_empty_distributions():
    run = LevelRun(LoadSpec("open", 1, duration_s=1), 0.0, [_outcome(0, 0, [], error="503")])
    s = summarize(run, Slo())
    assert s["ttft_s"]["p99"] is None and s["request_throughput"] == 0
    assert s["goodput"] == 0 and s["slo"] is None

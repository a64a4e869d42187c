"""The numbers of one load level, as LLM serving benchmarks report them.

    summary = summarize(run, Slo(ttft_s=0.5, tpot_s=0.05))
    summary["ttft_s"]["p99"], summary["output_throughput"], summary["goodput"]

- TTFT: request start → first text frame (a comparison: the first of any role).
- TPOT: (last text frame − first) / (output tokens − 1), per role, averaged over the roles.
- ITL: the gaps between successive text frames of one stream, pooled over all requests.
- E2E: request start → end of the stream.
- Throughputs and goodput divide by the measured window (end of warm-up → last finish).
- Goodput: requests per second that succeeded *and* met every SLO given (DistServe's sense);
  `slo_attainment` is their share of all measured requests, refusals and failures included.
- Errors by kind: an HTTP status ("500"), "timeout", "connection", "stream" (an error frame
  after the 200), "role:<code>" (a comparison's role failed). 503 refusals (back-pressure) are
  not errors: they are counted apart in `requests.rejected_503`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

from clients.bench.load import LevelRun
from clients.bench.targets import REJECTED, Outcome

PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Slo:
    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.ttft_s, self.tpot_s, self.e2e_s))

    def met(self, o: Outcome) -> bool:
        if not o.ok:
            return False
        checks = ((self.ttft_s, o.ttft), (self.tpot_s, o.tpot), (self.e2e_s, o.e2e))
        # A request with no TPOT (one token) cannot miss a TPOT target.
        return all(limit is None or value is None or value <= limit for limit, value in checks)


def percentile(values, q: float) -> float:
    """The q-th percentile (0..100) of `values` by linear interpolation between the closest ranks
    (numpy's default method); NaN for no values. The project's one percentile: `triserve bench`
    and the scripts in benchmarks/ both report with it.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def distribution(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, **{f"p{q}": None for q in PERCENTILES}, "max": None}
    return {"n": len(values), "mean": sum(values) / len(values),
            **{f"p{q}": percentile(values, q) for q in PERCENTILES}, "max": max(values)}


def summarize(run: LevelRun, slo: Slo) -> dict:
    spec, outcomes = run.spec, run.outcomes
    ok = [o for o in outcomes if o.ok]
    rejected = sum(o.error == REJECTED for o in outcomes)
    errors = Counter(o.error for o in outcomes if o.error and o.error != REJECTED)
    wall = run.wall_s
    per_s = (lambda n: n / wall) if wall > 0 else (lambda n: 0.0)
    output_tokens = sum(o.output_tokens for o in ok)
    good = sum(slo.met(o) for o in outcomes)
    return {
        "mode": spec.mode,
        "level": spec.level,
        "concurrency": int(spec.level) if spec.mode == "closed" else spec.max_concurrency,
        "request_rate": spec.level if spec.mode == "open" else None,
        "duration_s": wall,
        "interrupted": run.interrupted,
        "warmup_requests": run.warmup_sent,
        "requests": {"total": len(outcomes), "completed": len(ok),
                     "failed": sum(errors.values()), "rejected_503": rejected},
        "errors": dict(sorted(errors.items())),
        "input_tokens": sum(o.prompt_tokens for o in ok),
        "output_tokens": output_tokens,
        "tokens_counted_not_reported": sum(o.counted for o in ok),
        "request_throughput": per_s(len(ok)),
        "output_throughput": per_s(output_tokens),
        "goodput": per_s(good),
        "slo": asdict(slo) if slo.given else None,
        "slo_attainment": good / len(outcomes) if outcomes else None,
        "ttft_s": distribution([o.ttft for o in ok if o.ttft is not None]),
        "tpot_s": distribution([o.tpot for o in ok if o.tpot is not None]),
        "itl_s": distribution([gap for o in ok for gap in o.itl]),
        "e2e_s": distribution([o.e2e for o in ok]),
    }


def request_records(run: LevelRun) -> list[dict]:
    """Per-request detail for the JSON file (start relative to the measured window)."""
    return [{
        "prompt": o.prompt, "start_s": round(o.start - run.window_start, 6),
        "status": o.status, "error": o.error, "ttft_s": o.ttft, "tpot_s": o.tpot, "e2e_s": o.e2e,
        "prompt_tokens": o.prompt_tokens, "output_tokens": o.output_tokens,
        "tokens": {name: c.tokens for name, c in o.channels.items()},
    } for o in run.outcomes]

"""`triserve bench`: load-test a triserve deployment the way LLM serving benchmarks do.

    triserve bench --duration 30 --sweep 1,2,4,8 --json-out bench.json --plot bench.png
    triserve bench -e chat --role reasoning -c 4 --requests 200 --slo-ttft 0.5 --slo-tpot 0.05
    triserve bench -e completions --rate 2 --duration 60 --synthetic 100 --input-words 200

Closed loop (default): `--concurrency` users, each sending its next request when the last ends.
Open loop (`--rate`): Poisson arrivals at that many requests/s, from `--seed`. `--sweep` runs
several levels in one go (users, or rates with --rate). Every request streams, so TTFT and the
gaps between tokens are measured; nothing is retried. See clients/bench/stats.py for what each
reported number means.
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from clients._core import Core
from clients.bench.load import LoadSpec, run_level
from clients.bench.prompts import (
    PromptFileError,
    PromptPicker,
    load_prompts,
    synthetic_prompts,
)
from clients.bench.report import LiveProgress, PlotUnavailable, error_lines, plot, summary_table
from clients.bench.stats import Slo, request_records, summarize
from clients.bench.targets import Target
from clients.cli.errors import handle_errors
from clients.cli.options import Settings, connection_options, generation_options
from clients.client import Client
from serve.api.protocol import GenerationParams


def _slo(what: str):
    return Annotated[float | None, typer.Option(
        min=0.0, show_default=False, help=f"SLO: most seconds {what} (for goodput).")]


def _levels(sweep: str | None, default: float, closed: bool) -> list[float]:
    if not sweep:
        if default <= 0:
            raise typer.BadParameter("must be > 0", param_hint="--rate")
        return [default]
    try:
        levels = [float(v) for v in sweep.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"not a list of numbers: {sweep!r}", param_hint="--sweep")
    if not levels or any(v <= 0 for v in levels) or (closed and any(v != int(v) for v in levels)):
        what = "whole numbers > 0 (users)" if closed else "numbers > 0 (requests/s)"
        raise typer.BadParameter(f"levels must be {what}: {sweep!r}", param_hint="--sweep")
    return levels


def _preflight(settings: Settings, core: Core, target: Target) -> None:
    """One look at /v1/models before any load: a server that is down or a role that does not
    exist is one clear error, not a run of failed requests."""
    with handle_errors(settings), Client(core.base_url, api_key=core.api_key,
                                         timeout=min(settings.timeout, 30), max_retries=0) as c:
        cards = c.models().data
    served = {card.role for card in cards} | {card.id for card in cards}
    wanted = (target.roles or []) if target.endpoint == "compare" else [target.role]
    missing = [r for r in wanted if r not in served]
    if missing:
        raise typer.BadParameter(f"the server has no role {', '.join(missing)} (it serves: "
                                 f"{', '.join(sorted(served))})",
                                 param_hint="--roles" if target.endpoint == "compare" else "--role")


@connection_options
@generation_options("max_new_tokens", "temperature")
def bench(
    ctx: typer.Context,
    params: GenerationParams,
    endpoint: Annotated[str, typer.Option(
        "--endpoint", "-e", help="compare | chat | completions.")] = "compare",
    role: Annotated[str | None, typer.Option(
        help="chat/completions: the role (default instruct / base).", show_default=False)] = None,
    roles: Annotated[str | None, typer.Option(
        help="compare: roles, comma-separated (default all).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", "-c", min=1, help="Closed loop: users sending back to back.")] = 1,
    rate: Annotated[float | None, typer.Option(
        min=0.0, help="Open loop: Poisson arrivals, requests/s.",
        show_default=False)] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, help="Open loop: most requests in flight.", show_default=False)] = None,
    sweep: Annotated[str | None, typer.Option(
        help="Levels to run one after another, e.g. 1,2,4,8 (users; rates with --rate).",
        show_default=False)] = None,
    duration: Annotated[float, typer.Option(
        "--duration", "-d", min=0.0, help="Measured seconds per level.")] = 30.0,
    requests: Annotated[int | None, typer.Option(
        "--requests", "-n", min=1, help="Measured requests per level (instead of --duration).",
        show_default=False)] = None,
    warmup: Annotated[float, typer.Option(
        min=0.0, help="Seconds of load before measuring, per level.")] = 5.0,
    prompts_file: Annotated[Path | None, typer.Option(
        "--prompts", exists=True, dir_okay=False, show_default=False,
        help="Probes YAML, JSONL ({\"prompt\": ...}) or text (a prompt a line); "
             "default: the study's five probes.")] = None,
    synthetic: Annotated[int, typer.Option(
        min=0, help="Use this many synthetic prompts of random words instead.")] = 0,
    input_words: Annotated[float, typer.Option(
        min=1.0, help="Synthetic prompts: mean length in words.")] = 64.0,
    input_words_sd: Annotated[float, typer.Option(
        min=0.0, help="Synthetic prompts: standard deviation of the length.")] = 16.0,
    seed: Annotated[int, typer.Option(help="Seeds prompt order and arrival times.")] = 0,
    slo_ttft: _slo("to the first token") = None,
    slo_tpot: _slo("per output token after the first") = None,
    slo_e2e: _slo("for the whole request") = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", help="Write the results (and every request) as JSON here.",
        show_default=False)] = None,
    plot_out: Annotated[Path | None, typer.Option(
        "--plot", help="Write latency and throughput plots (PNG) here.",
        show_default=False)] = None,
):
    """Load-test the server: TTFT, TPOT, ITL, end-to-end latency (p50/p90/p99), requests/s,
    output tokens/s, goodput under --slo-* (seconds), errors, 503 refusals apart.

    Example: triserve bench --sweep 1,2,4,8 -d 30 -m 64 --json-out bench.json --plot bench.png
    """
    if endpoint not in ("compare", "chat", "completions"):
        raise typer.BadParameter("must be compare, chat or completions", param_hint="--endpoint")
    closed = rate is None
    if requests is None and duration <= 0:
        raise typer.BadParameter("must be > 0 (or give --requests)", param_hint="--duration")
    levels = _levels(sweep, float(concurrency) if closed else rate, closed)
    try:
        prompts = (synthetic_prompts(synthetic, input_words, input_words_sd, seed) if synthetic
                   else load_prompts(prompts_file))
    except (PromptFileError, ValueError) as exc:  # a bad probes file says where
        raise typer.BadParameter(str(exc), param_hint="--prompts") from None
    target = Target(endpoint, role=role, params=params,
                    roles=[r.strip() for r in roles.split(",") if r.strip()] if roles else None)
    settings = ctx.obj
    core = Core(settings.url, settings.api_key, 0, 0)
    timeout = settings.timeout
    slo = Slo(slo_ttft, slo_tpot, slo_e2e)
    _preflight(settings, core, target)

    console = Console(highlight=False)
    where = target.path + ("" if endpoint == "compare" else f" ({target.role})")
    console.print(f"[bold]{core.base_url}{where}[/] · {'closed' if closed else 'open'} loop · "
                  f"{len(prompts)} prompts · seed {seed}")
    summaries, records, started = [], [], time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with LiveProgress(console) as live:
        for i, level in enumerate(levels):
            spec = LoadSpec(mode="closed" if closed else "open", level=level,
                            duration_s=duration, requests=requests, warmup_s=warmup,
                            max_concurrency=max_concurrency, seed=seed + i)
            live.level(f"{'users' if closed else 'req/s'} {level:g}", requests)
            # A fresh picker per level: each level sends the same sequence of prompts.
            run = asyncio.run(run_level(target, core, PromptPicker(prompts, seed), spec,
                                        timeout, live.update))
            summaries.append(summarize(run, slo))
            records.append(request_records(run))
            if run.interrupted:  # Ctrl-C: what was measured is reported, marked partial
                partial = (f"interrupted (Ctrl-C) at level {level:g}: {len(run.outcomes)} of "
                           f"its requests measured, {len(levels) - i - 1} level(s) not run")
                break
        else:
            partial = None
    console.print(summary_table(summaries))
    for line in error_lines(summaries):
        console.print(f"[red]errors[/] {line}")

    if json_out:
        config = {
            "url": core.base_url, "endpoint": endpoint, "path": target.path,
            "role": target.role if endpoint != "compare" else None, "roles": target.roles,
            "mode": "closed" if closed else "open", "levels": levels,
            "duration_s": None if requests else duration, "requests": requests,
            "warmup_s": warmup, "max_concurrency": max_concurrency, "seed": seed,
            "prompts": {"source": "synthetic" if synthetic else str(prompts_file or "probes"),
                        "count": len(prompts)},
            "params": params.model_dump(exclude_none=True), "timeout_s": timeout,
        }
        doc = {"config": config, "started": started, "partial": partial,
               "client": {"python": platform.python_version(), "machine": platform.machine()},
               "levels": [dict(s, requests_detail=r) for s, r in zip(summaries, records)]}
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
        console.print(f"results → {json_out}")
    if plot_out:
        try:
            plot(summaries, plot_out, title=f"triserve bench · {where} · "
                 f"{'closed' if closed else 'open'} loop")
        except PlotUnavailable as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        console.print(f"plots → {plot_out}")
    if partial:
        console.print(f"[bold]partial results:[/] {partial}")
        raise typer.Exit(130)

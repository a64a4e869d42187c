"""The custom Prometheus metrics, read from Ray's metrics endpoint after some requests."""

from __future__ import annotations

import re
import time

import httpx
import ray


def scrape() -> str:
    port = ray.nodes()[0]["MetricsExportPort"]
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


def total(text: str, name: str, **tags) -> float:
    """Sum of a metric's samples whose tags include `tags`."""
    value = 0.0
    for line in text.splitlines():
        m = re.match(rf"ray_{name}{{(.*)}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in tags.items()):
            value += float(m.group(2))
    return value


def test_requests_tokens_latencies_batches_and_errors_are_counted(tiny_app):
    for _ in range(3):
        r = httpx.post(f"{tiny_app}/v1/compare", json={"prompt": "count me", "params": {"max_new_tokens": 4}},
                       timeout=60)
        assert r.status_code == 200
    assert httpx.post(f"{tiny_app}/v1/compare", json={"prompt": ""}).status_code == 400
    want = {
        ("triserve_requests_total", "base"): 3,
        ("triserve_generated_tokens_total", "base"): 3,
        ("triserve_time_to_first_token_seconds_count", "instruct"): 3,
        ("triserve_batch_size_count", "reasoning"): 1,
    }
    deadline = time.monotonic() + 60  # Ray exports metrics every few seconds
    while True:
        text = scrape()
        got = {key: total(text, key[0], role=key[1]) for key in want}
        errors = total(text, "triserve_errors_total", status="400")
        compares = total(text, "triserve_compare_latency_seconds_count")
        if all(got[k] >= v for k, v in want.items()) and errors >= 1 and compares >= 3:
            break
        assert time.monotonic() < deadline, (got, errors, compares)
        time.sleep(2)
    assert total(text, "triserve_time_per_output_token_seconds_count", role="base") >= 1

"""Property-based fuzzing of every POST route: whatever the body, never a 5xx, always the one
error shape for a 4xx, and the server keeps serving. Schema-valid extreme values (the bounds of
every parameter, token ids at the edge of the vocabulary, constraints) go beside normal requests,
which must all get exactly their usual answer."""

from __future__ import annotations

import json
import threading

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve.api.protocol import ErrorResponse

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
params = st.fixed_dictionaries({}, optional={
    "max_new_tokens": st.integers(-5, 80) | json_values,
    "temperature": st.floats(-1, 3, allow_nan=False) | json_values,
    "top_p": st.floats(-0.5, 1.5, allow_nan=False),
    "top_k": st.integers(-3, 100),
    "min_p": st.floats(-0.5, 1.5, allow_nan=False),
    "repetition_penalty": st.floats(-1, 12, allow_nan=False),
    "stop": st.lists(st.text(max_size=70), max_size=10) | st.text(max_size=5),
    "seed": st.integers(-5, 2**64),
    "enable_thinking": st.booleans() | json_values,
    "presence_penalty": st.floats(-2.5, 2.5, allow_nan=False),
    "frequency_penalty": st.floats(-2.5, 2.5, allow_nan=False),
    "logit_bias": st.dictionaries(st.integers(-1, 10**6).map(str) | st.text(max_size=4),
                                  st.floats(-101, 101, allow_nan=False), max_size=4),
    "min_tokens": st.integers(-1, 10**6),
    "ignore_eos": st.booleans(),
    "logprobs": st.booleans(),
    "top_logprobs": st.integers(-1, 25),
    "response_format": st.sampled_from([{"type": "json_object"}, {"type": "text"},
                                        {"type": "json_schema"}]) | json_values,
})
# Values that pass validation, at the edges: each must be served or refused, never break a batch.
extreme = st.fixed_dictionaries({}, optional={
    "temperature": st.sampled_from([0.0, 2.0]), "top_p": st.sampled_from([1e-9, 1.0]),
    "top_k": st.sampled_from([-1, 0, 1, 10**9]), "min_p": st.sampled_from([0.0, 1.0]),
    "repetition_penalty": st.sampled_from([1e-6, 10.0]),
    "presence_penalty": st.sampled_from([-2.0, 2.0]), "frequency_penalty": st.sampled_from([-2.0, 2.0]),
    "logit_bias": st.dictionaries(st.sampled_from(["0", "1", "255", "999999999"]),
                                  st.sampled_from([-100.0, 100.0]), max_size=3),
    "min_tokens": st.sampled_from([0, 64, 10**6]), "ignore_eos": st.booleans(),
    "seed": st.sampled_from([0, 2**63 - 1]), "logprobs": st.booleans(),
    "top_logprobs": st.sampled_from([0, 20]), "stop": st.sampled_from([["a"], ["\n"], ["x" * 64] * 8]),
    "response_format": st.sampled_from([
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}}]),
})
messages = st.lists(st.fixed_dictionaries({
    "role": st.sampled_from(["system", "user", "assistant", "tool"]),
    "content": st.text(max_size=60)}), max_size=3)
compare = st.fixed_dictionaries({}, optional={
    "prompt": st.text(max_size=80) | json_values, "messages": messages, "system": st.text(max_size=20),
    "roles": st.lists(st.sampled_from(["base", "instruct", "reasoning", "x"]), max_size=4),
    "params": params, "overrides": st.dictionaries(st.sampled_from(["base", "reasoning", "y"]), params),
    "stream": st.booleans(), "extra": json_values,
})
openai_common = {"model": st.sampled_from(["base", "instruct", "reasoning", "tiny-qwen3", "gpt-4"]),
                 "max_tokens": st.integers(-2, 70), "temperature": st.floats(-1, 3, allow_nan=False),
                 "stop": st.lists(st.text(max_size=10), max_size=9), "stream": st.booleans(),
                 "n": st.integers(0, 3), "seed": st.integers(-1, 10)}
chat = st.fixed_dictionaries({"messages": messages}, optional=openai_common)
completion = st.fixed_dictionaries({"prompt": st.text(max_size=60) | json_values},
                                   optional=openai_common)
parts = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio"]),
                                        "text": st.text(max_size=20)}), max_size=3)
chat_extra = {**openai_common, "logprobs": st.booleans(), "top_logprobs": st.integers(-1, 25),
              "logit_bias": params.map(lambda p: p.get("logit_bias", {})),
              "messages": st.lists(st.fixed_dictionaries({
                  "role": st.sampled_from(["developer", "user"]), "content": parts}), min_size=1,
                  max_size=2),
              "tools": st.just([{"type": "function", "function": {"name": "f"}}]) | json_values}
bodies = st.one_of(
    st.tuples(st.just("/v1/compare"), compare),
    st.tuples(st.just("/v1/compare"), st.fixed_dictionaries(
        {"prompt": st.just("the quick brown fox"), "params": extreme})),
    st.tuples(st.just("/v1/chat/completions"), st.fixed_dictionaries({}, optional=chat_extra)),
    st.tuples(st.just("/v1/completions"), st.fixed_dictionaries(
        {"model": st.just("base"),
         "prompt": st.lists(st.integers(-1, 70000), min_size=1, max_size=5) | st.lists(
             st.text(min_size=1, max_size=10), min_size=1, max_size=3),
         "echo": st.booleans(), "logprobs": st.integers(-1, 25) | st.none(),
         "n": st.integers(1, 3)})),
    st.tuples(st.just("/v1/chat/completions"), chat),
    st.tuples(st.just("/v1/completions"), completion),
)


NORMAL = {"prompt": "Which is larger, 9.11 or 9.8?", "params": {"max_new_tokens": 12}}


def test_no_body_gets_a_server_error(tiny_app):
    with httpx.Client(base_url=tiny_app, timeout=60) as client:
        usual = client.post("/v1/compare", json=NORMAL).json()["results"]
        stop = threading.Event()
        normal: list[bool] = []

        def keep_asking():  # normal requests, decoded in the same batches as the fuzzed ones
            with httpx.Client(base_url=tiny_app, timeout=60) as c:
                while not stop.is_set():
                    r = c.post("/v1/compare", json=NORMAL)
                    normal.append(r.status_code == 200 and [
                        x["response"] for x in r.json()["results"]] == [x["response"] for x in usual])

        beside = threading.Thread(target=keep_asking)
        beside.start()

        @settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(bodies)
        def check(case):
            path, body = case
            # json.dumps writes inf/nan as Infinity/NaN, which Python's JSON parser accepts.
            r = client.post(path, content=json.dumps(body),
                            headers={"content-type": "application/json"})
            assert r.status_code < 500, (path, body, r.text)
            if r.status_code >= 400:
                ErrorResponse.model_validate(r.json())
            else:
                r.read()

        try:
            check()
        finally:
            stop.set()
            beside.join(60)
        assert client.get("/healthz").status_code == 200
        assert normal and all(normal), f"{normal.count(False)} of {len(normal)} normal requests changed"

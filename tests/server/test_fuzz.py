"""Property-based fuzzing of every POST route: whatever the body, never a 5xx, always the one
error shape for a 4xx, and the server keeps serving."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve.protocol import ErrorResponse

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
bodies = st.one_of(
    st.tuples(st.just("/v1/compare"), compare),
    st.tuples(st.just("/v1/chat/completions"), chat),
    st.tuples(st.just("/v1/completions"), completion),
)


def test_no_body_gets_a_server_error(tiny_app):
    with httpx.Client(base_url=tiny_app, timeout=60) as client:

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

        check()
        assert client.get("/healthz").status_code == 200

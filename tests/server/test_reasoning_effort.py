"""Every `reasoning_effort` level the openai SDK types is served, as the role's own thinking budget
(its config's `reasoning_effort`), on chat, the Responses API and compare, on both engines
(tiny_app: our loop; mixed: vLLM); an unknown level is a 400 naming the field."""

from __future__ import annotations

from typing import get_args

import httpx
import openai
import pytest
from openai.types.shared.reasoning_effort import ReasoningEffort

from apps import TINY_EFFORT
from serve.api.params import Effort
from serve.api.protocol import CompareResponse
from serve.config import EffortBudgets, RoleConfig

SDK_LEVELS = get_args(get_args(ReasoningEffort)[0])  # Optional[Literal[...]]
QUESTION = "Which is larger, 9.11 or 9.8?"
MESSAGES = [{"role": "user", "content": QUESTION}]
MAX = 40  # room for the largest tiny budget (20), its </think> and an answer


def thought(budget: int) -> int:
    """Reasoning tokens a tiny random model spends under `budget`: it never closes its thinking
    on its own, so all of the budget and the forced `</think>`; none when thinking is off."""
    return budget + 1 if budget else 0


def test_the_server_takes_every_level_the_sdk_types():
    assert set(SDK_LEVELS) == set(get_args(Effort)) == set(EffortBudgets.model_fields)
    assert set(TINY_EFFORT) == set(SDK_LEVELS)


def test_a_role_config_may_set_some_levels_and_keeps_the_rest():
    role = RoleConfig.model_validate({"model": {"source": "local", "path": "/m"},
                                      "reasoning_effort": {"low": 64}})
    assert role.reasoning_effort.budget("low") == 64
    assert role.reasoning_effort.budget("none") == 0
    assert role.reasoning_effort.budget("max") == EffortBudgets().max > EffortBudgets().high
    with pytest.raises(ValueError, match="extreme"):
        RoleConfig.model_validate({"model": {"source": "local", "path": "/m"},
                                   "reasoning_effort": {"extreme": 1}})


@pytest.fixture(params=["hf", "vllm"])
def url(request, tiny_app, mixed) -> str:
    return tiny_app if request.param == "hf" else mixed


@pytest.mark.parametrize("effort", SDK_LEVELS)
def test_each_level_is_the_roles_budget_on_every_route(url, effort):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
    want = thought(TINY_EFFORT[effort])
    chat = client.chat.completions.create(model="reasoning", messages=MESSAGES, max_tokens=MAX,
                                          reasoning_effort=effort)
    details = chat.usage.completion_tokens_details
    assert (details.reasoning_tokens if details else 0) == want
    r = client.responses.create(model="reasoning", input=QUESTION, max_output_tokens=MAX,
                                reasoning={"effort": effort})
    assert r.usage.output_tokens_details.reasoning_tokens == want
    assert [i.type for i in r.output][:1] == (["reasoning"] if want else ["message"])
    body = {"prompt": QUESTION, "roles": ["reasoning"], "reasoning_effort": effort,
            "params": {"max_new_tokens": MAX}}
    result = CompareResponse.model_validate(
        httpx.post(f"{url}/v1/compare", json=body, timeout=120).json()).result("reasoning")
    details = result.usage.completion_tokens_details
    assert (details.reasoning_tokens if details else 0) == want
    assert (result.thinking is not None) == bool(want)


def test_a_budget_in_the_parameters_wins_over_the_level_on_compare(url):
    body = {"prompt": QUESTION, "roles": ["reasoning"], "reasoning_effort": "max",
            "params": {"max_new_tokens": MAX, "max_thinking_tokens": 3}}
    result = CompareResponse.model_validate(
        httpx.post(f"{url}/v1/compare", json=body, timeout=120).json()).result("reasoning")
    assert result.usage.completion_tokens_details.reasoning_tokens == thought(3)


@pytest.mark.parametrize("route, body, param", [
    ("chat/completions", {"model": "reasoning", "messages": MESSAGES, "reasoning_effort": "extreme"},
     "reasoning_effort"),
    ("completions", {"model": "reasoning", "prompt": QUESTION, "reasoning_effort": "extreme"},
     "reasoning_effort"),
    ("responses", {"model": "reasoning", "input": QUESTION, "reasoning": {"effort": "extreme"}},
     "reasoning.effort"),
    ("compare", {"prompt": QUESTION, "reasoning_effort": "extreme"}, "reasoning_effort"),
])
def test_an_unknown_level_is_a_400_naming_it(tiny_app, route, body, param):
    r = httpx.post(f"{tiny_app}/v1/{route}", json=body, timeout=30)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"].startswith(param) and "'xhigh'" in error["message"]  # the levels

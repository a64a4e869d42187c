"""Apps shared by the server tests (tests/shared_apps.py: each starts on first use, and again
after a `big_servers` module)."""

from __future__ import annotations

import pytest

from apps import TINY_EFFORT, scripted_role, tiny_roles, vllm_role
from budgets import VLLM_START_S, start_budget
from serving import deploy

# A tool call as Qwen2.5 and Qwen3 write it (the Hermes format).
TOOL_CALL_SCRIPT = ["Let me look.", "<tool_call>", '\n{"name": "get_weather", ',
                    '"arguments": {"city": "Paris", "unit": "celsius"}}', "\n</tool_call>"]


# Declared at import, before collection ends (tests/budgets.py): two vLLM engines start side by side.
MIXED_START_S = start_budget("mixed", 2 * VLLM_START_S)


@pytest.fixture(scope="module")
def mixed(request, shared_servers, serve_instance, tiny_dirs, both_dir) -> str:
    """Roles on both engines: base on our loop (hf), instruct and reasoning on vLLM; base and
    instruct read tool calls (hermes). Base allows 512 new tokens, so that the engine-death test
    (test_engine_death.py, which kills base's and instruct's engines) has long streams running."""
    args = tiny_roles(tiny_dirs, base={"tool_parser": "hermes", "n_cap": 4, "max_input_tokens": 1024,
                                       "max_new_tokens_cap": 512})
    args["roles"]["instruct"] = vllm_role(both_dir, system_prompt="You are a helpful assistant.",
                                          tool_parser="hermes", n_cap=4)
    args["roles"]["reasoning"] = vllm_role(both_dir, reasoning=True, served_model_name="tiny-vllm-r",
                                           reasoning_effort=TINY_EFFORT)
    return shared_servers.app(
        "mixed", lambda: deploy("mixed", args, serve_instance, timeout_s=MIXED_START_S),
        owner=request.fixturename)


@pytest.fixture(scope="module")
def tooling(request, shared_servers, serve_instance) -> str:
    """A scripted role that answers every chat with a tool call, read by vLLM's hermes parser."""
    role = {**scripted_role(tokens=TOOL_CALL_SCRIPT), "tool_parser": "hermes"}
    return shared_servers.app(
        "tooling", lambda: deploy("tooling", {"roles": {"agent": role}}, serve_instance),
        owner=request.fixturename)

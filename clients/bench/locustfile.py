"""Locust load test for a triserve server: streaming comparisons and chats, TTFT as its own metric.

Headless, 8 users started 2 a second, for 2 minutes, with CSV stats and an HTML report:

    locust -f clients/bench/locustfile.py --headless --host http://127.0.0.1:8000 \\
        -u 8 -r 2 -t 2m --csv locust --html locust.html --max-new-tokens 64

With a web UI instead: `locust -f clients/bench/locustfile.py --host http://127.0.0.1:8000`, then open
http://localhost:8089. Options of this file (also as environment variables): --prompts FILE
(probes YAML, JSONL or text, as `triserve bench --prompts`; default the study's five probes),
--max-new-tokens, --chat-role, --compare-roles (comma-separated), --api-key (TRISERVE_API_KEY).

Locust's own rows time each POST until the response headers (the requests are streamed); the rows
of type TTFT time the first token (name: the route or the chat role) and E2E the whole stream.
A stream that breaks, holds an error frame, or a comparison in which a role failed counts as a
failure of the POST. `triserve bench` measures more (TPOT, ITL, tokens/s, goodput, 503s apart);
this file is for those who already drive their load tests with Locust.
"""

from __future__ import annotations

import itertools
import json
import os
import time

from locust import HttpUser, between, events, task

from clients.bench.prompts import PromptPicker, load_prompts
from clients.bench.targets import Target
from clients.sse import DONE, frame_error, sse_data
from serve.api.protocol import GenerationParams


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--prompts", default="", env_var="TRISERVE_PROMPTS",
                        help="Prompts file (default: the study's five probes).")
    parser.add_argument("--max-new-tokens", type=int, default=64,
                        env_var="TRISERVE_MAX_NEW_TOKENS", help="Most new tokens per request.")
    parser.add_argument("--chat-role", default="instruct", env_var="TRISERVE_CHAT_ROLE",
                        help="The role the chat task talks to.")
    parser.add_argument("--compare-roles", default="", env_var="TRISERVE_COMPARE_ROLES",
                        help="Roles of the compare task, comma-separated (default: all).")
    parser.add_argument("--api-key", default=os.environ.get("TRISERVE_API_KEY", ""),
                        help="API key (default: TRISERVE_API_KEY).", is_secret=True)


_users = itertools.count()  # each user its own seed: different, repeatable prompt orders


class TriserveUser(HttpUser):
    wait_time = between(0.5, 2.0)  # think time between a user's requests

    def on_start(self):
        opts = self.environment.parsed_options
        self.picker = PromptPicker(load_prompts(opts.prompts or None), seed=next(_users))
        params = GenerationParams(max_new_tokens=opts.max_new_tokens)
        roles = [r for r in opts.compare_roles.split(",") if r] or None
        # The bodies are `triserve bench`'s own, built from the wire models.
        self.compare_target = Target("compare", roles=roles, params=params)
        self.chat_target = Target("chat", role=opts.chat_role, params=params)
        self.headers = {"accept": "text/event-stream", "content-type": "application/json"}
        if opts.api_key:
            self.headers["authorization"] = f"Bearer {opts.api_key}"

    @task
    def compare(self):
        body = self.compare_target.body(self.picker.next())
        self._stream("/v1/compare", body, "/v1/compare", _compare_frame)

    @task
    def chat(self):
        body = self.chat_target.body(self.picker.next())
        self._stream("/v1/chat/completions", body, f"chat {self.chat_target.role}", _chat_frame)

    def _stream(self, path: str, body: bytes, name: str, is_token) -> None:
        start = time.perf_counter()
        first = None
        with self.client.post(path, data=body, headers=self.headers, stream=True,
                              catch_response=True, name=path) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            try:
                problem = "the stream ended without [DONE]"
                for data in sse_data(response.iter_lines(decode_unicode=True)):
                    if data == DONE:
                        problem = None
                        break
                    frame = json.loads(data)
                    error = frame_error(frame)
                    if error:
                        problem = f"error frame: {error.get('message')}"
                        break
                    if first is None and is_token(frame):
                        first = time.perf_counter()
                        self._fire("TTFT", name, first - start)
                    role_error = _role_error(frame)
                    if role_error:
                        problem = role_error
            except Exception as exc:  # a cut connection, a frame that is not JSON
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                response.failure(problem)
            else:
                response.success()
                self._fire("E2E", name, time.perf_counter() - start)

    def _fire(self, kind: str, name: str, seconds: float) -> None:
        events.request.fire(request_type=kind, name=name, response_time=seconds * 1000,
                            response_length=0, exception=None, context={})


def _compare_frame(frame: dict) -> bool:
    return frame.get("type") == "delta" and bool(frame.get("content") or frame.get("thinking"))


def _chat_frame(frame: dict) -> bool:
    return any((c.get("delta") or {}).get("content") or (c.get("delta") or {}).get(
        "reasoning_content") for c in frame.get("choices") or [])


def _role_error(frame: dict) -> str | None:
    result = frame.get("result") if frame.get("type") == "result" else None
    if result and isinstance(result.get("error"), dict):
        return f"role {result.get('role')}: {result['error'].get('message')}"
    return None

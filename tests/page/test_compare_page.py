"""The comparison page, end to end: real headless Chromium against the real serving graph.

The tiny app (three roles on tiny random models) shows that a comparison fills every column and
the reasoning role's thinking; a scripted app that streams slowly shows the stop button, a
failing role's error, the bearer token and the phone layout.
"""

from __future__ import annotations

import time

import httpx
import pytest
from serving import deploy
from browser_fixtures import chromium, context, page  # noqa: F401  (fixtures)
from playwright.sync_api import expect

from apps import scripted_role
from clients.study import load_probes
from serve.api.protocol import CompareResponse
from tools.update_probes import PAGE_PROBES, page_probes

PROMPT = "9.11和9.8哪个更大？"


@pytest.fixture(scope="module")
def slow_app(serve_instance):
    """Two roles that stream 200 tokens at 20 a second (10 s), and one that always fails."""
    from ray import serve

    words = [f"w{i} " for i in range(200)]
    roles = {
        "base": scripted_role(tokens=words, token_s=0.05),
        "reasoning": {**scripted_role(tokens=words, think=["let me think "] * 4, token_s=0.05),
                      "reasoning": True},
        "broken": scripted_role(fail_with="the scripted engine failed on purpose"),
    }
    for cfg in roles.values():
        cfg.update(max_new_tokens_cap=512, defaults={"max_new_tokens": 256})
    yield deploy("pageslow", {"roles": roles}, serve_instance)
    serve.delete("pageslow")


def column(page, role):
    return page.locator(f"#col-{role}")


def test_page_fills_every_column_and_shows_the_thinking(tiny_app, page):
    page.goto(tiny_app)  # no trailing slash: the page's <base> still points into /tiny/
    for role in ("base", "instruct", "reasoning"):
        expect(page.get_by_role("checkbox", name=role)).to_be_checked()

    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_role("button", name="Compare").click()

    for role in ("base", "instruct", "reasoning"):
        expect(column(page, role)).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.get_by_role("status")).to_contain_text("Done in")

    # The same greedy request through the API: the page shows exactly what the server answers.
    api = CompareResponse.model_validate(
        httpx.post(f"{tiny_app}/v1/compare", json={"prompt": PROMPT}, timeout=60).json()
    )
    for role in ("base", "instruct"):
        col = column(page, role)
        answer = api.result(role).content
        assert answer.strip()
        assert col.locator(".answer").text_content() == answer
        expect(col.locator(".thinking")).to_be_hidden()
        tokens = col.locator(".s-tokens").text_content()
        assert tokens == str(api.result(role).usage.completion_tokens)
        assert col.locator(".s-latency").text_content().endswith(" s")

    # The tiny Qwen3 template opens <think>: the reasoning role's output is all thinking.
    thinking = column(page, "reasoning").locator(".thinking")
    expect(thinking).to_be_visible()
    expect(thinking.locator("summary")).to_have_text("Thinking")
    assert thinking.locator(".thinking-text").text_content() == api.result("reasoning").thinking
    thinking.locator("summary").click()  # it folds
    expect(thinking.locator(".thinking-text")).to_be_hidden()


def test_the_thinking_budget_makes_the_reasoning_role_answer(tiny_app, page):
    page.goto(tiny_app)
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/v1/compare") else None)
    page.get_by_text("System prompt, generation settings, API key").click()
    page.get_by_label("Thinking budget").fill("3")
    page.get_by_label("Max new tokens").fill("24")
    page.get_by_role("checkbox", name="base").uncheck()
    page.get_by_role("checkbox", name="instruct").uncheck()
    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_role("button", name="Compare").click()
    expect(column(page, "reasoning")).to_have_attribute("data-state", "done", timeout=30_000)
    assert sent[-1].post_data_json["params"] == {"max_new_tokens": 24, "max_thinking_tokens": 3}
    api = CompareResponse.model_validate(httpx.post(f"{tiny_app}/v1/compare", json={
        "prompt": PROMPT, "roles": ["reasoning"],
        "params": {"max_new_tokens": 24, "max_thinking_tokens": 3}}, timeout=60).json())
    col = column(page, "reasoning")
    # The budget spent, the model was made to answer: thinking and an answer, as the API says.
    assert col.locator(".thinking-text").text_content() == api.result("reasoning").thinking
    assert col.locator(".answer").text_content() == api.result("reasoning").content
    assert api.result("reasoning").usage.completion_tokens_details.reasoning_tokens == 3 + 1


def test_a_probe_is_one_click_away(tiny_app, page):
    page.goto(f"{tiny_app}/")
    page.get_by_role("button", name="9.11 vs 9.8").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(PROMPT)
    expect(column(page, "reasoning")).to_have_attribute("data-state", "done", timeout=30_000)
    buttons = page.get_by_role("group", name="The study's probes:").get_by_role("button")
    expect(buttons).to_have_count(5)
    # Each button sends exactly the study's prompt (clients/study/probes.yaml), line breaks kept.
    study = [(p.label, p.text) for p in load_probes()]
    assert [(b.text_content(), b.get_attribute("title")) for b in buttons.all()] == study


def test_the_page_probes_file_is_made_from_the_study_file():
    assert PAGE_PROBES.read_text(encoding="utf-8") == page_probes(), (
        "serve/static/probes.json is stale: run .venv/bin/python -m tools.update_probes")


# Real networks split frames anywhere, even inside a UTF-8 character or a \r\n: chunks of 1 to 7
# bytes cover every cut.
READ_SPLIT_STREAM = """async (text) => {
  const { compareEvents, DONE } = await import("./static/sse.js");
  const bytes = new TextEncoder().encode(text);
  const runs = [];
  for (let size = 1; size <= 7; size++) {
    const body = new ReadableStream({ start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    } });
    const out = [];
    for await (const event of compareEvents(new Response(body))) out.push(event === DONE ? "DONE" : event);
    runs.push(out);
  }
  return runs;
}"""


def test_the_stream_reader_survives_frames_split_anywhere(tiny_app, page):
    page.goto(tiny_app)
    frames = ('data: {"role":"base","type":"delta","content":"苹果、香蕉"}\r\n\r\n'
              ": a comment line\n\n"
              'data: {"role":"base",\r\ndata: "type":"result"}\r\n\r\n'  # one event, two lines
              "data: [DONE]\n\n"
              'data: {"role":"late"}\n\n')
    expected = [
        {"role": "base", "type": "delta", "content": "苹果、香蕉"},
        {"role": "base", "type": "result"},
        "DONE",  # and nothing after it
    ]
    assert page.evaluate(READ_SPLIT_STREAM, frames) == [expected] * 7


def test_stop_aborts_a_streaming_comparison(slow_app, page):
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/v1/compare") else None)
    page.goto(slow_app)
    page.get_by_text("System prompt, generation settings, API key").click()
    page.get_by_label("API key").fill("sk-page-test")
    page.get_by_label("API key").press("Tab")  # change event: stored for this tab
    page.get_by_label("Max new tokens").fill("200")

    page.get_by_label("Prompt", exact=True).fill("count slowly")
    page.get_by_label("Prompt", exact=True).press("Control+Enter")  # keyboard submit
    base, reasoning = column(page, "base"), column(page, "reasoning")
    expect(base).to_have_attribute("data-state", "streaming", timeout=20_000)
    expect(base.locator(".answer")).to_contain_text("w5 ", timeout=20_000)
    expect(reasoning.locator(".thinking-text")).to_contain_text("let me think")
    expect(column(page, "broken")).to_have_attribute("data-state", "error")
    expect(column(page, "broken").get_by_role("alert")).not_to_be_empty()

    page.get_by_role("button", name="Stop").click()
    for col in (base, reasoning):
        expect(col).to_have_attribute("data-state", "stopped")
        expect(col.locator(".badge")).to_have_text("stopped")
    expect(page.get_by_role("status")).to_contain_text("Stopped after")
    expect(page.get_by_role("button", name="Compare")).to_be_enabled()
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    expect(page.locator("#vote")).to_be_hidden()  # no vote on half answers
    stopped_at = base.locator(".answer").text_content()
    time.sleep(0.5)  # 10 more tokens' time: nothing more arrives
    assert base.locator(".answer").text_content() == stopped_at
    assert "w199" not in stopped_at and base.locator(".stats").is_hidden()

    request = sent[-1]
    assert request.headers["authorization"] == "Bearer sk-page-test"
    assert request.post_data_json["params"] == {"max_new_tokens": 200}
    assert request.post_data_json["stream"] is True
    assert page.evaluate("sessionStorage.getItem('triserve.apiKey')") == "sk-page-test"


def test_phone_width_stacks_the_columns(slow_app, chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(slow_app)
    page.get_by_label("Prompt", exact=True).fill("short")
    page.get_by_role("button", name="Compare").click()
    expect(column(page, "base")).to_have_attribute("data-state", "streaming", timeout=20_000)
    boxes = [column(page, r).bounding_box() for r in ("base", "reasoning", "broken")]
    assert len({round(b["x"]) for b in boxes}) == 1  # one column, stacked
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Escape")  # Esc stops too
    expect(column(page, "base")).to_have_attribute("data-state", "stopped")
    context.close()

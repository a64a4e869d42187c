"""The arena on the page, end to end in headless Chromium against a real Serve app: votes (cast,
changed, retried after a failure, stored as the server exports them), blind mode, the download of
one comparison, the permalink and the leaderboard panel, at desktop and phone width.

Three scripted roles with distinct model ids; the reasoning role thinks, then answers more slowly
than the others, so a test can look at the page while one role still streams. The votes go to a
temporary SQLite file. TRISERVE_SCREENSHOTS=1 writes the README's screenshots into docs/.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import httpx
import pytest
from browser_fixtures import chromium, context, page  # noqa: F401  (fixtures)
from playwright.sync_api import expect
from serving import deploy

from apps import scripted_role
from serve.api.votes import Leaderboard, VoteRecord

ROLES = ("base", "instruct", "reasoning")
ANSWERS = {
    "base": ["苹果、香蕉、", "橘子、", "胡萝卜、", "土豆"],
    "instruct": ["9.8 ", "is ", "larger: ", "0.80 > 0.11."],
    "reasoning": ["**9.8** ", "is ", "larger."],
}
THINKING = ["Compare ", "the ", "tenths: ", "8 > 1."]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def arena_app(serve_instance, tmp_path_factory):
    from ray import serve

    db = tmp_path_factory.mktemp("page-votes") / "votes.db"
    roles = {}
    for role in ROLES:
        slow = role == "reasoning"
        script = {"tokens": ANSWERS[role], "token_s": 0.3 if slow else 0.01}
        if slow:
            script["think"] = THINKING
        roles[role] = {**scripted_role(**script), "served_model_name": f"scripted-{role}",
                       "reasoning": slow}
    args = {"roles": roles, "votes": {"database_url": f"sqlite:///{db}", "bootstrap_samples": 200}}
    yield deploy("pagearena", args, serve_instance)
    serve.delete("pagearena")


def shot(page, name: str, tmp_path: Path, target=None, **kw) -> None:
    """Screenshot (of the page, or of `target`) into docs/ when asked (TRISERVE_SCREENSHOTS=1),
    else beside the test's files."""
    out = DOCS / name if os.environ.get("TRISERVE_SCREENSHOTS") == "1" else tmp_path / name
    page.evaluate("document.activeElement && document.activeElement.blur()")
    (target or page).screenshot(path=str(out), **kw)


def js_round(x: float) -> int:
    return math.floor(x + 0.5)  # JavaScript's Math.round (Python's round() rounds half to even)


def votes(url: str) -> list[VoteRecord]:
    r = httpx.get(f"{url}/v1/votes", timeout=30)
    assert r.status_code == 200, r.text
    return [VoteRecord.model_validate_json(line) for line in r.text.splitlines()]


def vote_on(url: str, prompt: str) -> list[VoteRecord]:
    return [v for v in votes(url) if v.prompt == prompt]


def shown_roles(page) -> list[str]:
    return page.eval_on_selector_all("#results .column", "cs => cs.map(c => c.dataset.role)")


def compare(page, prompt: str) -> None:
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_role("button", name="Compare", exact=True).click()


def wait_done(page) -> None:
    """Every column of the comparison done (a battle's two, or every role's)."""
    expect(page.locator("#results .column").first).to_be_attached()  # the columns are drawn
    for column in page.locator("#results .column").all():
        expect(column).to_have_attribute("data-state", "done", timeout=30_000)


VOTE = "#vote"


def test_a_vote_is_stored_changed_and_exported_with_the_new_verdict(arena_app, page):
    prompt = "vote: 9.11和9.8哪个更大？"
    page.goto(arena_app)
    page.get_by_text("System prompt, generation settings, API key").click()
    page.get_by_label("System prompt").fill("Answer briefly.")
    page.get_by_label("Max new tokens").fill("32")
    compare(page, prompt)

    # No vote while any answer streams: base and instruct are done, reasoning still thinks.
    expect(page.locator("#col-base")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.locator("#col-reasoning")).not_to_have_attribute("data-state", "done")
    expect(page.locator(VOTE)).to_be_hidden()
    wait_done(page)
    panel = page.get_by_role("region", name="Which answer is best?")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("button")).to_have_text(
        ["base is best", "instruct is best", "reasoning is best", "Tie", "All bad"])

    panel.get_by_role("button", name="base is best").click()
    expect(panel.get_by_role("button", name="base is best")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#vote-status")).to_have_text(re.compile("^Vote saved: base is best"))
    [first] = vote_on(arena_app, prompt)
    assert (first.verdict, first.winner) == ("winner", "base")

    # Changed: the same comparison_id, so the store replaces the vote.
    panel.get_by_role("button", name="instruct is best").click()
    expect(page.locator("#vote-status")).to_have_text(re.compile("^Vote changed: instruct is best"))
    expect(panel.get_by_role("button", name="base is best")).to_have_attribute("aria-pressed", "false")
    expect(panel.get_by_role("button", name="instruct is best")).to_have_attribute("aria-pressed", "true")
    panel.get_by_role("button", name="Tie").click()
    expect(page.locator("#vote-status")).to_have_text(re.compile("^Vote changed: a tie"))

    [vote] = vote_on(arena_app, prompt)  # one vote, the last verdict
    assert (vote.id, vote.comparison_id) == (first.id, first.comparison_id)
    assert (vote.verdict, vote.winner, vote.blind) == ("tie", None, False)
    assert vote.shown_order == list(ROLES) == shown_roles(page)
    assert vote.system == "Answer briefly." and vote.params == {"max_new_tokens": 32}
    answers = {a.role: a for a in vote.answers}
    for role in ROLES:
        assert answers[role].model == f"scripted-{role}"
        assert answers[role].content == "".join(ANSWERS[role])
        assert page.locator(f"#col-{role} .answer").text_content() == answers[role].content
    assert answers["reasoning"].thinking == "".join(THINKING)
    assert answers["base"].thinking is None

    # The next comparison closes the vote; the stored one stays as it was.
    compare(page, "vote: the next one")
    expect(page.locator(VOTE)).to_be_hidden()
    wait_done(page)
    expect(panel.get_by_role("button", name="Tie")).to_have_attribute("aria-pressed", "false")
    assert [v.verdict for v in vote_on(arena_app, prompt)] == ["tie"]


def test_a_failed_vote_says_so_and_can_be_sent_again(arena_app, page):
    prompt = "vote: fails once"
    page.goto(arena_app)
    compare(page, prompt)
    wait_done(page)
    page.route("**/v1/votes", lambda route: route.fulfill(
        status=503, content_type="application/json", headers={"Retry-After": "1"},
        body=json.dumps({"error": {"message": "the vote store is restarting", "type": "unavailable"}})))
    panel = page.get_by_role("region", name="Which answer is best?")
    panel.get_by_role("button", name="reasoning is best").click()
    expect(panel.get_by_role("alert")).to_contain_text("not saved (503: the vote store is restarting)")
    expect(panel.get_by_role("button", name="reasoning is best")).to_have_attribute("aria-pressed", "false")
    assert vote_on(arena_app, prompt) == []

    page.unroute("**/v1/votes")
    panel.get_by_role("button", name="Send the vote again").click()
    expect(panel.get_by_role("button", name="reasoning is best")).to_have_attribute("aria-pressed", "true")
    expect(panel.get_by_role("alert")).to_be_hidden()
    assert [v.winner for v in vote_on(arena_app, prompt)] == ["reasoning"]


def test_blind_mode_is_a_battle_whose_names_never_reach_the_page_before_the_vote(
        arena_app, page, tmp_path):
    """Blind, with three roles on the server: a battle of two drawn by the server. Nothing the
    page receives names them (the compare stream is read as it reached the browser) until the
    vote's answer reveals them, in place."""
    prompt = "9.11和9.8哪个更大？"  # the only test with this prompt: vote_on() finds its vote
    page.goto(arena_app)
    page.get_by_role("checkbox", name="Blind vote").check()
    page.reload()  # remembered
    expect(page.get_by_role("checkbox", name="Blind vote")).to_be_checked()
    received = []

    def keep(route):
        response = route.fetch()
        received.append(response.text())
        route.fulfill(response=response)

    page.route("**/v1/compare", keep)
    compare(page, prompt)
    titles = page.locator("#results .col-title")
    expect(titles).to_have_text(["Answer A", "Answer B"])
    wait_done(page)
    events = [json.loads(line[6:]) for line in received[0].splitlines()
              if line.startswith("data: {")]
    assert {e["role"] for e in events} == {"A", "B"}
    assert all(e["result"]["model"] == "" for e in events if e["type"] == "result")
    assert "scripted-" not in received[0]  # no model id anywhere in what the page got

    results = page.locator("#results")
    for role in ROLES:  # neither role nor model is on screen, nor in the accessibility tree
        expect(results).not_to_contain_text(role, ignore_case=True)
        expect(results).not_to_contain_text(f"scripted-{role}")
    expect(page.locator("#results .answer").first).to_have_attribute("aria-label", "Answer A")
    expect(page.locator("#export")).to_be_hidden()  # a download would name them
    expect(page.get_by_label("Follow-up")).to_be_hidden()  # a battle is one turn
    panel = page.get_by_role("region", name="Which answer is best?")
    expect(panel.get_by_role("button")).to_have_text(["A is best", "B is best", "Tie", "All bad"])
    shot(page, "arena-blind-vote.png", tmp_path, full_page=True)

    panel.get_by_role("button", name="B is best").click()
    expect(page.locator("#vote-status")).to_contain_text(re.compile(r"Vote saved: B \(\w+\) is best"))
    order = shown_roles(page)
    assert len(order) == 2 and set(order) <= set(ROLES)
    for i, role in enumerate(order):  # revealed, in place
        expect(titles.nth(i)).to_contain_text(f"Answer {'AB'[i]}")
        expect(titles.nth(i)).to_contain_text(role)
        expect(titles.nth(i)).to_contain_text(f"scripted-{role}")
    expect(page.locator("#export")).to_be_visible()

    [vote] = vote_on(arena_app, prompt)
    assert vote.blind is True
    assert vote.shown_order == order
    assert (vote.verdict, vote.winner) == ("winner", order[1])
    assert [a.model for a in vote.answers] == [f"scripted-{a.role}" for a in vote.answers]

    # The shuffle is a shuffle: every order of three turns up in 300 draws.
    orders = page.evaluate("""async () => {
      const { shuffled } = await import("./static/blind.js");
      const seen = new Set();
      for (let i = 0; i < 300; i++) seen.add(shuffled(["a", "b", "c"]).join(""));
      return [...seen].sort();
    }""")
    assert orders == ["abc", "acb", "bac", "bca", "cab", "cba"]


def test_a_comparison_downloads_as_json_and_markdown(arena_app, page, tmp_path):
    prompt = "export: 9.11和9.8哪个更大？"
    page.goto(arena_app)
    page.get_by_text("System prompt, generation settings, API key").click()
    page.get_by_label("Temperature").fill("0")
    compare(page, prompt)
    wait_done(page)
    bar = page.get_by_role("group", name="Download this comparison:")

    with page.expect_download() as info:
        bar.get_by_role("button", name="JSON").click()
    download = info.value
    assert re.fullmatch(r"triserve-.+\.json", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["prompt"] == prompt and data["params"] == {"temperature": 0}
    assert data["object"] == "compare" and data["id"] in download.suggested_filename
    assert [r["role"] for r in data["results"]] == list(ROLES)
    for r in data["results"]:
        assert r["content"] == "".join(ANSWERS[r["role"]]) and r["model"] == f"scripted-{r['role']}"
        assert r["usage"]["completion_tokens"] > 0
    assert data["results"][2]["thinking"] == "".join(THINKING)

    with page.expect_download() as info:
        bar.get_by_role("button", name="Markdown").click()
    md = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".md")
    assert f"> {prompt}" in md and "`temperature=0`" in md
    for role in ROLES:
        assert f"## {role} · `scripted-{role}`" in md
        assert "".join(ANSWERS[role]) in md
    assert "<details><summary>Thinking</summary>\n\n" + "".join(THINKING) in md

    # After a vote the download carries it, and the vote's comparison is this one.
    page.get_by_role("button", name="reasoning is best").click()
    expect(page.get_by_role("button", name="reasoning is best")).to_have_attribute("aria-pressed", "true")
    with page.expect_download() as info:
        bar.get_by_role("button", name="JSON").click()
    voted = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert voted["vote"] == {"verdict": "winner", "winner": "reasoning"}
    assert [v.comparison_id for v in vote_on(arena_app, prompt)] == [data["id"]]


def test_a_permalink_fills_the_form_in_a_new_page(arena_app, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(arena_app)
    prompt = "link: 100% & #1? 9.11和9.8\nline two"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_role("checkbox", name="base").uncheck()
    page.get_by_text("System prompt, generation settings, API key").click()
    page.get_by_label("System prompt").fill("Be brief & exact.")
    page.get_by_label("Max new tokens").fill("24")
    page.get_by_label("Temperature").fill("0.5")
    page.locator("#enable_thinking").select_option("false")
    page.get_by_role("button", name="Link").click()
    expect(page.get_by_role("status")).to_contain_text("Link copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.url and "#prompt=" in link and "&roles=instruct%2Creasoning" in link

    sent = []
    other = context.new_page()
    other.on("request", lambda r: sent.append(r.url))
    other.goto(link)
    expect(other.get_by_label("Prompt", exact=True)).to_have_value(prompt)
    expect(other.get_by_role("checkbox", name="base")).not_to_be_checked()
    expect(other.get_by_role("checkbox", name="instruct")).to_be_checked()
    expect(other.get_by_role("checkbox", name="reasoning")).to_be_checked()
    expect(other.get_by_label("System prompt")).to_have_value("Be brief & exact.")
    expect(other.get_by_label("Max new tokens")).to_have_value("24")
    expect(other.get_by_label("Temperature")).to_have_value("0.5")
    expect(other.locator("#enable_thinking")).to_have_value("false")
    other.wait_for_timeout(300)
    assert not any(u.endswith("/v1/compare") for u in sent)  # filled, not run
    assert not any("prompt=" in u for u in sent)  # the fragment never leaves the browser

    # run=1 also runs it.
    ran = context.new_page()
    ran.goto(f"{link}&run=1")
    for role in ("instruct", "reasoning"):
        expect(ran.locator(f"#col-{role}")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(ran.locator("#col-base")).to_have_count(0)


def test_the_leaderboard_panel_shows_the_standings_and_follows_the_votes(arena_app, page, tmp_path):
    page.goto(arena_app)
    board = page.get_by_role("region", name="Leaderboard")
    for winner in ("reasoning", "instruct"):
        compare(page, f"board: {winner} wins")
        wait_done(page)
        page.get_by_role("button", name=f"{winner} is best").click()
        expect(page.get_by_role("button", name=f"{winner} is best")).to_have_attribute("aria-pressed", "true")
        api = Leaderboard.model_validate(
            httpx.get(f"{arena_app}/v1/leaderboard", params={"by": "model"}, timeout=30).json())
        expect(board).to_contain_text(re.compile(rf"\b{api.votes} votes? ·"))  # refreshed after the vote

    rows = board.locator("tbody tr")
    expect(rows).to_have_count(len(api.standings))
    for i, s in enumerate(api.standings):
        row = rows.nth(i)
        expect(row.get_by_role("rowheader")).to_have_text(s.name)
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(str(s.rank))
        expect(cells.nth(1)).to_have_text(
            f"{js_round(s.strength)} ({js_round(s.ci_low)}–{js_round(s.ci_high)})")
        expect(cells.nth(2)).to_have_text(str(s.wins))
        expect(cells.nth(3)).to_have_text(str(s.losses))
        expect(cells.nth(4)).to_have_text(str(s.ties))
    assert {s.name for s in api.standings} == {f"scripted-{r}" for r in ROLES}
    # The bar: the interval spans the point.
    range_box = rows.first.locator(".ci-range").bounding_box()
    point_box = rows.first.locator(".ci-point").bounding_box()
    centre = point_box["x"] + point_box["width"] / 2
    assert range_box["x"] - 1 <= centre <= range_box["x"] + range_box["width"] + 1
    shot(page, "arena-leaderboard.png", tmp_path, target=page.locator("#leaderboard"))

    board.get_by_role("button", name="By role").click()
    expect(board.get_by_role("button", name="By role")).to_have_attribute("aria-pressed", "true")
    expect(rows.get_by_role("rowheader")).to_have_text(
        [s.name for s in Leaderboard.model_validate(httpx.get(
            f"{arena_app}/v1/leaderboard", params={"by": "role"}, timeout=30).json()).standings])


def test_phone_width_blind_vote_and_leaderboard(arena_app, chromium, tmp_path):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(arena_app)
    page.get_by_role("checkbox", name="Blind vote").check()
    compare(page, "Which is larger, 9.11 or 9.8?")
    wait_done(page)
    xs = {round(c.bounding_box()["x"]) for c in page.locator("#results .column").all()}
    assert len(xs) == 1  # stacked
    page.get_by_role("button", name="A is best").click()
    expect(page.get_by_role("button", name=re.compile(r"^A \(\w+\) is best"))).to_have_attribute(
        "aria-pressed", "true")
    expect(page.get_by_role("region", name="Leaderboard").locator("tbody tr")).to_have_count(3)
    for selector in ("#vote-buttons button", "#leaderboard table"):
        for box in [b.bounding_box() for b in page.locator(selector).all()]:
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "compare-page-phone.png", tmp_path, full_page=True)
    context.close()


def test_a_server_without_votes_shows_no_vote_and_no_leaderboard(arena_app, page):
    # votes.enabled off: the votes routes answer 404 (serve/ingress/votes_routes.py); mocked here.
    page.route("**/v1/leaderboard*", lambda route: route.fulfill(
        status=404, content_type="application/json",
        body=json.dumps({"error": {"message": "votes are off", "type": "not_found"}})))
    page.add_init_script("localStorage.setItem('triserve.blind', '1')")
    page.goto(arena_app)
    expect(page.get_by_role("region", name="Leaderboard")).to_be_hidden()
    expect(page.get_by_text("Blind vote")).to_be_hidden()
    compare(page, "no votes here")
    wait_done(page)
    expect(page.locator("#results .col-title").first).not_to_contain_text("Answer")
    expect(page.locator(VOTE)).to_be_hidden()
    expect(page.get_by_role("group", name="Download this comparison:")).to_be_visible()

"""Conversations on the page, in real headless Chromium: five columns, three turns through the
follow-up box (each column keeps its thread; each role is sent exactly its own, read from what
the scripted engines recorded), regenerate one column, and a vote that records the turn."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from browser_fixtures import chromium, context, page  # noqa: F401  (fixtures)
from playwright.sync_api import expect

ROLES = ["base", "base-b", "instruct", "reasoning", "reasoning-off"]


def columns_done(page, roles):
    for role in roles:
        expect(page.locator(f"#col-{role}")).to_have_attribute("data-state", "done",
                                                               timeout=30_000)


def test_five_columns_of_tiny_models_and_their_kinds(five_app, page):
    page.goto(five_app)
    page.get_by_label("Prompt", exact=True).fill("Hello")
    page.get_by_role("button", name="Compare").click()
    columns_done(page, ROLES)
    assert page.locator(".column").count() == 5
    expect(page.locator("#col-base-b .kind")).to_have_text("base")
    expect(page.locator("#col-reasoning-off .kind")).to_have_text("reasoning")
    expect(page.locator("#col-instruct .stat-cost")).to_be_visible()  # the role has a price
    expect(page.locator("#col-instruct .s-cost")).to_contain_text("$")
    expect(page.locator("#col-base .stat-cost")).to_be_hidden()
    # The downloads carry each answer's speed and cost.
    bar = page.get_by_role("group", name="Download this comparison:")
    with page.expect_download() as info:
        bar.get_by_role("button", name="JSON").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    costs = {r["role"]: r["cost_usd"] for r in data["results"]}
    assert costs["instruct"] > 0 and costs["base"] is None and data["turn"] == 1
    assert all(r["ttft_s"] is not None for r in data["results"])
    with page.expect_download() as info:
        bar.get_by_role("button", name="Markdown").click()
    md = Path(info.value.path()).read_text(encoding="utf-8")
    assert md.count("TTFT") == 5 and md.count("tokens/s") == 5 and md.count("$") == 1
    # Five columns wrap on a narrow screen rather than squeeze.
    page.set_viewport_size({"width": 800, "height": 900})
    tops = {round(page.locator(f"#col-{r}").bounding_box()["y"]) for r in ROLES}
    assert len(tops) > 1


def test_three_turns_keep_each_columns_thread_and_regenerate_then_vote(threads_app, page):
    url, records = threads_app
    records.clear()
    page.goto(url)
    page.get_by_label("Prompt", exact=True).fill("one")
    page.get_by_role("button", name="Compare").click()
    columns_done(page, ROLES)
    followup = page.get_by_label("Follow-up")
    for text in ("two", "three"):
        followup.fill(text)
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_contain_text("Done in", timeout=30_000)
        columns_done(page, ROLES)
    instruct = page.locator("#col-instruct")
    expect(instruct.locator(".past-turn")).to_have_count(2)
    expect(instruct.locator(".past-turn .you")).to_have_text(["one", "two"])
    expect(instruct.locator(".asked")).to_have_text("three")
    expect(instruct.locator(".answer")).to_have_text("I am instruct.")
    # What each role was sent on turn 3: its own thread, nothing of the others'.
    third = {role: records(role)[2] for role in ROLES}
    assert [m["content"] for m in third["instruct"]["messages"]] == [
        "Be brief.", "one", "I am instruct.", "two", "I am instruct.", "three"]
    assert [m["content"] for m in third["reasoning"]["messages"]] == [
        "one", "Reasoned answer.", "two", "Reasoned answer.", "three"]
    assert third["base-b"]["prompt"] == "one and more.\n\ntwo and more.\n\nthree"

    # Regenerate one column: only that role is asked again, with a new seed, same thread.
    instruct.get_by_role("button", name="Regenerate instruct").click()
    expect(page.get_by_role("status")).to_contain_text("Done in", timeout=30_000)
    expect(instruct).to_have_attribute("data-state", "done")
    regen = records("instruct")[3]
    assert regen["messages"] == third["instruct"]["messages"] and regen["seed"] is not None
    assert all(len(records(role)) == 3 for role in ROLES if role != "instruct")

    # A vote now is on turn 3 as shown, filed under the regenerate's comparison.
    page.get_by_role("button", name="instruct is best").click()
    expect(page.locator("#vote-status")).to_contain_text("Vote saved")
    lines = httpx.get(f"{url}/v1/votes").text.splitlines()
    vote = json.loads(lines[-1])
    assert vote["turn"] == 3 and vote["conversation_id"].startswith("conv-")
    assert vote["winner"] == "instruct" and len(vote["answers"]) == 5
    history = {a["role"]: a["history"] for a in vote["answers"]}
    assert [m["content"] for m in history["instruct"]] == ["one", "I am instruct.", "two",
                                                           "I am instruct."]


def test_a_probe_comparison_votes_in_the_probes_category_and_the_board_splits_by_it(
        threads_app, page):
    """A comparison started from a probe button is voted in that probe's category; the
    leaderboard's category selector then ranks that category alone, and its style control
    (on by default) can be turned off."""
    url, _ = threads_app
    page.goto(url)
    page.get_by_role("button", name="9.11 vs 9.8").click()
    columns_done(page, ROLES)
    page.get_by_role("button", name="reasoning is best").click()
    expect(page.locator("#vote-status")).to_contain_text("Vote saved")
    vote = json.loads(httpx.get(f"{url}/v1/votes").text.splitlines()[-1])
    assert vote["category"] == "decimal-compare" and vote["winner"] == "reasoning"

    board = page.locator("#leaderboard")
    board.get_by_role("button", name="By role").click()  # the roles all serve one model id here
    expect(board.locator("#board-summary")).to_contain_text("style held equal")
    board.get_by_label("Category").select_option("decimal-compare")
    api = httpx.get(f"{url}/v1/leaderboard", params={"category": "decimal-compare",
                                                     "by": "role"}).json()
    expect(board.locator("#board-summary")).to_contain_text(f"{api['votes']} vote")
    expect(board.locator("tbody th").first).to_have_text(api["standings"][0]["name"])
    board.get_by_label("Style control").uncheck()
    expect(board.locator("#board-summary")).not_to_contain_text("style held equal")

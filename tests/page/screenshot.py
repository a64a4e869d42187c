"""Screenshot of the comparison page after a comparison (the README's docs/compare-page.png).

    python tests/page/screenshot.py http://127.0.0.1:8000/ docs/compare-page.png --prompt "..."
    python tests/page/screenshot.py http://127.0.0.1:8000/ docs/compare-page.png --probe "9.11 vs 9.8"
    python tests/page/screenshot.py http://127.0.0.1:8000/ docs/compare-page-five.png \
        --prompt "Name a fruit." --follow-up "Why that one?" --follow-up "One more?"

It drives Debian's chromium like the page tests do, waits until every column has finished,
and saves the whole page.
"""

from __future__ import annotations

import argparse

from headless import launch
from playwright.sync_api import sync_playwright

FINISHED = "[...document.querySelectorAll('.column')].every(c => ['done','stopped','error'].includes(c.dataset.state))"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--prompt", help="type this prompt and press Compare")
    ap.add_argument("--probe", help="or click this probe button instead")
    ap.add_argument("--follow-up", action="append", default=[],
                    help="then send this follow-up turn (repeatable: a conversation)")
    ap.add_argument("--max-new-tokens", type=int)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--timeout-s", type=float, default=600)
    args = ap.parse_args()

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": args.width, "height": args.height},
                                device_scale_factor=1)
        page.goto(args.url)
        page.wait_for_selector('input[name="role"]')
        if args.max_new_tokens:
            page.get_by_text("System prompt, generation settings, API key").click()
            page.get_by_label("Max new tokens").fill(str(args.max_new_tokens))
            page.get_by_text("System prompt, generation settings, API key").click()
        if args.probe:
            page.get_by_role("button", name=args.probe).click()
        else:
            page.get_by_label("Prompt", exact=True).fill(args.prompt)
            page.get_by_role("button", name="Compare").click()
        page.wait_for_selector(".column")
        page.wait_for_function(FINISHED, timeout=args.timeout_s * 1000)
        for turn, text in enumerate(args.follow_up, start=2):
            page.get_by_label("Follow-up").fill(text)
            page.get_by_role("button", name="Send").click()
            archived = f"document.querySelectorAll('.column .past-turn').length >= {turn - 1}"
            page.wait_for_function(f"{archived} && {FINISHED} && !document.querySelector('#send').disabled",
                                   timeout=args.timeout_s * 1000)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.screenshot(path=args.out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()

"""Rewrite serve/static/probes.json, the comparison page's probe buttons, from the study's file.

The study's probes (clients/study/probes.yaml) are the one declaration of the five prompts; the
page cannot read YAML, and the server does not import the study, so it is given this copy
(`[{"id", "label", "prompt"}, ...]`, each prompt as the study sends it). tests/page checks that
the copy matches.

    .venv/bin/python -m tools.update_probes
"""

import json
from pathlib import Path

from clients.study import load_probes

PAGE_PROBES = Path(__file__).resolve().parents[1] / "serve" / "static" / "probes.json"


def page_probes() -> str:
    """The JSON text the page's probes file should hold (UTF-8, one button an element)."""
    return json.dumps([p.button for p in load_probes()], ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    PAGE_PROBES.write_text(page_probes(), encoding="utf-8")
    print(f"wrote {PAGE_PROBES}")

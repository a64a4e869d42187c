"""Counts what fault tests sent and what came back, so that no request goes unanswered unseen.

Each test adds its figures; `write()` saves them to out/reliability.json (the README's
Reliability table is made from one run's file).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

LEDGER: dict[str, Counter] = defaultdict(Counter)


def record(fault: str, outcome: str) -> None:
    LEDGER[fault]["sent"] += 1
    LEDGER[fault][outcome] += 1


def write() -> None:
    out = Path(__file__).resolve().parents[2] / "out"
    out.mkdir(exist_ok=True)
    path = out / "reliability.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **LEDGER}, indent=1, sort_keys=True))

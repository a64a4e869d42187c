"""Making model output safe to show: control characters become visible symbols.

A random or broken model can emit `\\r`, escape sequences or NULs; printed raw they would move
the terminal's cursor or corrupt a report. Each becomes its Unicode control picture (␍, ␛, ␀).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def visible(text: str | None) -> str:
    if not text:
        return ""
    return _CONTROL.sub(lambda m: "\u2421" if m.group() == "\x7f" else chr(0x2400 + ord(m.group())),
                        text)


def rate(tokens: int, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else 0.0

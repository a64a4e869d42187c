"""Rewrite the config reference table in docs/configuration.md from the config models.

    .venv/bin/python -m tools.update_config_reference
"""

from pathlib import Path

from tools.config_reference import table

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def main() -> None:
    """Put the generated table in place of the one in docs/configuration.md."""
    lines = REFERENCE.read_text().split("\n")
    start = lines.index("| field | default | meaning |")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[start:end] = table().split("\n")
    REFERENCE.write_text("\n".join(lines))


if __name__ == "__main__":
    main()

"""Rewrite the config reference table in README.md from the config models.

    .venv/bin/python -m tools.update_readme_config
"""

from pathlib import Path

from tools.config_reference import table

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> None:
    """Put the generated table in place of the one in README.md."""
    lines = README.read_text().split("\n")
    start = lines.index("| field | default | meaning |")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[start:end] = table().split("\n")
    README.write_text("\n".join(lines))


if __name__ == "__main__":
    main()

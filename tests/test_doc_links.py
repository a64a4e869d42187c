"""Every relative link and image in the README and the benchmark results points at a file that is
in the repository (a renamed script or a moved plot breaks a link nobody clicks until a user does)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "benchmarks/RESULTS.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(doc: Path) -> list[str]:
    links = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        links.append(target.split("#", 1)[0])
    return links


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_resolve(doc):
    path = ROOT / doc
    links = relative_links(path)
    assert links, f"{doc} links nothing: the pattern no longer matches its links"
    missing = [t for t in links if not (path.parent / t).exists()]
    assert not missing, f"{doc} links files that are not there: {missing}"

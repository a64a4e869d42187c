"""The README's config reference is the one the code describes."""

from pathlib import Path

from tools.config_reference import table


def test_readme_config_reference_matches_the_config_models():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert table() in readme

"""The config reference (docs/configuration.md) is the one the code describes."""

from pathlib import Path

from tools.config_reference import table


def test_the_config_reference_matches_the_config_models():
    reference = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    assert table() in reference

"""cluster.yaml validates offline with Ray's own autoscaler code, and says what the cluster needs."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[2]


def launcher_config() -> dict:
    """cluster.yaml as `ray up` sees it: merged with the provider's defaults, then validated."""
    config = prepare_config(yaml.safe_load((ROOT / "cluster.yaml").read_text()))
    validate_config(config)
    return config


def test_cluster_yaml_passes_rays_own_fill_and_validation():
    config = launcher_config()
    assert config["provider"]["type"] == "aws"
    assert config["idle_timeout_minutes"] > 0
    types = config["available_node_types"]
    assert sum(t["min_workers"] for t in types.values()) <= config["max_workers"]


def test_head_runs_no_model_and_workers_bring_gpus():
    config = launcher_config()
    types = config["available_node_types"]
    head = types.pop(config["head_node_type"])
    assert head["resources"]["GPU"] == 0 and head["max_workers"] == 0
    assert all("--num-gpus=0" in c for c in config["head_start_ray_commands"] if "--head" in c)
    assert {t["resources"]["GPU"] for t in types.values()} >= {1}  # a one-GPU worker type
    assert all(t["max_workers"] >= t["min_workers"] for t in types.values())


def test_every_node_gets_the_project_and_the_auth_token():
    config = launcher_config()
    assert config["file_mounts"]["~/triserve"] == "."
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    for commands in (config["head_setup_commands"], config["worker_setup_commands"]):
        assert any("pip install" in c and "-e ~/triserve" in c for c in commands)
    for commands in (config["head_start_ray_commands"], config["worker_start_ray_commands"]):
        assert any("RAY_AUTH_MODE=token ray start" in c for c in commands)
    assert ".venv" in config["rsync_exclude"]


@pytest.mark.parametrize(("breakage", "message"), [
    ("unknown_key", "max_wrokers"),
    ("head_not_a_type", "head_node_type"),
    ("too_many_min_workers", "sum of `min_workers`"),
])
def test_rays_validation_rejects_a_broken_copy(breakage, message):
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    if breakage == "unknown_key":
        config["max_wrokers"] = 3
    elif breakage == "head_not_a_type":
        config["head_node_type"] = "nope"
    else:
        config["available_node_types"]["gpu_1x"]["min_workers"] = config["max_workers"] + 1
    with pytest.raises((jsonschema.ValidationError, ValueError), match=message):
        validate_config(prepare_config(config))

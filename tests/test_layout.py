"""The house plan, held by reading every module's imports (`ast`, nothing imported):

- `clients/` (the SDK, CLI, study, load tests, cluster tools) takes from the server package only
  its wire models, `serve.api`;
- `serve/api/` imports nothing of the server stack: no ray, torch, fastapi, vLLM, transformers
  or SQLAlchemy, and of `serve` only `serve.api`;
- `serve/ingress/` never imports an engine, the replica's code, torch or vLLM: it reaches the
  models through their deployment handles only;
- no import circles among the modules of `serve/` or of `clients/`, counting every import,
  those inside functions and under `TYPE_CHECKING` too (a lazy import hides a circle; it does
  not open it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER_STACK = ("ray", "torch", "fastapi", "starlette", "vllm", "transformers", "sqlalchemy",
                "alembic", "uvicorn")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(*packages: str) -> dict[str, Path]:
    return {_module_name(p): p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))}


ALL = _modules("serve", "clients")


def _imports(path: Path) -> set[str]:
    """The modules `path` imports, as dotted names: `from a.b import c` is `a.b.c` where that
    is a module of ours, else `a.b`. Imports under `if TYPE_CHECKING:` count: a circle of
    types is a circle of concepts."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in ALL else base)
    return found


def _offenders(prefix: str, allowed) -> list[str]:
    return [f"{name} imports {imported}" for name, path in ALL.items()
            if name == prefix or name.startswith(prefix + ".")
            for imported in sorted(_imports(path)) if not allowed(imported)]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_clients_take_only_the_wire_models_from_the_server_package():
    def allowed(m):
        return _top(m) != "serve" or m == "serve.api" or m.startswith("serve.api.")
    assert _offenders("clients", allowed) == []


def test_the_wire_models_import_nothing_of_the_server_stack():
    def allowed(m):
        if _top(m) == "serve":
            return m == "serve" or m == "serve.api" or m.startswith("serve.api.")
        return _top(m) not in SERVER_STACK
    assert _offenders("serve.api", allowed) == []


def test_the_ingress_never_imports_an_engine_or_the_replica():
    def allowed(m):
        return not (m.startswith(("serve.engines", "serve.replica"))
                    or _top(m) in ("torch", "vllm", "transformers"))
    assert _offenders("serve.ingress", allowed) == []


@pytest.mark.parametrize("package", ["serve", "clients"])
def test_no_import_circles(package):
    graph = {name: {m for m in _imports(path) if _top(m) == package and m in ALL and m != name}
             for name, path in ALL.items() if _top(name) == package}
    circles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_reader_sees_the_plan():
    """The folders the tests above hold exist, and each says what it holds."""
    for folder in ("api", "ingress", "replica", "engines", "votes"):
        init = ROOT / "serve" / folder / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), init


def test_no_private_name_is_imported_across_modules():
    """A `_name` is its module's own; a name another module needs is public, with a docstring."""
    found = []
    for name, path in _modules("serve", "clients", "tools").items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and _top(node.module or "") in ("serve", "clients"):
                found += [f"{name} imports {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []


def test_the_readme_map_names_every_folder():
    """The README's "Where things are" names every top-level folder and every folder of `serve/`
    and `clients/` (caches and Alembic's inner folders aside), so a new one gets its line."""
    readme = (ROOT / "README.md").read_text()
    where = readme[readme.index("## Where things are"):]
    folders = {p.name + "/" for p in ROOT.iterdir()
               if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in ("out",)
               and any(p.glob("*"))}
    for top in ("serve", "clients"):
        folders |= {str(p.relative_to(ROOT)) + "/" for p in (ROOT / top).rglob("*")
                    if p.is_dir() and "__pycache__" not in p.parts and "migrations" not in p.parts}
    folders &= _tracked_folders()
    missing = sorted(f for f in folders if f"`{f}`" not in where and f"`{f.rstrip('/')}`" not in where)
    assert missing == []


def _tracked_folders() -> set[str]:
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    out = set()
    for f in files:
        parts = f.split("/")[:-1]
        out |= {"/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)}
    return out

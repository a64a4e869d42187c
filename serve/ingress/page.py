"""The comparison page: static files under serve/static, served by the ingress at `/`.

The page uses only relative URLs (`static/app.js`, `v1/compare`), resolved against a `<base>`
element that is filled in here from the ASGI `root_path`: Ray Serve sets it to the app's route
prefix, so the same page works at `/` and at `/tiny`, with or without the trailing slash.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parents[1] / "static"  # serve/static
BASE_MARK = '<base href="/">'


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def render(root_path: str) -> str:
    """index.html with its `<base href>` set to the app's root, e.g. render("/tiny") → `/tiny/`."""
    href = html.escape(root_path.rstrip("/") + "/", quote=True)
    return _template().replace(BASE_MARK, f'<base href="{href}">', 1)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def index(request: Request):
        # no-cache: the <base> depends on the route the page was reached by.
        return HTMLResponse(render(request.scope.get("root_path", "")),
                            headers={"cache-control": "no-cache"})

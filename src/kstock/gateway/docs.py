"""``/docs``: Swagger UI from the copy packaged in ``swagger-ui-bundle-v2``, so that the page renders with no
internet access (FastAPI's own page loads it from a CDN). ReDoc is not served: no maintained package ships it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL: Final = "/docs"
ASSETS_URL: Final = "/docs/assets"


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` and its scripts, styles and icons under ``/docs/assets``."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def docs(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )

    app.mount(ASSETS_URL, StaticFiles(directory=Path(str(swagger_ui_path))), name="docs-assets")
    app.add_route(DOCS_URL, docs, include_in_schema=False)

"""The service's own pages: the chat page at ``GET /`` and the API docs at ``GET /docs``, both offline.

``/`` is one static HTML file (``static/chat.html``, its CSS and JavaScript inline: no build step,
no CDN). It posts the question to ``POST /rag`` with ``stream: true``, reads the Server-Sent
Events with ``fetch`` and a ``ReadableStream``, shows the tokens as they arrive and, from the last
event's ``details``, the passages the answer cites (``[k]`` -> passage ``k``), the route and the
latency. Its stop button aborts the fetch: the server notices the disconnect and cancels the
generation (``c08_generation_cancelled_total``). An API key typed into the page is sent as
``Authorization: Bearer <key>``; the page itself loads without one (the guard lets ``/`` through).

``/docs`` is FastAPI's Swagger UI page, with its JavaScript and CSS served from this service
(``/docs/assets/...``, the files of the ``swagger-ui-bundle-v2`` wheel) instead of a CDN, so the
docs work on a machine without the internet. The app is created with ``docs_url=None`` and
``redoc_url=None`` (ReDoc's script would come from a CDN) and includes :data:`page_router`.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse, Response

from c08_serving_ops.core.errors import ServiceError

page_router = APIRouter(include_in_schema=False)  # pages, not API operations: the schema and its fuzz skip them

CHAT_PAGE = "chat.html"
DOCS_ASSETS = "/docs/assets"
# The Swagger UI files /docs needs, with their media types (nothing else of the bundle is served).
SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
                 "favicon-32x32.png": "image/png"}


@cache
def chat_html() -> str:
    """The chat page's HTML, read once from the package data."""
    return (files("c08_serving_ops") / "static" / CHAT_PAGE).read_text(encoding="utf-8")


def swagger_dir() -> Path:
    """The folder of Swagger UI's dist files inside the installed ``swagger-ui-bundle-v2`` wheel."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # no py.typed in the wheel

    return Path(str(swagger_ui_path))


@page_router.get("/", response_class=HTMLResponse)
async def chat_page() -> HTMLResponse:
    """Ask the collection a question; the answer streams in with its cited passages."""
    return HTMLResponse(chat_html(), headers={"Cache-Control": "no-cache"})


@page_router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI over this app's ``/openapi.json``, every asset from this service."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - docs",
                               swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png")


@page_router.get(DOCS_ASSETS + "/{name}")
async def docs_asset(name: str) -> Response:
    """One of :data:`SWAGGER_FILES` (a fixed list: no path from the request reaches the file system)."""
    media_type = SWAGGER_FILES.get(name)
    if media_type is None:
        raise ServiceError(404, "not_found", f"no docs asset {name!r}")
    return FileResponse(swagger_dir() / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400"})

"""c08.1: the app serves its own pages: the chat page at ``/`` and Swagger UI at ``/docs``, nothing from a CDN.

An offline user (no internet, only the service) must get working pages: every URL the HTML
references is the service's own, and each asset it names answers 200 with the right media type.
"""

from __future__ import annotations

import re

import pytest
from conftest import AppServer

pytestmark = pytest.mark.task("c08.1")

# src="...", href="..." and url: '...' (Swagger UI's initialiser) values in an HTML page.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}""", re.IGNORECASE)  # a host name: another server


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


def test_the_chat_page_is_one_self_contained_file(live: AppServer) -> None:
    with live.client() as http:
        page = http.get("/")
        spec = http.get("/openapi.json").json()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for element in ('id="question"', 'id="answer"', 'id="passages"', 'id="stop"', 'id="api_key"', 'id="status"'):
        assert element in html
    assert 'fetch("rag"' in html and "getReader()" in html  # streamed from POST /rag, read as a stream
    assert EXTERNAL.findall(html) == [], "the page must not load anything from another server"
    assert [ref for ref in references(html) if not ref.startswith(("#", "data:"))] == []  # CSS and JS inline
    assert "/" not in spec["paths"] and "/docs" not in spec["paths"]  # pages are not API operations


def test_docs_serve_swagger_ui_from_the_service(live: AppServer) -> None:
    with live.client() as http:
        docs = http.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        refs = references(docs.text)
        assert "/openapi.json" in refs and len(refs) >= 4  # the schema, the script, the stylesheet, the icon
        assert EXTERNAL.findall(docs.text) == [], "/docs must not load Swagger UI from a CDN"
        assets = [ref for ref in refs if ref != "/openapi.json"]
        kinds = {}
        for ref in assets:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            asset = http.get(ref)
            assert asset.status_code == 200, ref
            kinds[ref.rsplit(".", 1)[-1]] = (asset.headers["content-type"], len(asset.content))
        assert kinds["js"][0].startswith("text/javascript") and kinds["js"][1] > 100_000  # the whole bundle
        assert kinds["css"][0].startswith("text/css") and kinds["png"][0] == "image/png"
        missing = http.get("/docs/assets/../../pyproject.toml")
        assert missing.status_code == 404
        unknown = http.get("/docs/assets/swagger-ui.js.map")  # only the files /docs uses are served
        assert unknown.status_code == 404 and unknown.json()["error_type"] == "not_found"
        assert http.get("/redoc").status_code == 404  # ReDoc would load its script from a CDN: not offered

"""c08.3: with bearer keys configured, the chat page still loads without one; the API it calls does not.

A browser cannot add an ``Authorization`` header to the page load itself, so ``/`` passes the
guard like a probe; the page sends the key the user types with each request it makes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import AppServer

pytestmark = pytest.mark.task("c08.3")

KEY = "page-key"


def test_the_chat_page_loads_without_a_key(app_server: Callable[..., AppServer]) -> None:
    server = app_server(guard=True, api_keys=[KEY])
    with server.client() as http:
        page = http.get("/")
        refused = [http.post("/search", json={"query": "wing flutter"}), http.get("/openapi.json")]
        allowed = http.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
    assert page.status_code == 200 and 'id="api_key"' in page.text
    assert all(r.status_code == 401 and r.json()["error_type"] == "unauthorized" for r in refused)
    assert allowed.status_code == 200 and "/rag" in allowed.json()["paths"]

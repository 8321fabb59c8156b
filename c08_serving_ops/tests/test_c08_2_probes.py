"""c08.2: probes answer HEAD as they answer GET (without a body), and /ready reports saturation with its reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import AppServer

from c08_serving_ops.search.batcher import MicroBatcher

pytestmark = pytest.mark.task("c08.2")


@pytest.mark.parametrize("path", ["/health", "/ready"])  # /metrics: c08.7's test_c08_7_observability.py
def test_head_answers_like_get_without_a_body(live: AppServer, path: str) -> None:
    with live.client() as client:
        got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content)


def test_ready_reports_a_full_batch_queue(app_server: Callable[..., AppServer], monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    server = app_server(max_queue=8)
    with server.client() as client:
        monkeypatch.setattr(MicroBatcher, "queue_size", property(lambda self: 8))
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["error"] == "saturated: the batch queue is full (8 requests)"
        monkeypatch.undo()
        assert client.get("/ready").status_code == 200

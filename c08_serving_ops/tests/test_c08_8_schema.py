"""c08.8: the schema is the behaviour: every schemathesis check on every part-1 route.

The fuzz runs against a server with its own small in-memory store (its writes through
``/documents`` land there, not in the shared one), every layer on. The bounds and the invalid text
that the schema states are tested route by route in c08.5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import PART_1_PATHS, AppServer, make_settings, skip_all_but, small_store_loader, start_app

from c08_serving_ops.tools.fuzz import CHECK_NAMES, fuzz

pytestmark = pytest.mark.task("c08.8")

FUZZ_EXAMPLES = 10  # per operation and mode: 7 operations, 73 distinct cases, every check on each


@pytest.fixture(scope="module")
def own_store(live: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """An app over live's embedder and a six-document in-memory store of its own, every layer on."""
    server = start_app(make_settings(tmp_path_factory.mktemp("fuzz"), rerank=False), small_store_loader(live))
    yield server
    server.stop()


def test_every_check_on_every_route_finds_nothing(own_store: AppServer, metric: Callable[..., None]) -> None:
    report = fuzz(own_store.url, max_examples=FUZZ_EXAMPLES, skip_paths=skip_all_but(*PART_1_PATHS))
    assert report.checks == CHECK_NAMES and len(CHECK_NAMES) >= 14  # all of schemathesis' checks, not one
    assert report.operations == 7 and report.cases >= 60
    assert {200, 422} <= set(report.statuses)
    metric("fuzz_server_errors", len(report.server_errors))
    metric("fuzz_check_failures", len(report.failures))
    assert report.failures == [], report.failures[:10]
    assert report.row()["failures"] == 0 and report.row()["checks"] == len(CHECK_NAMES)


def test_the_fuzz_reports_what_the_schema_does_not_say(own_store: AppServer) -> None:
    """A server that refuses what its schema accepts is caught (here: a schema that forgets a bound)."""
    app = own_store.app
    spec = app.openapi()
    top_k = spec["components"]["schemas"]["SearchRequest"]["properties"]["top_k"]
    saved = dict(top_k)
    top_k["maximum"] = 1_000_000  # the schema now lies: the server still refuses over max_top_k
    try:
        report = fuzz(own_store.url, max_examples=15, skip_paths=skip_all_but("/search"))
    finally:
        top_k.clear()
        top_k.update(saved)
    assert any("POST /search -> 422" in f and "rejected" in f for f in report.failures), report.failures

"""c08.1: typed settings (file, environment, validation), the app factory, the lifespan, warm starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import LAYERS_OFF, AppServer, make_settings, shared_loader, start_app
from pydantic import ValidationError

from c06_retrieval_tools import Collection, Document, write_beir
from c08_serving_ops.search.components import Components
from c08_serving_ops.search.documents import DocumentStore
from c08_serving_ops.server import serve
from c08_serving_ops.server.service import Phase, Settings, load_components

pytestmark = pytest.mark.task("c08.1")


def test_defaults_bind_loopback_and_sources_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("C08_PORT", "C08_BURST", "C08_HOST", "C08_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings.load()
    assert defaults.host == "127.0.0.1" and defaults.port == 8008 and defaults.api_keys == []
    config = tmp_path / "c08.toml"
    config.write_text('port = 7000\nburst = 5\napi_keys = ["k1"]\nindex_path = "/tmp/x"\n')
    from_file = Settings.load(config)
    assert (from_file.port, from_file.burst, from_file.api_keys, from_file.index_path) == (7000, 5, ["k1"],
                                                                                           Path("/tmp/x"))
    monkeypatch.setenv("C08_PORT", "7100")  # the environment beats the file
    assert Settings.load(config).port == 7100
    assert Settings.load(config, port=7200).port == 7200  # the command line beats both
    monkeypatch.setenv("C08_CONFIG_FILE", str(config))
    assert Settings.load().burst == 5


@pytest.mark.parametrize("bad", [{"port": 70000}, {"burst": 0}, {"rate_per_s": 0}, {"max_wait_ms": -1},
                                 {"trace_exporter": "otlp"}, {"in_memory": True, "qdrant_url": "http://x"},
                                 {"api_keys": [""]}, {"unknown_field": 1}, {"port": "eighty"},
                                 {"quantization": "int4"}, {"quantization": "q4_1", "adapter_path": "a.safetensors"},
                                 {"api_keys": ["k"], "guard": False}])
def test_bad_settings_name_the_field(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.load(**bad)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        Settings.load(broken)
    assert serve.main(["--config", str(tmp_path / "missing.toml")]) == 2


def test_app_routes_and_error_shape(live: AppServer) -> None:
    with live.client() as client:
        paths = set(client.get("/openapi.json").json()["paths"])
        assert {"/health", "/ready", "/metrics", "/embed", "/search", "/documents", "/documents/{doc_id}"} <= paths
        missing = client.get("/no/such/route")
        assert missing.status_code == 404 and missing.json() == {"error": "Not Found", "error_type": "not_found"}
        wrong = client.put("/embed", json={})
        assert wrong.status_code == 405 and wrong.json()["error_type"] == "method_not_allowed"


def test_lifespan_loads_once_and_closes_on_shutdown(live: AppServer, tmp_path: Path) -> None:
    calls: list[str] = []
    closed: list[bool] = []
    borrowed = shared_loader(live)

    def loader(settings: Settings) -> Components:
        calls.append("load")
        components = borrowed(settings)
        components.close = lambda: closed.append(True)  # type: ignore[method-assign]
        return components

    server = start_app(make_settings(tmp_path, **LAYERS_OFF), loader)
    with server.client() as client:
        for _ in range(3):
            assert client.get("/docs").status_code == 200
    server.stop()
    assert calls == ["load"] and closed == [True]
    assert server.service.phase is Phase.DRAINING and not server.thread.is_alive()


@pytest.fixture(scope="module")
def tiny_beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = [Document(f"d{i}", f"title {i}", f"wing flutter number {i} at supersonic speed") for i in range(6)]
    return write_beir(Collection("tiny", docs, {"q1": "wing flutter"}, {"q1": {"d1": 1}}),
                      tmp_path_factory.mktemp("beir") / "tiny")


def test_warm_start_reuses_both_indexes_on_disk(live: AppServer, tiny_beir: Path, tmp_path: Path) -> None:
    settings = Settings(collection=str(tiny_beir), index_path=tmp_path / "index", rerank=False)
    first = load_components(settings)
    assert len(first.store) == 6 and first.store.bm25.num_docs == 6 and first.store.vectors.count() == 6
    from c06_retrieval_tools import load_collection
    collection = load_collection(str(tiny_beir))
    embedded: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        embedded.append(len(texts))
        return first.embedder.encoder.encode(texts)

    warm = DocumentStore.open(collection, embed, first.embedder.dimension, path=tmp_path / "index")
    assert embedded == [] and len(warm) == 6 and warm.metadata["d3"]["title"] == "title 3"
    # the two sides disagree (a vector lost, BM25 whole): the next start rebuilds both from the collection
    warm.vectors.delete(["d3"])
    rebuilt = DocumentStore.open(collection, embed, first.embedder.dimension, path=tmp_path / "index")
    assert embedded == [6] and len(rebuilt) == 6 and rebuilt.vectors.count() == 6
    rebuilt.close()  # the process's embedded Qdrant clients are closed: the folder can be opened again
    # BM25 lost while the vectors hold exactly the collection (a new replica of a shared Qdrant):
    # only BM25 is rebuilt, nothing is embedded again, and searches find the same documents
    shutil.rmtree(tmp_path / "index" / "bm25")
    replica = DocumentStore.open(collection, embed, first.embedder.dimension, path=tmp_path / "index")
    assert embedded == [6] and len(replica) == 6 and replica.bm25.num_docs == 6 and replica.vectors.count() == 6
    assert replica.bm25.texts(["d3"]) == {"d3": collection.document("d3").text}
    assert replica.metadata == {d.doc_id: {"source": collection.name, "title": d.title} for d in collection.documents}
    replica.close()
    assert len(DocumentStore.open(collection, embed, first.embedder.dimension, path=tmp_path / "index")) == 6


def test_the_shutdown_signal_handler_only_flips_the_phase(tmp_path: Path) -> None:
    """A signal handler runs between two bytecodes of the main thread, maybe halfway through writing a
    log line whose lock is not re-entrant: logging from it can deadlock the server (seen: SIGTERM during
    a request's access line left the process hung). So handle_exit writes nothing; Service.stop logs."""
    from conftest import LOGS

    from c08_serving_ops.server.app import create_app
    from c08_serving_ops.server.serve import build_server

    settings = make_settings(tmp_path, **LAYERS_OFF)
    app = create_app(settings)
    server = build_server(app, settings)
    with LOGS.lock:
        before = len(LOGS.text)
    server.handle_exit(15, None)
    with LOGS.lock:
        assert LOGS.text[before:] == []
    assert app.state.service.phase is Phase.DRAINING and server.should_exit

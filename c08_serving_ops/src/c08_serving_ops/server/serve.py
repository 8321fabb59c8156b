"""``python -m c08_serving_ops.server.serve``: run the app on uvicorn, drain on SIGTERM/SIGINT.

The process binds its socket itself (``--port 0`` picks a free port) and logs the
address as a JSON line (``{"event": "listening", "port": ...}``) before serving, so a
supervisor or a test knows where to connect.

**Graceful shutdown.** On SIGTERM or SIGINT uvicorn stops accepting connections and
waits up to ``drain_timeout_s`` for in-flight requests; the service turns *draining*
first (``/ready`` 503), then the lifespan finishes queued batches and closes the indexes.
A second signal exits at once. After a graceful shutdown the process exits with status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI

from c08_serving_ops.core.logs import configure_logging, get_logger
from c08_serving_ops.core.settings import Settings
from c08_serving_ops.server.app import create_app
from c08_serving_ops.server.connections import guarded_protocol
from c08_serving_ops.server.service import Service


class DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the service it drains as soon as a shutdown signal arrives."""

    def __init__(self, config: uvicorn.Config, service: Service) -> None:
        super().__init__(config)
        self.service = service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # BEGIN SOLUTION c08.1: drain first (ready -> 503, no logging here), then let uvicorn stop and wait
        self.service.mark_draining()  # the "draining" line comes from Service.stop, on the event loop
        super().handle_exit(sig, frame)
        # END SOLUTION


def build_server(app: FastAPI, settings: Settings) -> DrainingServer:
    """A uvicorn server for ``app`` that drains for ``drain_timeout_s`` and holds slow clients to deadlines.

    uvicorn's loggers propagate to the JSON handler :func:`~c08_serving_ops.core.logs.configure_logging`
    installed (``log_config=None`` keeps uvicorn from installing its plain-text one). The HTTP
    protocol is h11 with the header deadline and the per-client connection cap of
    :mod:`~c08_serving_ops.server.connections`; ``proxy_headers`` is off because uvicorn would otherwise
    believe ``X-Forwarded-For`` from any loopback peer: the guard reads it, from trusted proxies only.
    """
    # without the guard: uvicorn's own h11 (no header deadline, no per-client cap)
    protocol = guarded_protocol(app.state.connections, settings.header_timeout_s) if settings.guard else "h11"
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=math.ceil(settings.drain_timeout_s),
                            http=protocol, proxy_headers=False,
                            timeout_keep_alive=max(1, math.ceil(settings.keep_alive_s)),
                            h11_max_incomplete_event_size=settings.max_header_bytes)
    return DrainingServer(config, app.state.service)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 asks the OS for a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto set: asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """The handler uvicorn restores and re-raises after a graceful shutdown: exit with status 0."""
    raise SystemExit(0)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m c08_serving_ops.server.serve",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a TOML settings file (else $C08_CONFIG_FILE)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (0: any free port)")
    parser.add_argument("--collection", help="a c06 collection name or a BEIR folder")
    parser.add_argument("--index-path", type=Path, help="where the BM25 and Qdrant indexes live")
    parser.add_argument("--in-memory", action="store_true", default=None, help="keep the indexes in memory")
    parser.add_argument("--no-batching", dest="batching", action="store_false", default=None,
                        help="one request per forward pass (the benchmark's baseline)")
    parser.add_argument("--generation", action="store_true", default=None,
                        help="load SmolLM2 and serve /generate, /v1/chat/completions and /rag's generate route")
    parser.add_argument("--quantization", choices=["fp32", "int8", "q8_0", "q4_1"],
                        help="SmolLM2's weights: fp32 (default), or c05.11's int8, Q8_0 or the file's Q4_1 kernels")
    parser.add_argument("--adapter-path", type=Path, help="c05's LoRA adapter, merged at load")
    parser.add_argument("--torch-threads", type=int, help="torch CPU threads (default 1)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.load(args.config, host=args.host, port=args.port, collection=args.collection,
                                 index_path=args.index_path, in_memory=args.in_memory, batching=args.batching,
                                 generation=args.generation, quantization=args.quantization,
                                 adapter_path=args.adapter_path, torch_threads=args.torch_threads)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    app = create_app(settings)
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    get_logger().info("listening", host=host, port=port, url=f"http://{host}:{port}")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, exit_cleanly)  # uvicorn captures both while serving, then hands them back here
    with contextlib.suppress(SystemExit):  # exit_cleanly, after the drain
        build_server(app, settings).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

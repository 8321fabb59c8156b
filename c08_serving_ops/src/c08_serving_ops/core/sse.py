"""Server-Sent Events: the wire format of streaming generation, and a response that notices a disconnect.

An event is ``data: <json>\\n\\n`` (``event: error`` before it for an error); a line that starts
with ``:`` is a comment, which clients ignore: the server sends ``: keep-alive`` when no event has
gone out for ``keepalive_s``, so proxies and load balancers do not close an idle-looking stream
while the model thinks. ``X-Accel-Buffering: no`` tells nginx not to buffer the stream,
``Cache-Control: no-cache`` tells every cache not to store it. The stream ends with
``data: [DONE]`` (the OpenAI convention) unless an error ended it.

:class:`EventStreamResponse` runs the event producer and a watcher of ``receive()`` side by side:
when the client disconnects, the producer is cancelled at its current ``await`` (between two token
steps), and its ``finally`` frees the generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"


def sse_event(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One event: an optional ``event:`` line, the JSON (or text) ``data:`` line, a blank line."""
    # BEGIN SOLUTION c08.9: compact JSON (never a raw newline inside data), then the blank line
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
    # END SOLUTION


def parse_sse(body: str) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of an SSE body (comments skipped; event defaults to ``message``)."""
    events = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        event = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = "\n".join(line[5:].lstrip() for line in lines if line.startswith("data:"))
        events.append((event, data))
    return events


class EventStreamResponse(Response):
    """An ASGI response streaming ``events`` as ``text/event-stream`` with keep-alives; stops on disconnect."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes], keepalive_s: float, headers: dict[str, str] | None = None,
                 ) -> None:
        self.events, self.keepalive_s = events, keepalive_s
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # BEGIN SOLUTION c08.9: start; pump beside a disconnect watcher (stop_pump if it fires); end
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        pump = asyncio.ensure_future(self._pump(send))
        watcher = asyncio.ensure_future(self._watch(receive))
        try:
            await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not pump.done():
                await self.stop_pump(pump)
        if not self.disconnected:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # END SOLUTION

    async def stop_pump(self, pump: asyncio.Future[None]) -> None:
        """The client went away mid-stream: cancel the pump, which stops the producer at its await."""
        # BEGIN SOLUTION c08.10: mark the response disconnected; cancel the pump; wait for it to unwind
        self.disconnected = True
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        # END SOLUTION

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _pump(self, send: Send) -> None:
        """Send each event as it comes; a comment after ``keepalive_s`` of silence."""
        # BEGIN SOLUTION c08.9: wait for the next event with a timeout; on timeout send a keep-alive comment
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(self.events))
                done, _ = await asyncio.wait({pending}, timeout=self.keepalive_s)
                if not done:
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    continue
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                finally:
                    pending = None
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            if pending is not None:  # cancelled while the producer was busy: stop it at its await
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                await aclose()
        # END SOLUTION

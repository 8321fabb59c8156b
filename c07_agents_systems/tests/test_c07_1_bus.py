"""c07.1: the message bus (mailboxes, back-pressure, topics, request/reply, timeouts) and the trace.

Oracle: the bus's own contract, observed from outside (queue sizes, the order and identity of
messages, the trace). Timeouts in these tests are short (50-200 ms) but every assertion is about
what happened, never about how long it took.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from pathlib import Path

import pytest

from c07_agents_systems import MailboxFullError, MessageBus, RequestTimeoutError, Trace, UnknownRecipientError

pytestmark = pytest.mark.task("c07.1")


async def echo(bus: MessageBus, name: str, *, jitter: random.Random | None = None) -> None:
    """An agent that answers every request with its payload doubled (after a random short delay)."""
    while True:
        message = await bus.receive(name)
        if jitter is not None:
            await asyncio.sleep(jitter.random() * 0.01)
        await bus.reply(message, name, {"double": 2 * message.payload["x"]})


def test_request_reply_links_messages_and_traces_them() -> None:
    async def main() -> None:
        bus = MessageBus()
        bus.register("echo")
        server = asyncio.create_task(echo(bus, "echo"))
        reply = await bus.request("client", "echo", {"x": 21}, timeout=2.0)
        server.cancel()
        assert reply.payload == {"double": 42}
        request, answer = bus.trace.of_type("message")
        assert (request["kind"], answer["kind"]) == ("request", "reply")
        assert request["correlation_id"] == answer["correlation_id"] == reply.correlation_id
        assert answer["parent_id"] == request["message_id"]
        assert (answer["sender"], answer["recipient"]) == ("echo", "client")
        assert request["sent_at"] <= answer["sent_at"]
        assert answer["late"] is False

    asyncio.run(main())


def test_concurrent_requests_each_get_their_own_reply() -> None:
    async def main() -> None:
        bus = MessageBus(mailbox_size=4)
        bus.register("echo")
        servers = [asyncio.create_task(echo(bus, "echo", jitter=random.Random(i))) for i in range(3)]
        replies = await asyncio.gather(*(bus.request(f"c{i}", "echo", {"x": i}, timeout=5.0) for i in range(60)))
        for task in servers:
            task.cancel()
        assert [r.payload["double"] for r in replies] == [2 * i for i in range(60)]
        assert len({r.correlation_id for r in replies}) == 60
        assert len(bus.trace.of_type("message")) == 120

    asyncio.run(main())


def test_request_timeout_and_the_late_reply() -> None:
    async def main() -> None:
        bus = MessageBus()
        bus.register("slow")
        with pytest.raises(RequestTimeoutError, match="did not reply"):
            await bus.request("client", "slow", {"op": "ping"}, timeout=0.05)
        pending = await bus.receive("slow", timeout=1.0)
        late = await bus.reply(pending, "slow", {"pong": True})
        assert late.correlation_id == pending.correlation_id
        assert bus.trace.of_type("message")[-1]["late"] is True
        assert any("no reply" in note["text"] for note in bus.trace.of_type("note"))
        with pytest.raises(RequestTimeoutError):
            await bus.receive("slow", timeout=0.01)

    asyncio.run(main())


def test_bounded_mailbox_applies_back_pressure() -> None:
    async def main() -> None:
        bus = MessageBus(mailbox_size=2, send_timeout=0.05)
        box = bus.register("sink")
        await bus.send("p", "sink", {"i": 0})
        await bus.send("p", "sink", {"i": 1})
        with pytest.raises(MailboxFullError, match="stayed full"):
            await bus.send("p", "sink", {"i": 2})
        assert box.qsize() == 2

        seen: list[int] = []
        sizes: list[int] = []

        async def slow_consumer() -> None:
            while len(seen) < 22:
                sizes.append(box.qsize())
                seen.append((await bus.receive("sink")).payload["i"])
                await asyncio.sleep(0.001)

        bus.send_timeout = 5.0
        consumer = asyncio.create_task(slow_consumer())
        for i in range(3, 23):  # the producer is faster: it waits for room instead of growing the queue
            await bus.send("p", "sink", {"i": i})
            sizes.append(box.qsize())
        await asyncio.wait_for(consumer, 5.0)
        assert max(sizes) <= 2
        assert seen == [0, 1, *range(3, 23)]  # FIFO, nothing lost (i=2 was refused, never queued)

    asyncio.run(main())


def test_topics_deliver_a_copy_to_each_subscriber() -> None:
    async def main() -> None:
        bus = MessageBus()
        for name in ("a", "b", "c"):
            bus.register(name)
        bus.subscribe("a", "news")
        bus.subscribe("b", "news")
        bus.subscribe("b", "news")  # twice is once
        sent = await bus.publish("src", "news", {"headline": "hi"})
        got = [await bus.receive(n, timeout=1.0) for n in ("a", "b")]
        assert all(m.message_id == sent.message_id and m.topic == "news" and m.recipient is None for m in got)
        with pytest.raises(RequestTimeoutError):
            await bus.receive("b", timeout=0.01)  # one copy only
        with pytest.raises(RequestTimeoutError):
            await bus.receive("c", timeout=0.01)
        await bus.publish("src", "nobody-listens", {})  # fine: dropped, but traced
        assert len(bus.trace.of_type("message")) == 2

    asyncio.run(main())


def test_bad_input_is_refused_with_a_clear_error() -> None:
    async def main() -> None:
        bus = MessageBus()
        bus.register("a")
        with pytest.raises(ValueError, match="already registered"):
            bus.register("a")
        with pytest.raises(ValueError, match="non-empty"):
            bus.register("")
        with pytest.raises(ValueError, match="at least 1"):
            bus.register("b", mailbox_size=0)
        with pytest.raises(UnknownRecipientError, match="'ghost'"):
            await bus.send("a", "ghost", {})
        with pytest.raises(UnknownRecipientError):
            await bus.receive("ghost")
        with pytest.raises(UnknownRecipientError):
            bus.subscribe("ghost", "t")
        with pytest.raises(UnknownRecipientError):
            await bus.request("a", "ghost", {}, timeout=1.0)
        with pytest.raises(TypeError, match="dict"):
            await bus.send("x", "a", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="positive timeout"):
            await bus.request("x", "a", {}, timeout=0)
        request = await bus.send("x", "a", {}, kind="request")
        with pytest.raises(ValueError, match="reply"):
            await bus.reply(request, "a", {}, kind="event")

    asyncio.run(main())
    with pytest.raises(ValueError, match="mailbox_size"):
        MessageBus(mailbox_size=0)
    with pytest.raises(ValueError, match="send_timeout"):
        MessageBus(send_timeout=0)


def test_trace_round_trips_through_json_lines(tmp_path: Path) -> None:
    trace = Trace()
    trace.record("note", text="hello", value=math.nan, items=(1, 2), obj=object.__name__, inf=math.inf)
    trace.record("message", payload={"nested": {"x": [1.5, None, True]}})
    path = trace.to_jsonl(tmp_path / "sub" / "run.jsonl")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [0, 1]
    back = Trace.from_jsonl(path)
    assert back.events == trace.events
    assert back.events[0]["value"] == "nan" and back.events[0]["items"] == [1, 2]
    (tmp_path / "bad.jsonl").write_text('{"type": "note"}\n\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:3"):
        Trace.from_jsonl(tmp_path / "bad.jsonl")
    (tmp_path / "bad2.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="not JSON"):
        Trace.from_jsonl(tmp_path / "bad2.jsonl")


def test_every_message_is_traced_with_its_fields() -> None:
    async def main() -> Trace:
        bus = MessageBus()
        bus.register("a")
        await bus.send("x", "a", {"k": 1}, parent_id="m000000")
        return bus.trace

    event = asyncio.run(main()).events[0]
    assert set(event) >= {"type", "seq", "message_id", "sender", "recipient", "topic", "kind", "payload",
                          "correlation_id", "parent_id", "sent_at"}
    assert event["parent_id"] == "m000000" and event["kind"] == "event"

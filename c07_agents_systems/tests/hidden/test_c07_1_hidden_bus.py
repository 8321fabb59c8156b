"""c07.1 hidden: the bus under stress (many producers into a one-slot mailbox, nothing lost)."""

from __future__ import annotations

import asyncio

import pytest

from c07_agents_systems import MessageBus

pytestmark = pytest.mark.task("c07.1")


def test_many_producers_through_a_one_slot_mailbox() -> None:
    async def main() -> None:
        bus = MessageBus(mailbox_size=1)
        box = bus.register("sink")
        got: list[tuple[int, int]] = []

        async def producer(p: int) -> None:
            for i in range(50):
                await bus.send(f"p{p}", "sink", {"p": p, "i": i})

        async def consumer() -> None:
            while len(got) < 500:
                assert box.qsize() <= 1
                message = await bus.receive("sink", timeout=5.0)
                got.append((message.payload["p"], message.payload["i"]))

        await asyncio.gather(consumer(), *(producer(p) for p in range(10)))
        assert sorted(got) == [(p, i) for p in range(10) for i in range(50)]
        for p in range(10):  # each producer's messages arrive in the order it sent them
            assert [i for q, i in got if q == p] == list(range(50))
        ids = [e["message_id"] for e in bus.trace.of_type("message")]
        assert len(ids) == len(set(ids)) == 500

    asyncio.run(main())

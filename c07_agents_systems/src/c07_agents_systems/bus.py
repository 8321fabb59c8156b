"""An asyncio message bus: mailboxes with bounded queues, topics, and request/reply with timeouts.

Each agent *registers* a name and gets a mailbox, an ``asyncio.Queue`` with a
maximum size. Sending to a full mailbox waits (``await queue.put``): that is
*back-pressure*, the sender slows down to the pace of the receiver instead of
the queue growing without bound. A send may wait at most ``send_timeout``
seconds, after which it fails with :class:`MailboxFullError` rather than hang.

A *request* carries a fresh correlation id and the sender awaits a future keyed
by it; the recipient's :meth:`MessageBus.reply` resolves that future, so replies
never pass through the requester's mailbox (the requester need not even have
one). A reply that arrives after the requester gave up (:class:`RequestTimeoutError`)
is recorded in the trace as ``late`` and dropped.

*Topics* are one-to-many: :meth:`MessageBus.publish` puts one copy in the
mailbox of each subscriber.

Every message is recorded in the :class:`~c07_agents_systems.messages.Trace`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from c07_agents_systems.messages import Message, MessageKind, Trace

DEFAULT_MAILBOX_SIZE = 16


class BusError(RuntimeError):
    """A message that cannot be delivered."""


class UnknownRecipientError(BusError):
    """A message to a name that never registered (or a topic with no subscriber is fine: it is dropped)."""


class MailboxFullError(BusError):
    """The recipient's bounded mailbox stayed full for longer than the send timeout."""


class RequestTimeoutError(BusError, TimeoutError):
    """No reply arrived within the request's timeout."""


class MessageBus:
    """Mailboxes, topics and request/reply, every message traced.

    Args:
        trace: where every message is recorded (a new one by default).
        mailbox_size: the default bound of each mailbox (back-pressure beyond it).
        send_timeout: the longest a send waits for room in a full mailbox, in seconds.
        clock: seconds as a float (``time.perf_counter``); timestamps are relative to the bus start.
    """

    def __init__(self, trace: Trace | None = None, *, mailbox_size: int = DEFAULT_MAILBOX_SIZE,
                 send_timeout: float = 5.0, clock: Callable[[], float] = time.perf_counter) -> None:
        self.trace = trace if trace is not None else Trace()
        self.mailbox_size = mailbox_size
        self.send_timeout = send_timeout
        self._clock = clock
        self._start = clock()
        self._mailboxes: dict[str, asyncio.Queue[Message]] = {}
        self._subscribers: dict[str, list[str]] = {}
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._ids = itertools.count(1)
        self._conversations = itertools.count(1)
        self._check_bounds()

    def _check_bounds(self) -> None:
        # BEGIN SOLUTION c07.1: a mailbox holds at least one message; a send waits a positive time
        if self.mailbox_size < 1:
            raise ValueError(f"mailbox_size must be at least 1 (a bounded queue), got {self.mailbox_size}")
        if self.send_timeout <= 0:
            raise ValueError(f"send_timeout must be positive, got {self.send_timeout}")
        # END SOLUTION

    def now(self) -> float:
        """Seconds since the bus started."""
        return self._clock() - self._start

    @property
    def names(self) -> list[str]:
        return list(self._mailboxes)

    def register(self, name: str, *, mailbox_size: int | None = None) -> asyncio.Queue[Message]:
        """Give ``name`` a bounded mailbox and return it.

        Raises:
            ValueError: an empty name, a name already registered, or a size below 1.
        """
        # BEGIN SOLUTION c07.1: refuse empty or duplicate names; a bounded asyncio.Queue
        if not isinstance(name, str) or not name:
            raise ValueError("an agent name must be a non-empty str")
        if name in self._mailboxes:
            raise ValueError(f"agent {name!r} is already registered")
        size = self.mailbox_size if mailbox_size is None else mailbox_size
        if size < 1:
            raise ValueError(f"mailbox_size must be at least 1, got {size}")
        self._mailboxes[name] = asyncio.Queue(maxsize=size)
        return self._mailboxes[name]
        # END SOLUTION

    def subscribe(self, name: str, topic: str) -> None:
        """Deliver every message published on ``topic`` to ``name``'s mailbox too."""
        # BEGIN SOLUTION c07.1: the subscriber must exist; subscribing twice is one subscription
        if name not in self._mailboxes:
            raise UnknownRecipientError(f"cannot subscribe {name!r}: it is not registered")
        subscribers = self._subscribers.setdefault(topic, [])
        if name not in subscribers:
            subscribers.append(name)
        # END SOLUTION

    def _make(self, sender: str, recipient: str | None, topic: str | None, kind: MessageKind,
              payload: dict[str, Any], correlation_id: str | None, parent_id: str | None) -> Message:
        if not isinstance(payload, dict):
            raise TypeError(f"a payload is a dict, got {type(payload).__name__}")
        conversation = correlation_id or f"c{next(self._conversations):05d}"
        return Message(f"m{next(self._ids):06d}", sender, recipient, topic, kind, payload, conversation,
                       parent_id, round(self.now(), 6))

    async def _deliver(self, message: Message, name: str) -> None:
        # BEGIN SOLUTION c07.1: await room in the bounded queue, at most send_timeout seconds
        queue = self._mailboxes.get(name)
        if queue is None:
            raise UnknownRecipientError(f"no agent named {name!r} on the bus (registered: {self.names})")
        try:
            await asyncio.wait_for(queue.put(message), timeout=self.send_timeout)
        except TimeoutError as err:
            self.trace.record("note", at=self.now(), level="error", text=f"mailbox of {name!r} full",
                              message_id=message.message_id)
            raise MailboxFullError(f"mailbox of {name!r} stayed full ({queue.maxsize} messages) for "
                              f"{self.send_timeout} s") from err
        # END SOLUTION

    async def send(self, sender: str, recipient: str, payload: dict[str, Any], *, kind: MessageKind = "event",
                   correlation_id: str | None = None, parent_id: str | None = None) -> Message:
        """Put a message in ``recipient``'s mailbox (waiting while it is full) and trace it."""
        # BEGIN SOLUTION c07.1: make the message, trace it, deliver it
        if recipient not in self._mailboxes:
            raise UnknownRecipientError(f"no agent named {recipient!r} on the bus (registered: {self.names})")
        message = self._make(sender, recipient, None, kind, payload, correlation_id, parent_id)
        self.trace.record("message", **message.to_json())
        await self._deliver(message, recipient)
        return message
        # END SOLUTION

    async def publish(self, sender: str, topic: str, payload: dict[str, Any], *,
                      parent_id: str | None = None) -> Message:
        """One event on ``topic``, a copy to each subscriber (none is fine)."""
        # BEGIN SOLUTION c07.1: trace once, deliver to every subscriber in subscription order
        message = self._make(sender, None, topic, "event", payload, None, parent_id)
        self.trace.record("message", **message.to_json())
        for name in self._subscribers.get(topic, []):
            await self._deliver(message, name)
        return message
        # END SOLUTION

    async def receive(self, name: str, *, timeout: float | None = None) -> Message:
        """The next message in ``name``'s mailbox (RequestTimeoutError after ``timeout`` seconds)."""
        # BEGIN SOLUTION c07.1: wait on the queue, bounded by the timeout
        queue = self._mailboxes.get(name)
        if queue is None:
            raise UnknownRecipientError(f"no agent named {name!r} on the bus")
        try:
            return await asyncio.wait_for(queue.get(), timeout=timeout)
        except TimeoutError as err:
            raise RequestTimeoutError(f"{name!r} received nothing within {timeout} s") from err
        # END SOLUTION

    async def request(self, sender: str, recipient: str, payload: dict[str, Any], *, timeout: float,
                      parent_id: str | None = None) -> Message:
        """Send a request and wait for its reply (or error) for at most ``timeout`` seconds.

        Raises:
            RequestTimeoutError: no reply in time (a later reply is dropped and traced as late).
            ValueError: a timeout that is not positive.
        """
        # BEGIN SOLUTION c07.1: register a future under a new correlation id, then send; wait
        if not timeout > 0:
            raise ValueError(f"a request needs a positive timeout, got {timeout}")
        correlation_id = f"c{next(self._conversations):05d}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            await self.send(sender, recipient, payload, kind="request", correlation_id=correlation_id,
                            parent_id=parent_id)
            return await asyncio.wait_for(future, timeout=timeout)
        except TimeoutError as err:
            self.trace.record("note", at=self.now(), level="error", correlation_id=correlation_id,
                              text=f"{sender} -> {recipient}: no reply within {timeout} s")
            raise RequestTimeoutError(f"{recipient!r} did not reply to {payload.get('op', 'a request')!r} "
                                 f"within {timeout} s") from err
        finally:
            self._pending.pop(correlation_id, None)
        # END SOLUTION

    async def reply(self, request: Message, sender: str, payload: dict[str, Any], *,
                    kind: MessageKind = "reply") -> Message:
        """Answer ``request``: resolve the requester's future (or trace the reply as late)."""
        # BEGIN SOLUTION c07.1: same correlation id, parent = the request; hand it to the waiting future
        if kind not in ("reply", "error"):
            raise ValueError(f"a reply's kind is 'reply' or 'error', got {kind!r}")
        message = self._make(sender, request.sender, None, kind, payload, request.correlation_id,
                             request.message_id)
        future = self._pending.get(request.correlation_id)
        late = future is None or future.done()
        self.trace.record("message", late=late, **message.to_json())
        if future is not None and not future.done():
            future.set_result(message)
        return message
        # END SOLUTION

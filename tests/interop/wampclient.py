"""Thin helpers around the real Autobahn|Python asyncio client.

Every connection picks its WAMP serializer explicitly (WebSocket subprotocol
``wamp.2.<name>`` or ``wamp.2.<name>.batched``) and records every raw inbound
WAMP message (the decoded list, before Autobahn turns it into an object), so
tests can look at wire-level details such as the WELCOME roles dict.
"""

import asyncio
from urllib.parse import urlparse

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig

# Every await in the suite is bounded by this (seconds).
STEP_TIMEOUT = 5.0

SERIALIZERS = {
    "json": lambda: JsonSerializer(),
    "json.batched": lambda: JsonSerializer(batched=True),
    "msgpack": lambda: MsgPackSerializer(),
    "msgpack.batched": lambda: MsgPackSerializer(batched=True),
    "cbor": lambda: CBORSerializer(),
    "cbor.batched": lambda: CBORSerializer(batched=True),
}


class RecordingObjectSerializer:
    """Wraps an Autobahn object serializer and keeps every decoded raw message."""

    def __init__(self, inner):
        self._inner = inner
        self.received = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def unserialize(self, payload):
        msgs = self._inner.unserialize(payload)
        self.received.extend(msgs)
        return msgs


class Aborted(Exception):
    """The router answered HELLO with ABORT (or closed before WELCOME)."""

    def __init__(self, details):
        super().__init__(f"{details.reason}: {details.message}")
        self.reason = details.reason
        self.message = details.message


class Client(ApplicationSession):
    """An ApplicationSession that exposes join/leave/close as futures."""

    def __init__(self, config):
        super().__init__(config)
        loop = asyncio.get_running_loop()
        self.joined = loop.create_future()
        self.left = loop.create_future()
        self.closed = loop.create_future()
        self.recorder = None
        self.serializer_name = None

    def onJoin(self, details):
        if not self.joined.done():
            self.joined.set_result(details)

    def onLeave(self, details):
        if not self.left.done():
            self.left.set_result(details)
        super().onLeave(details)

    def onDisconnect(self):
        if not self.closed.done():
            self.closed.set_result(True)
        if not self.left.done():
            self.left.set_exception(ConnectionError("transport closed before leave"))
            self.left.exception()  # mark retrieved

    # --- conveniences -------------------------------------------------------

    @property
    def id(self):
        return self._session_id

    @property
    def details(self):
        return self.joined.result()

    def raw(self, msg_type):
        """All raw inbound messages of one WAMP message type code."""
        return [m for m in self.recorder.received if m and m[0] == msg_type]

    async def close(self):
        try:
            if self.is_attached():
                self.leave()
            await asyncio.wait_for(asyncio.shield(self.closed), 3)
        except Exception:
            pass
        finally:
            if self._transport is not None:
                try:
                    self._transport.close()
                except Exception:
                    pass


async def open_session(url, realm, serializer="json", timeout=STEP_TIMEOUT):
    """Connect and send HELLO; return the Client once WELCOME or ABORT arrived."""
    loop = asyncio.get_running_loop()
    ser = SERIALIZERS[serializer]()
    recorder = RecordingObjectSerializer(ser._serializer)
    ser._serializer = recorder
    made = []

    def make_session():
        session = Client(ComponentConfig(realm=realm))
        session.recorder = recorder
        session.serializer_name = serializer
        made.append(session)
        return session

    factory = WampWebSocketClientFactory(make_session, url=url, serializers=[ser])
    u = urlparse(url)
    await asyncio.wait_for(loop.create_connection(factory, u.hostname, u.port), timeout)
    # the session object is created by the protocol once the WebSocket is open
    deadline = loop.time() + timeout
    while not made:
        if loop.time() > deadline:
            raise TimeoutError("WebSocket opening handshake did not complete")
        await asyncio.sleep(0.01)
    session = made[0]
    await asyncio.wait_for(
        asyncio.wait([session.joined, session.left], return_when=asyncio.FIRST_COMPLETED),
        timeout,
    )
    return session


async def join(url, realm, serializer="json", timeout=STEP_TIMEOUT):
    """Join a realm; raise Aborted if the router refuses."""
    session = await open_session(url, realm, serializer, timeout)
    if not session.joined.done():
        await session.close()
        try:
            details = session.left.result()
        except ConnectionError:
            raise
        raise Aborted(details)
    return session


class Inbox:
    """Collects values pushed from handlers; awaits them with a timeout."""

    def __init__(self):
        self._queue = asyncio.Queue()

    def put(self, item):
        self._queue.put_nowait(item)

    async def get(self, timeout=STEP_TIMEOUT):
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def get_many(self, n, timeout=STEP_TIMEOUT):
        return [await self.get(timeout) for _ in range(n)]

    async def nothing(self, wait=0.5):
        """Assert nothing arrives within `wait` seconds."""
        try:
            item = await asyncio.wait_for(self._queue.get(), wait)
        except (asyncio.TimeoutError, TimeoutError):
            return
        raise AssertionError(f"unexpected item received: {item!r}")

    def drain(self):
        items = []
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items


async def bounded(awaitable, timeout=STEP_TIMEOUT):
    """Await anything with the suite's step timeout."""
    return await asyncio.wait_for(awaitable, timeout)

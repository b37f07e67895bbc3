"""A minimal autobahn (asyncio) WAMP client that authenticates with WAMP-cryptosign as the superuser,
using the private key `crossbar shell init` wrote (default.priv)."""

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.cryptosign import CryptosignKey  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402

JOIN_TIMEOUT = 10


class _SuperuserSession(ApplicationSession):
    def __init__(self, config, key, realm, authid, authrole=None):
        super().__init__(config)
        self._key = key
        self._realm = realm
        self._authid = authid
        self._authrole = authrole
        loop = asyncio.get_running_loop()
        self.joined_future = loop.create_future()
        self.left_future = loop.create_future()

    def onConnect(self):
        # authid must be non-null (the upstream authenticator concatenates it); the superuser's is ignored
        self.join(self._realm, authmethods=["cryptosign"], authid=self._authid, authrole=self._authrole,
                  authextra={"pubkey": self._key.public_key()})

    def onChallenge(self, challenge):
        return self._key.sign_challenge(challenge)

    def onJoin(self, details):
        if not self.joined_future.done():
            self.joined_future.set_result(details)

    def onLeave(self, details):
        if not self.joined_future.done():
            self.joined_future.set_exception(RuntimeError(f"join refused: {details.reason} {details.message}"))
        if not self.left_future.done():
            self.left_future.set_result(details)
        self.disconnect()

    def onDisconnect(self):
        if not self.joined_future.done():
            self.joined_future.set_exception(RuntimeError("transport closed before the session joined"))
        if not self.left_future.done():
            self.left_future.set_result(None)


@dataclass
class Event:
    at: float  # time.monotonic() when the client received it
    topic: str
    args: list
    kwargs: dict = field(default_factory=dict)


class Superuser:
    """`async with Superuser(url, privkey_path, realm) as su: await su.call(...)`

    `authrole` requests a role on a management realm (the superuser may take any user role).
    `await su.subscribe(topic)` records every event of `topic` in `su.events`; `su.wait_event` waits for one.
    """

    def __init__(self, url, privkey_path, realm, authid="superuser", authrole=None):
        self.url = url
        self.key = CryptosignKey.from_keyfile(str(privkey_path))
        self.realm = realm
        self.authid = authid
        self.authrole = authrole
        self.session = None
        self.details = None
        self.events = []
        self._new_event = None

    async def __aenter__(self):
        u = urlparse(self.url)
        self.session = _SuperuserSession(ComponentConfig(realm=self.realm), self.key, self.realm, self.authid,
                                         self.authrole)
        self._new_event = asyncio.Event()
        factory = WampWebSocketClientFactory(lambda: self.session, url=self.url, serializers=[JsonSerializer()])
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.create_connection(factory, u.hostname, u.port), JOIN_TIMEOUT)
        self.details = await asyncio.wait_for(self.session.joined_future, JOIN_TIMEOUT)
        return self

    async def call(self, procedure, *args, timeout=10, **kwargs):
        return await asyncio.wait_for(self.session.call(procedure, *args, **kwargs), timeout)

    async def subscribe(self, topic, timeout=10):
        def on_event(*args, **kwargs):
            self.events.append(Event(time.monotonic(), topic, list(args), kwargs))
            self._new_event.set()

        return await asyncio.wait_for(self.session.subscribe(on_event, topic), timeout)

    async def wait_event(self, match, timeout, since=0):
        """The first recorded event (from index `since` of `self.events`) for which `match(event)` is true,
        or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._new_event.clear()
            for ev in self.events[since:]:
                if match(ev):
                    return ev
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._new_event.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def __aexit__(self, *exc):
        s = self.session
        if s is None:
            return
        try:
            if s.is_attached():
                s.leave()
            await asyncio.wait_for(s.left_future, 5)
        except Exception:
            pass
        if s._transport is not None:
            s._transport.close()

"""Authentication, authorization of the handshake, and TLS, with the real Autobahn client.

WAMP-cryptosign as Crossbar.io nodes and `crossbar shell` speak it (with and without the TLS
`tls-unique` channel binding, over TLS 1.2 and 1.3), WAMP-ticket, anonymous, Crossbar key files
(`key.pub` / `key.priv` made by `crossbar edge keys` and by `mrealm keys`), and every refusal:
each ends in ABORT with an exact URI and a message, and leaves no session behind.

mrealm only (each module-level router is started with its own `mrealm router` flags).
"""

import asyncio
import json
import os
import shutil
import ssl
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from autobahn.asyncio.websocket import (
    WampWebSocketClientFactory,
    WebSocketClientFactory,
    WebSocketClientProtocol,
)
from autobahn.wamp.cryptosign import CryptosignKey
from autobahn.wamp.types import ComponentConfig

import routers
from wampclient import SERIALIZERS, STEP_TIMEOUT, Aborted, Client, RecordingObjectSerializer, bounded

TARGET = os.environ.get("MREALM_TARGET", "mrealm")
pytestmark = pytest.mark.skipif(
    TARGET != "mrealm", reason="auth tests start mrealm routers with auth flags (mrealm target only)"
)

WELCOME, ABORT = 2, 3
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_PEERS_CROSSBAR = Path(__file__).resolve().parents[2] / ".venv-peers" / "bin" / "crossbar"
# the pinned crossbar that scripts/test installs for tests/peers; else a local reference venv
CROSSBAR = os.environ.get(
    "CROSSBAR", str(_PEERS_CROSSBAR) if _PEERS_CROSSBAR.exists() else "/tmp/cbvenv/bin/crossbar"
)

ALICE = CryptosignKey.from_bytes(bytes(range(1, 33)))
MALLORY = CryptosignKey.from_bytes(bytes(range(101, 133)))  # known to no router


# --- client side -------------------------------------------------------------------------


class AuthClient(Client):
    """A Client that joins with explicit auth details and answers CHALLENGE via a callback."""

    def __init__(self, config, auth):
        super().__init__(config)
        self.auth = auth
        self.challenges = []

    def onConnect(self):
        self.join(
            self.config.realm,
            authmethods=self.auth.get("authmethods"),
            authid=self.auth.get("authid"),
            authrole=self.auth.get("authrole"),
            authextra=self.auth.get("authextra"),
        )

    def onChallenge(self, challenge):
        self.challenges.append(challenge)
        return self.auth["on_challenge"](self, challenge)

    def channel_id(self, kind="tls-unique"):
        """The transport's channel id, as autobahn computes it after the TLS handshake."""
        return (self._transport.transport_details.channel_id or {}).get(kind)


async def open_auth(url, realm, auth, ssl_ctx=None, serializer="json", timeout=STEP_TIMEOUT):
    """Connect, say HELLO with `auth`, and return the AuthClient once WELCOME or ABORT came."""
    loop = asyncio.get_running_loop()
    ser = SERIALIZERS[serializer]()
    recorder = RecordingObjectSerializer(ser._serializer)
    ser._serializer = recorder
    made = []

    def make_session():
        session = AuthClient(ComponentConfig(realm=realm), auth)
        session.recorder = recorder
        session.serializer_name = serializer
        made.append(session)
        return session

    factory = WampWebSocketClientFactory(make_session, url=url, serializers=[ser])
    u = urlparse(url)
    await bounded(loop.create_connection(factory, u.hostname, u.port, ssl=ssl_ctx), timeout)
    deadline = loop.time() + timeout
    while not made:
        if loop.time() > deadline:
            raise TimeoutError("WebSocket opening handshake did not complete")
        await asyncio.sleep(0.01)
    session = made[0]
    await bounded(asyncio.wait([session.joined, session.left], return_when=asyncio.FIRST_COMPLETED), timeout)
    return session


@pytest.fixture
async def opened():
    """Sessions to close at teardown."""
    sessions = []
    yield sessions
    for s in sessions:
        await s.close()


async def authenticate(opened, url, auth, realm="realm1", ssl_ctx=None):
    s = await open_auth(url, realm, auth, ssl_ctx)
    opened.append(s)
    return s


async def refused(opened, url, auth, realm="realm1", ssl_ctx=None):
    """Expect ABORT: returns (reason, message) after checking that no session was made."""
    s = await authenticate(opened, url, auth, realm, ssl_ctx)
    assert not s.joined.done(), f"unexpected WELCOME {s.raw(WELCOME)}"
    assert s.raw(WELCOME) == []
    assert s._session_id is None
    aborts = s.raw(ABORT)
    assert len(aborts) == 1, s.recorder.received
    _, details, reason = aborts[0]
    assert isinstance(details.get("message"), str) and details["message"]
    left = s.left.result()
    assert (left.reason, left.message) == (reason, details["message"])
    return reason, details["message"]


def cryptosign(key, authid=None, binding=None, sign_binding="same", **extra):
    """HELLO for cryptosign with `key`; `sign_binding` is the binding actually used to sign."""
    authextra = {"pubkey": key.public_key(), **extra}
    if binding is not None:
        authextra["channel_binding"] = binding
    signed_with = binding if sign_binding == "same" else sign_binding

    def on_challenge(session, challenge):
        assert challenge.method == "cryptosign"
        channel_id = session.channel_id(signed_with) if signed_with else None
        return key.sign_challenge(challenge, channel_id=channel_id, channel_id_type=signed_with)

    return {"authmethods": ["cryptosign"], "authid": authid, "authextra": authextra, "on_challenge": on_challenge}


def ticket(authid, secret):
    return {"authmethods": ["ticket"], "authid": authid, "on_challenge": lambda s, c: secret}


def assert_welcome(s, authid, authrole, authmethod):
    assert s.joined.done(), f"not joined: {s.recorder.received}"
    d = s.details
    assert (d.authid, d.authrole, d.authmethod) == (authid, authrole, authmethod)
    [[_, session_id, details]] = s.raw(WELCOME)
    assert session_id == d.session
    assert details["authprovider"] == "static"
    assert (details["authid"], details["authrole"], details["authmethod"]) == (authid, authrole, authmethod)


async def assert_can_call(s):
    """A joined session really works: register and call through the router."""
    name = f"com.auth.echo.{s.id}"
    await bounded(s.register(lambda x: x * 2, name))
    assert await bounded(s.call(name, 21)) == 42


# --- routers -----------------------------------------------------------------------------


def start_router(tmp_path_factory, name, extra_args, realms=routers.REALMS):
    logdir = tmp_path_factory.mktemp(name)
    return routers.start_mrealm(logdir, extra_args=extra_args, realms=realms)


def stop_router(r):
    code = r.stop()
    assert code == 0, f"mrealm router did not exit 0 on SIGTERM (got {code})\n{r.log_tail()}"


@pytest.fixture(scope="module")
def auth_router(tmp_path_factory):
    """No anonymous; alice by cryptosign, bob by ticket, node9 by the committed key file."""
    r = start_router(tmp_path_factory, "auth", [
        "--no-anonymous",
        "--cryptosign", f"{ALICE.public_key()}:alice:user",
        "--ticket", "bob:s3cret:user",
        "--cryptosign", f"{FIXTURES / 'crossbar_node9' / 'key.pub'}:node9:user",
        "--cryptosign", f"{FIXTURES / 'crossbar_shell' / 'default.pub'}:shelluser:user",
    ])
    yield r
    stop_router(r)


@pytest.fixture(scope="module")
def anon_router(tmp_path_factory):
    r = start_router(tmp_path_factory, "anon", ["--ticket", "bob:s3cret:user"])
    yield r
    stop_router(r)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_router(tmp_path_factory, tls_files):
    cert, key = tls_files
    r = start_router(tmp_path_factory, "tls", [
        "--tls-cert", str(cert), "--tls-key", str(key),
        "--no-anonymous", "--cryptosign", f"{ALICE.public_key()}:alice:user",
    ])
    assert r.url.startswith("wss://127.0.0.1:")
    yield r
    stop_router(r)


def client_tls(cert, max_version=None):
    ctx = ssl.create_default_context(cafile=str(cert))
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def private_key(path):
    """The signing key of a Crossbar key file's `private-key-ed25519:` line."""
    for line in Path(path).read_text().splitlines():
        tag, _, value = line.partition(":")
        if tag.strip() == "private-key-ed25519":
            return CryptosignKey.from_bytes(bytes.fromhex(value.strip()))
    raise AssertionError(f"no private-key-ed25519 in {path}")


def public_key_hex(path):
    tags = dict(line.split(":", 1) for line in Path(path).read_text().splitlines() if ": " in line)
    return tags["public-key-ed25519"].strip()


def mrealm_bin():
    return os.environ.get("MREALM_BIN", str(routers.ROOT / "target" / "debug" / "mrealm"))


# --- cryptosign over ws:// ---------------------------------------------------------------


async def test_cryptosign_welcome(auth_router, opened):
    s = await authenticate(opened, auth_router.url, cryptosign(ALICE, authid="alice"))
    assert_welcome(s, "alice", "user", "cryptosign")
    [challenge] = s.challenges
    assert len(challenge.extra["challenge"]) == 64
    assert challenge.extra.get("channel_binding") is None
    await assert_can_call(s)


async def test_cryptosign_without_authid(auth_router, opened):
    """The key alone identifies the principal (as `crossbar shell` may join without authid)."""
    s = await authenticate(opened, auth_router.url, cryptosign(ALICE))
    assert_welcome(s, "alice", "user", "cryptosign")


async def test_challenges_are_fresh(auth_router, opened):
    a = await authenticate(opened, auth_router.url, cryptosign(ALICE, authid="alice"))
    b = await authenticate(opened, auth_router.url, cryptosign(ALICE, authid="alice"))
    assert a.joined.done() and b.joined.done()
    assert a.challenges[0].extra["challenge"] != b.challenges[0].extra["challenge"]
    assert a.id != b.id


# --- cryptosign over wss:// with tls-unique ------------------------------------------------


@pytest.mark.parametrize("version", ["default", "TLSv1_2"])
async def test_wss_cryptosign_tls_unique(tls_router, tls_files, opened, version):
    max_version = None if version == "default" else ssl.TLSVersion.TLSv1_2
    ctx = client_tls(tls_files[0], max_version)
    s = await authenticate(opened, tls_router.url, cryptosign(ALICE, "alice", binding="tls-unique"), ssl_ctx=ctx)
    assert_welcome(s, "alice", "user", "cryptosign")
    assert s.challenges[0].extra["channel_binding"] == "tls-unique"
    ssl_obj = s._transport.transport.get_extra_info("ssl_object")
    expected = "TLSv1.2" if version == "TLSv1_2" else "TLSv1.3"
    assert ssl_obj.version() == expected
    assert len(s.channel_id()) == 32 and s.channel_id() != b"\x00" * 32
    await assert_can_call(s)


async def test_wss_cryptosign_without_binding(tls_router, tls_files, opened):
    s = await authenticate(opened, tls_router.url, cryptosign(ALICE, "alice"), ssl_ctx=client_tls(tls_files[0]))
    assert_welcome(s, "alice", "user", "cryptosign")


async def test_wss_binding_requested_but_not_signed(tls_router, tls_files, opened):
    auth = cryptosign(ALICE, "alice", binding="tls-unique", sign_binding=None)
    reason, message = await refused(opened, tls_router.url, auth, ssl_ctx=client_tls(tls_files[0]))
    assert reason == "wamp.error.authentication_failed"
    assert "challenge" in message


async def test_wss_binding_of_another_connection(tls_router, tls_files, opened):
    """A signature bound to one TLS channel does not authenticate another one."""
    ctx = client_tls(tls_files[0])
    first = await authenticate(opened, tls_router.url, cryptosign(ALICE, "alice", binding="tls-unique"), ssl_ctx=ctx)
    other_channel = first.channel_id()

    def on_challenge(session, challenge):
        return ALICE.sign_challenge(challenge, channel_id=other_channel, channel_id_type="tls-unique")

    auth = dict(cryptosign(ALICE, "alice", binding="tls-unique"), on_challenge=on_challenge)
    reason, _ = await refused(opened, tls_router.url, auth, ssl_ctx=ctx)
    assert reason == "wamp.error.authentication_failed"


async def test_tls_unique_over_plain_ws(auth_router, opened):
    auth = cryptosign(ALICE, "alice", binding="tls-unique", sign_binding=None)
    reason, message = await refused(opened, auth_router.url, auth)
    assert reason == "wamp.error.invalid_argument"
    assert "tls-unique" in message and "not TLS" in message
    assert [c for s in opened for c in s.challenges] == []


async def test_unsupported_channel_binding(auth_router, opened):
    auth = cryptosign(ALICE, "alice", binding="tls-exporter", sign_binding=None)
    reason, message = await refused(opened, auth_router.url, auth)
    assert reason == "wamp.error.invalid_argument"
    assert "tls-exporter" in message


# --- ticket and anonymous ----------------------------------------------------------------


async def test_ticket(auth_router, opened):
    s = await authenticate(opened, auth_router.url, ticket("bob", "s3cret"))
    assert_welcome(s, "bob", "user", "ticket")
    assert s.challenges[0].method == "ticket"
    await assert_can_call(s)


async def test_wrong_ticket(auth_router, opened):
    reason, message = await refused(opened, auth_router.url, ticket("bob", "s3cret!"))
    assert reason == "wamp.error.authentication_failed"
    assert "bob" in message


async def test_unknown_ticket_authid(auth_router, opened):
    reason, message = await refused(opened, auth_router.url, ticket("eve", "s3cret"))
    assert reason == "wamp.error.no_such_principal"
    assert "eve" in message


async def test_anonymous_allowed(anon_router, opened):
    s = await authenticate(opened, anon_router.url, {})
    assert s.joined.done()
    d = s.details
    assert (d.authrole, d.authmethod) == ("anonymous", "anonymous")
    assert s.raw(WELCOME)[0][2]["authprovider"] == "static"
    # the same router still checks tickets when one is offered
    t = await authenticate(opened, anon_router.url, ticket("bob", "s3cret"))
    assert_welcome(t, "bob", "user", "ticket")
    reason, _ = await refused(opened, anon_router.url, ticket("bob", "nope"))
    assert reason == "wamp.error.authentication_failed"


async def test_anonymous_refused(auth_router, opened):
    reason, message = await refused(opened, auth_router.url, {})
    assert reason == "wamp.error.no_auth_method"
    reason, _ = await refused(opened, auth_router.url, {"authmethods": ["anonymous"]})
    assert reason == "wamp.error.no_auth_method"


# --- key files ---------------------------------------------------------------------------


async def test_committed_crossbar_key_file(auth_router, opened):
    """tests/interop/fixtures/crossbar_node9 was made by `crossbar edge keys` (CI has no Crossbar)."""
    priv = FIXTURES / "crossbar_node9" / "key.priv"
    key = private_key(priv)
    assert key.public_key() == public_key_hex(FIXTURES / "crossbar_node9" / "key.pub")
    s = await authenticate(opened, auth_router.url, cryptosign(key, authid="node9"))
    assert_welcome(s, "node9", "user", "cryptosign")


async def test_committed_crossbar_shell_key_file(auth_router, opened):
    """fixtures/crossbar_shell was made by `crossbar shell init --yes` (a user profile key)."""
    key = private_key(FIXTURES / "crossbar_shell" / "default.priv")
    assert key.public_key() == public_key_hex(FIXTURES / "crossbar_shell" / "default.pub")
    s = await authenticate(opened, auth_router.url, cryptosign(key, authid="shelluser"))
    assert_welcome(s, "shelluser", "user", "cryptosign")


@pytest.fixture(scope="module")
def crossbar_keys(tmp_path_factory):
    if not os.path.exists(CROSSBAR):
        pytest.skip(f"no Crossbar.io at {CROSSBAR} (set CROSSBAR); the committed fixture key covers the format")
    d = tmp_path_factory.mktemp("cbkeys")
    env = dict(os.environ, CROSSBAR_NODE_ID="node9", HOME=str(d))
    subprocess.run([CROSSBAR, "edge", "keys", "--cbdir", str(d / "node")], env=env, check=True,
                   capture_output=True, timeout=120, cwd=str(d))
    env["CROSSBAR_FABRIC_URL"] = "ws://127.0.0.1:9/ws"  # written into config.ini only
    subprocess.run([CROSSBAR, "shell", "init", "--yes"], env=env, check=True,
                   capture_output=True, timeout=120, cwd=str(d))
    return d / "node"


async def test_fresh_crossbar_key_file(tmp_path_factory, crossbar_keys, opened):
    pub = crossbar_keys / "key.pub"
    assert "node-authid: node9" in pub.read_text()
    r = start_router(tmp_path_factory, "cbkey", ["--no-anonymous", "--cryptosign", f"{pub}:node9:user"])
    try:
        key = private_key(crossbar_keys / "key.priv")
        s = await authenticate(opened, r.url, cryptosign(key, authid="node9"))
        assert_welcome(s, "node9", "user", "cryptosign")
        reason, _ = await refused(opened, r.url, cryptosign(ALICE, authid="node9"))
        assert reason == "wamp.error.no_such_principal"
    finally:
        for s in opened:
            await s.close()
        stop_router(r)


async def test_fresh_crossbar_shell_key_file(tmp_path_factory, crossbar_keys, opened):
    profile = crossbar_keys.parent / ".crossbar"
    pub = profile / "default.pub"
    assert "user-id: unknown" in pub.read_text()
    r = start_router(tmp_path_factory, "shellkey", ["--no-anonymous", "--cryptosign", f"{pub}:me:user"])
    try:
        s = await authenticate(opened, r.url, cryptosign(private_key(profile / "default.priv"), authid="me"))
        assert_welcome(s, "me", "user", "cryptosign")
    finally:
        for s in opened:
            await s.close()
        stop_router(r)


async def test_mrealm_keys(tmp_path_factory, opened):
    d = tmp_path_factory.mktemp("mkeys") / "node"
    run = [mrealm_bin(), "keys", "--cbdir", str(d), "--authid", "n2"]
    first = subprocess.run(run, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0, first.stderr
    pub, priv = d / "key.pub", d / "key.priv"
    assert stat.S_IMODE(pub.stat().st_mode) == 0o644
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    before = (pub.read_text(), priv.read_text())
    assert "node-authid: n2" in before[0]
    assert "private-key-ed25519" not in before[0]
    key = private_key(priv)
    assert key.public_key() == public_key_hex(pub) == public_key_hex(priv)
    assert key.public_key() in first.stdout
    # autobahn's own key file reader agrees
    assert CryptosignKey.from_keyfile(str(priv)).public_key() == key.public_key()

    again = subprocess.run(run, capture_output=True, text=True, timeout=30)
    assert again.returncode == 0, again.stderr
    assert (pub.read_text(), priv.read_text()) == before
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600

    r = start_router(tmp_path_factory, "mkey", ["--no-anonymous", "--cryptosign", f"{pub}:n2:user"])
    try:
        s = await authenticate(opened, r.url, cryptosign(key, authid="n2"))
        assert_welcome(s, "n2", "user", "cryptosign")
        await assert_can_call(s)
    finally:
        for s in opened:
            await s.close()
        stop_router(r)


# --- refusals ----------------------------------------------------------------------------


class RawWamp(WebSocketClientProtocol):
    """A WebSocket peer that sends hand-written WAMP JSON."""

    def onOpen(self):
        self.factory.opened.set_result(self)

    def onMessage(self, payload, is_binary):
        self.factory.inbox.put_nowait(json.loads(payload))

    def onClose(self, was_clean, code, reason):
        if not self.factory.closed.done():
            self.factory.closed.set_result(code)


async def raw_exchange(url, first_message):
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url=url, protocols=["wamp.2.json"])
    factory.protocol = RawWamp
    factory.opened, factory.closed, factory.inbox = loop.create_future(), loop.create_future(), asyncio.Queue()
    u = urlparse(url)
    transport, _ = await bounded(loop.create_connection(factory, u.hostname, u.port))
    try:
        proto = await bounded(factory.opened)
        proto.sendMessage(json.dumps(first_message).encode())
        reply = await bounded(factory.inbox.get())
        await bounded(factory.closed)
        return reply
    finally:
        transport.close()


async def session_count(s):
    return await bounded(s.call("wamp.session.count"))


async def test_rejections_leave_no_session(auth_router, opened):
    url = auth_router.url
    watcher = await authenticate(opened, url, ticket("bob", "s3cret"))
    assert await session_count(watcher) == 1

    # a valid signature from one session, replayed in another
    captured = []

    def capture(session, challenge):
        f = ALICE.sign_challenge(challenge)
        f.add_done_callback(lambda f: captured.append(f.result()))
        return f

    ok = await authenticate(opened, url, dict(cryptosign(ALICE, "alice"), on_challenge=capture))
    assert ok.joined.done() and len(captured) == 1
    await ok.close()

    def sign_random(session, challenge):
        raw = os.urandom(32)
        return ALICE._key.sign(raw).signature.hex() + raw.hex()

    cases = [
        # signed with another key than the announced one
        (dict(cryptosign(ALICE, "alice"), on_challenge=lambda s, c: MALLORY.sign_challenge(c)),
         "wamp.error.authentication_failed", "signature"),
        # a valid signature over other data than the challenge
        (dict(cryptosign(ALICE, "alice"), on_challenge=sign_random),
         "wamp.error.authentication_failed", "challenge"),
        # replay
        (dict(cryptosign(ALICE, "alice"), on_challenge=lambda s, c: captured[0]),
         "wamp.error.authentication_failed", "challenge"),
        # garbage
        (dict(cryptosign(ALICE, "alice"), on_challenge=lambda s, c: "zz"),
         "wamp.error.authentication_failed", "hex"),
        (cryptosign(MALLORY, "mallory"), "wamp.error.no_such_principal", MALLORY.public_key()),
        ({"authmethods": ["cryptosign"], "authid": "alice", "authextra": {}},
         "wamp.error.invalid_argument", "pubkey"),
        ({"authmethods": ["cryptosign"], "authid": "alice", "authextra": {"pubkey": "abc"}},
         "wamp.error.invalid_argument", "pubkey"),
        ({"authmethods": ["wampcra"], "authid": "alice"}, "wamp.error.no_auth_method", "wampcra"),
        (dict(cryptosign(ALICE, "alice"), authrole="admin"), "wamp.error.no_such_role", "admin"),
    ]
    for auth, uri, needle in cases:
        reason, message = await refused(opened, url, auth)
        assert (reason, needle in message) == (uri, True), (auth, reason, message)

    reason, message = await refused(opened, url, cryptosign(ALICE, "alice"), realm="realm9")
    assert reason == "wamp.error.no_such_realm" and "realm9" in message

    reply = await raw_exchange(url, [5, "abc", {}])
    assert reply[0] == ABORT and reply[2] == "wamp.error.protocol_violation", reply
    assert "AUTHENTICATE" in reply[1]["message"].upper()

    # nothing of the above joined, and the router goes on
    assert await session_count(watcher) == 1
    good = await authenticate(opened, url, cryptosign(ALICE, "alice"))
    assert_welcome(good, "alice", "user", "cryptosign")
    assert await session_count(watcher) == 2


async def test_refused_client_abort_is_reported(auth_router, opened):
    """A client that cannot answer the challenge aborts itself; the router just closes."""

    def fail(session, challenge):
        raise RuntimeError("no key here")

    s = await authenticate(opened, auth_router.url, dict(cryptosign(ALICE, "alice"), on_challenge=fail))
    assert not s.joined.done()
    assert s.left.result().reason == "wamp.error.cannot_authenticate"
    watcher = await authenticate(opened, auth_router.url, ticket("bob", "s3cret"))
    assert await session_count(watcher) == 1

import os
import signal
from pathlib import Path

import pytest

import routers
from wampclient import SERIALIZERS, join

TARGET = os.environ.get("MREALM_TARGET", "mrealm")
TEST_TIMEOUT = 10  # seconds, hard limit for the call phase of every test
CORE_SERIALIZERS = list(SERIALIZERS)
META_SERIALIZERS = ["json", "cbor.batched"]


class TestTimedOut(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Backstop so no test can hang: SIGALRM after TEST_TIMEOUT seconds."""

    def on_alarm(signum, frame):
        raise TestTimedOut(f"{item.nodeid} exceeded {TEST_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_report_header(config):
    return f"interop target: {TARGET} (set MREALM_TARGET=mrealm|crossbar)"


@pytest.fixture(scope="session")
def router(tmp_path_factory):
    logdir = Path(os.environ.get("MREALM_INTEROP_LOGDIR", "")) if os.environ.get("MREALM_INTEROP_LOGDIR") \
        else tmp_path_factory.mktemp(f"router-{TARGET}")
    r = routers.start(TARGET, logdir)
    print(f"\n[interop] {TARGET} router at {r.url}, log {r.log_path}")
    yield r
    code = r.stop()
    if TARGET == "mrealm":
        assert code == 0, f"mrealm router did not exit 0 on SIGTERM (got {code})\n{r.log_tail()}"


@pytest.fixture
def target():
    return TARGET


@pytest.fixture
async def connect(router):
    """Factory: `await connect(realm="realm1", serializer="json")` -> joined Client.

    Every session opened through it is closed at teardown.
    """
    opened = []

    async def _connect(realm="realm1", serializer="json"):
        session = await join(router.url, realm, serializer)
        opened.append(session)
        return session

    yield _connect
    for session in opened:
        await session.close()


@pytest.fixture(params=CORE_SERIALIZERS)
def ser(request):
    return request.param


@pytest.fixture(params=META_SERIALIZERS)
def meta_ser(request):
    return request.param

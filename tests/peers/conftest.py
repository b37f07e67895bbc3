"""Real-peer suite: unmodified Crossbar.io 26.10.1 edge nodes and `crossbar shell` against `mrealm master start`.

Layout of one run (under pytest's tmp dir, or $MREALM_PEERS_LOGDIR if set):
    home/.crossbar/{config.ini,default.priv,default.pub}   superuser key + shell profile (HOME of every peer)
    master/                                                  mrealm cbdir
    watched/<node>/{key.*,config.json}                       CROSSBAR_WATCH_TO_PAIR: auto-paired into "default"
    outside/<node>/{key.*,config.json}                       keys the master never sees by itself
    logs/*.log                                               master, nodes, key generation
"""

import atexit
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import peers

# seconds, hard limit for the setup and call phases of every test
TEST_TIMEOUT = float(os.environ.get("MREALM_PEERS_TEST_TIMEOUT", "90"))
CONNECTED = peers.CONNECTED
WATCHED_NODES = ("node1", "node2")  # node1: stays up for the session; node2: started/killed by a test
OUTSIDE_NODES = ("node3", "stray1")  # node3: paired/unpaired by the shell; stray1: never paired
# each watched node's cluster IP (`CROSSBAR_NODE_CLUSTER_IP` when its key is made -> key tag `node-cluster-ip`):
# its own loopback address, so cluster tests can tell the nodes apart (test_clusters.py)
CLUSTER_IPS = {"node1": "127.0.0.11", "node2": "127.0.0.12"}
# <master cbdir>/mrealm.toml: WebSocket ping period and pong timeout (s) of the master
MASTER_PING_INTERVAL = 2
MASTER_PING_TIMEOUT = 2

_OK, _WHY = peers.crossbar_available()

atexit.register(peers.kill_all_leftovers)


def pytest_collection_modifyitems(config, items):
    if _OK:
        return
    skip = pytest.mark.skip(reason=_WHY)
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def pytest_report_header(config):
    state = f"crossbar: {peers.CROSSBAR}" if _OK else f"SKIPPING: {_WHY}"
    return f"peers: mrealm {peers.MREALM_BIN}; {state}"


def pytest_sessionfinish(session, exitstatus):
    peers.kill_all_leftovers()


class TestTimedOut(Exception):
    pass


def _with_alarm(item, phase):
    def on_alarm(signum, frame):
        raise TestTimedOut(f"{item.nodeid} {phase} exceeded {TEST_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    return previous


def _clear_alarm(previous):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Backstop so no fixture setup can hang (all waits inside are bounded anyway)."""
    previous = _with_alarm(item, "setup")
    try:
        yield
    finally:
        _clear_alarm(previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = _with_alarm(item, "call")
    try:
        yield
    finally:
        _clear_alarm(previous)


@dataclass
class Peers:
    base: Path
    home: Path
    su_pub: Path
    su_priv: Path
    watched: Path
    outside: Path
    logs: Path
    master_port: int
    master_url: str  # also the url in the shell profile (config.ini), which the shell prefers over the env
    node_ports: dict = field(default_factory=dict)

    def cbdir(self, node):
        return (self.watched if node in WATCHED_NODES else self.outside) / node


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Superuser key + shell profile (`crossbar shell init --yes`) and node keys (`crossbar edge keys`),
    generated in parallel, plus each node's local config.json."""
    if not _OK:
        pytest.skip(_WHY)
    logdir = os.environ.get("MREALM_PEERS_LOGDIR")
    base = Path(logdir) if logdir else tmp_path_factory.mktemp("peers")
    base.mkdir(parents=True, exist_ok=True)
    home = base / "home"
    port = peers.free_port()
    p = Peers(master_port=port, master_url=f"ws://127.0.0.1:{port}/ws", base=base, home=home, su_pub=home / ".crossbar" / "default.pub",
              su_priv=home / ".crossbar" / "default.priv", watched=base / "watched", outside=base / "outside",
              logs=base / "logs")
    (home / ".crossbar").mkdir(parents=True, exist_ok=True)
    p.logs.mkdir(exist_ok=True)
    print(f"\n[peers] state and logs in {base}")

    t0 = time.monotonic()
    jobs = [peers.Proc("shell-init", [peers.CROSSBAR, "shell", "init", "--yes"],
                       peers.peer_env(home, CROSSBAR_FABRIC_SUPERUSER=p.su_pub,
                                      CROSSBAR_FABRIC_URL=p.master_url),
                       p.logs / "shell-init.log", cwd=base)]
    for node in WATCHED_NODES + OUTSIDE_NODES:
        d = p.cbdir(node)
        d.mkdir(parents=True, exist_ok=True)
        p.node_ports[node] = peers.free_port()
        peers.write_node_config(d, p.node_ports[node])
        jobs.append(peers.Proc(f"keys-{node}", [peers.CROSSBAR, "edge", "keys", "--cbdir", d],
                               peers.peer_env(home, CROSSBAR_NODE_ID=node, CROSSBAR_NODE_CLUSTER_IP=CLUSTER_IPS.get(node)),
                               p.logs / f"keys-{node}.log", cwd=base))
    try:
        for j in jobs:
            code = j.wait_exit(60)
            assert code == 0, f"{' '.join(j.argv)} -> {code}\n{j.log_tail()}"
    finally:
        for j in jobs:
            j.stop(grace=2)
    for f in (p.su_pub, p.su_priv, *(p.cbdir(n) / "key.pub" for n in WATCHED_NODES + OUTSIDE_NODES)):
        assert f.is_file(), f"{f} was not created"
    for n in WATCHED_NODES + OUTSIDE_NODES:
        assert peers.parse_keyfile(p.cbdir(n) / "key.pub").get("node-authid") == n
    for n, ip in CLUSTER_IPS.items():
        assert peers.parse_keyfile(p.cbdir(n) / "key.pub").get("node-cluster-ip") == ip, f"{n}: no cluster IP {ip}"
    print(f"[peers] keys ready in {time.monotonic() - t0:.1f} s")
    return p


@dataclass
class Master:
    proc: peers.Proc
    url: str
    port: int


@pytest.fixture(scope="session")
def master(keys):
    """`mrealm master start` on a free loopback port, auto-pairing keys.watched into mrealm "default"."""
    assert os.access(peers.MREALM_BIN, os.X_OK), f"{peers.MREALM_BIN} missing: run `cargo build -p mrealm`"
    port, url = keys.master_port, keys.master_url
    cbdir = keys.base / "master"
    cbdir.mkdir(parents=True, exist_ok=True)
    # a short WebSocket ping, so a frozen (SIGSTOPped) node is detected within ~4 s (test_controller.py)
    (cbdir / "mrealm.toml").write_text(f"ping_interval = {MASTER_PING_INTERVAL}\nping_timeout = {MASTER_PING_TIMEOUT}\n")
    proc = _start_master(keys, cbdir, port, url)
    m = Master(proc, url, port)
    yield m
    code = m.proc.stop(grace=10)  # m.proc: the current process (restart_master replaces it)
    assert code == 0, f"mrealm master did not exit 0 on SIGTERM (got {code})\n{m.proc.log_tail()}"


def _start_master(keys, cbdir, port, url):
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub, CROSSBAR_WATCH_TO_PAIR=keys.watched,
                         CROSSBAR_FABRIC_URL=url, RUST_BACKTRACE="1")
    proc = peers.Proc("mrealm master",
                      [peers.MREALM_BIN, "master", "start", "--cbdir", cbdir,
                       "--listen", f"127.0.0.1:{port}"],
                      env, keys.logs / "master.log", cwd=keys.base)
    try:
        waited = proc.wait_log(f"mrealm master listening on {url}", 30)
        print(f"[peers] mrealm master at {url} after {waited:.2f} s, log {proc.log_path}")
    except BaseException:
        proc.stop(grace=5)
        raise
    return proc


def restart_master(keys, master):
    """SIGTERM the session master (it must exit 0) and start it again on the same cbdir and port; the edge
    nodes reconnect by themselves. Returns (seconds down, seconds from spawn to listening)."""
    t0 = time.monotonic()
    code = master.proc.stop(grace=15)
    assert code == 0, f"mrealm master did not exit 0 on SIGTERM (got {code})\n{master.proc.log_tail()}"
    t1 = time.monotonic()
    master.proc = _start_master(keys, keys.base / "master", master.port, master.url)
    return time.monotonic() - t0, time.monotonic() - t1


@dataclass
class PyMaster:
    proc: peers.Proc
    url: str
    port: int
    watched: Path  # its CROSSBAR_WATCH_TO_PAIR dir: a copy of node1's key.pub (so it pairs "node1" too)


def python_master_config(port):
    """cbdir config.json merged into the built-in Crossbar master config (peer RECIPE pitfalls 1-3): no
    blockchain (web3 import error), no autobahn archive download, WAMP transport on loopback `port`."""
    return {"version": 2, "controller": {"blockchain": None},
            "workers": [{"transports": ["COPY", "COPY",
                                        {"endpoint": {"type": "tcp", "port": port, "interface": "127.0.0.1"},
                                         "paths": {"autobahn": None}}]}, "COPY"]}


@pytest.fixture(scope="session")
def python_master(keys):
    """The real Python Crossbar.io master (`crossbar master start`) on a free loopback port, with the same
    superuser key as the mrealm master, auto-pairing one node key (node1's) into mrealm "default".
    No edge node connects to it. Used by test_cli.py to run the same `mrealm` commands against both masters."""
    port = peers.free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    cbdir = keys.base / "pymaster"
    cbdir.mkdir(parents=True, exist_ok=True)
    (cbdir / "config.json").write_text(json.dumps(python_master_config(port), indent=2))
    watched = keys.base / "pywatched"
    (watched / "node1").mkdir(parents=True, exist_ok=True)
    (watched / "node1" / "key.pub").write_text((keys.cbdir("node1") / "key.pub").read_text())
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub, CROSSBAR_WATCH_TO_PAIR=watched,
                         CROSSBAR_FABRIC_URL=url)
    proc = peers.Proc("crossbar master", [peers.CROSSBAR, "master", "start", "--cbdir", cbdir, "--color", "false"],
                      env, keys.logs / "pymaster.log", cwd=keys.base)
    try:
        waited = proc.wait_log("booted and ready", 60)
        print(f"[peers] Crossbar.io master at {url} after {waited:.2f} s, log {proc.log_path}")
    except BaseException:
        proc.stop(grace=10)
        raise
    try:
        yield PyMaster(proc, url, port, watched)
    finally:
        proc.stop(grace=15)


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(path).is_file() and Path(path).stat().st_size > 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout} s")


class NodeStarter:
    """Starts real edge nodes (`crossbar edge start`) with CROSSBAR_FABRIC_URL = the master URL."""

    def __init__(self, keys, master):
        self.keys = keys
        self.master = master
        self.procs = []

    def start(self, node, wait_connected=True, timeout=45):
        cbdir = self.keys.cbdir(node)
        if node in WATCHED_NODES:
            # a node prefers key.activate over CROSSBAR_FABRIC_URL: let the master write it first
            wait_file(cbdir / "key.activate", 20)
        env = peers.peer_env(self.keys.home, CROSSBAR_FABRIC_URL=self.master.url)
        proc = peers.Proc(node, [peers.CROSSBAR, "edge", "start", "--cbdir", cbdir, "--color", "false"],
                          env, self.keys.logs / f"{node}.log", cwd=self.keys.base)
        self.procs.append(proc)
        if wait_connected:
            proc.connect_s = proc.wait_log(CONNECTED, timeout)
        return proc

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop(grace=15)
        self.procs.clear()


@pytest.fixture(scope="session")
def node1(keys, master):
    """Auto-paired edge node node1, connected for the whole session."""
    starter = NodeStarter(keys, master)
    try:
        proc = starter.start("node1")
        print(f"[peers] node1 connected {proc.connect_s:.2f} s after spawn")
        yield proc
    finally:
        starter.stop_all()


@pytest.fixture
def nodes(keys, master):
    """Factory for edge nodes that live for one test: `nodes.start("node2")`."""
    starter = NodeStarter(keys, master)
    try:
        yield starter
    finally:
        starter.stop_all()


@dataclass
class ShellResult:
    argv: list
    rc: int
    stdout: str
    stderr: str

    def output(self):
        """stdout without the trailing `Finished command in ...` line."""
        return "\n".join(l for l in self.stdout.splitlines() if not l.startswith("Finished command in "))

    def json(self):
        text = self.output().strip()
        try:
            return json.loads(text)
        except ValueError as e:
            raise AssertionError(f"`{' '.join(self.argv)}` printed no JSON ({e}):\n{self.describe()}")

    def describe(self):
        # the NumPy-ABI traceback every crossbar import prints on stderr is noise: show only the last lines
        err = "\n".join(self.stderr.splitlines()[-8:])
        return f"rc={self.rc}\n--- stdout ---\n{self.stdout}\n--- stderr (tail) ---\n{err}"


@pytest.fixture(scope="session")
def shell(keys, master):
    """Run the unmodified `crossbar shell` once: `shell("list", "mrealms", realm=None)` -> ShellResult."""
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub, CROSSBAR_FABRIC_URL=master.url)

    def _shell(*args, realm=None, timeout=60):
        argv = [peers.CROSSBAR, "shell"] + (["--realm", realm] if realm else []) + [str(a) for a in args]
        r = peers.run(argv, env, timeout=timeout, cwd=keys.base)
        return ShellResult(argv[1:], r.returncode, r.stdout, r.stderr)

    return _shell

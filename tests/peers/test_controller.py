"""The management realm controller with real Crossbar.io 26.10.1 edge nodes (issue 5).

node1 (session fixture) and node2 (this module, killed / frozen / restarted) are auto-paired into mrealm
"default", one router worker `router1` each. The superuser (authrole `owner`) watches
`crossbarfabriccenter.mrealm.on_node_ready` / `on_node_shutdown` and measures how fast the controller
reports each transition, and that it reports it exactly once:

* both online: `get_nodes("online", True)`, `get_node` after the first heartbeat, `crossbar shell`;
* SIGKILL of node2's controller -> `on_node_shutdown` within 1 s, node2 listed by `get_nodes("offline")`;
  restart -> `on_node_ready` within 1 s of its session join (`wamp.session.on_join`), online again;
* SIGSTOP of node2's controller -> `on_node_shutdown` within ping_interval + ping_timeout (+ slack),
  SIGCONT -> the node reconnects by itself and is ready again;
* heartbeat history (`get_node_logs`, `get_worker_logs`), the remote API, and tracing through the
  mrealm API with reader roles (a trace excluded for a role does not exist for it).

Latencies measured here are also written to <logs>/latencies.json.
"""

import asyncio
import json
import os
import signal
import time

import pytest

import peers
from conftest import CONNECTED, MASTER_PING_INTERVAL, MASTER_PING_TIMEOUT, NodeStarter

MR = "crossbarfabriccenter.mrealm."
ON_READY = MR + "on_node_ready"
ON_SHUTDOWN = MR + "on_node_shutdown"
ON_JOIN = "wamp.session.on_join"
TRACE_EVENTS = [MR + "tracing.on_trace_" + e for e in ("created", "starting", "started", "stopping", "stopped",
                                                       "deleted")]
NO_SUCH_PROCEDURE = "wamp.error.no_such_procedure"
NODE_JOIN_TIMEOUT = 45  # s, spawn of `crossbar edge start` -> uplink joined (usually a few seconds)
HEARTBEAT_WAIT = 15  # s, the first heartbeat comes 5 s after join, then every 10 s

LATENCIES = {}


def superuser(master, keys, authrole=None):
    from suclient import Superuser  # lazily: without .venv-peers the suite is skipped, not broken

    return Superuser(master.url, keys.su_priv, "default", authrole=authrole)


def record(keys, name, seconds):
    LATENCIES[name] = round(seconds * 1000, 1)
    print(f"[peers] {name}: {seconds * 1000:.1f} ms")
    (keys.logs / "latencies.json").write_text(json.dumps(LATENCIES, indent=2))


async def call_error(su, procedure, *args, **kwargs):
    """The error URI of a call that must fail."""
    from autobahn.wamp.exception import ApplicationError

    try:
        result = await su.call(procedure, *args, **kwargs)
    except ApplicationError as e:
        return e.error
    raise AssertionError(f"{procedure}{args} returned {result!r} instead of failing")


async def call_or_skip(su, procedure, *args, **kwargs):
    """Call; skip the test if the master does not register `procedure` (yet)."""
    from autobahn.wamp.exception import ApplicationError

    try:
        return await su.call(procedure, *args, **kwargs)
    except ApplicationError as e:
        if e.error == NO_SUCH_PROCEDURE:
            pytest.skip(f"{procedure} is not registered by this mrealm build ({e.error})")
        raise


async def poll(fn, ok, timeout, interval=0.2, what="condition"):
    """Await fn() until ok(value); the last value, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fn()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        await asyncio.sleep(interval)


def node_event(topic, oid):
    return lambda ev: ev.topic == topic and ev.args and ev.args[0] == oid


def join_of(authid):
    return lambda ev: ev.topic == ON_JOIN and ev.args and isinstance(ev.args[0], dict) \
        and ev.args[0].get("authid") == authid


def count(su, match, since=0):
    return sum(1 for ev in su.events[since:] if match(ev))


class Node2:
    """node2 for this module: `proc` is its current `crossbar edge start` process (replaced on restart)."""

    def __init__(self, keys, master):
        self.starter = NodeStarter(keys, master)
        self.proc = None

    def spawn(self):
        """Start node2 without waiting (the caller awaits its join asynchronously)."""
        self.proc = self.starter.start("node2", wait_connected=False)
        return self.proc

    async def ensure_online(self, su, timeout=NODE_JOIN_TIMEOUT):
        if self.proc is None or not self.proc.running():
            self.spawn()
        return await poll(lambda: su.call(MR + "get_node_by_authid", "node2"), lambda n: n["status"] == "online",
                          timeout, what="node2 online")

    def resume_all(self):
        """SIGCONT every node2 process group (a frozen controller would ignore SIGTERM until SIGKILL)."""
        for p in self.starter.procs:
            if p.running():
                try:
                    os.killpg(p.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass


@pytest.fixture(scope="module")
def node2(keys, master):
    n = Node2(keys, master)
    try:
        proc = n.spawn()
        proc.wait_log(CONNECTED, NODE_JOIN_TIMEOUT)
        yield n
    finally:
        n.resume_all()
        n.starter.stop_all()


async def oid_of(su, authid):
    return (await su.call(MR + "get_node_by_authid", authid))["oid"]


async def wait_heartbeat(su, authid, timeout=HEARTBEAT_WAIT):
    return await poll(lambda: su.call(MR + "get_node_by_authid", authid),
                      lambda n: n["status"] == "online" and isinstance(n.get("heartbeat"), int) and n["heartbeat"] >= 1,
                      timeout, what=f"a heartbeat of {authid}")


async def wait_worker_api(su, authid, worker="router1", timeout=20):
    """A node is "connected" before its workers are up: wait until the worker's procedures (forwarded to the
    uplink as the worker registers them) reach the master."""
    uri = f"crossbarfabriccenter.node.{authid}.worker.{worker}.stop_trace"
    await poll(lambda: su.call("wamp.registration.lookup", uri), lambda r: r is not None, timeout,
               what=f"{uri} registered")


def shell_json(shell, *args):
    r = shell(*args, realm="default")
    assert r.rc == 0, f"`crossbar {' '.join(r.argv)}` failed\n{r.describe()}"
    return r.json()


async def test_both_nodes_online(keys, master, node1, node2, shell):
    async with superuser(master, keys) as su:
        await node2.ensure_online(su)
        assert await su.call(MR + "get_nodes", "online", True) == ["node1", "node2"]
        offline = await su.call(MR + "get_nodes", "offline", True)
        assert "node1" not in offline and "node2" not in offline, offline
        oids = await su.call(MR + "get_nodes", "online")
        assert len(oids) == 2, oids

        for authid in ("node1", "node2"):
            obj = await wait_heartbeat(su, authid)
            assert obj["authid"] == authid, obj
            assert obj["oid"] in oids, (obj, oids)
            # the heartbeat's own ns timestamp (taken by the node), within a minute of now
            assert isinstance(obj["timestamp"], int), obj
            assert abs(obj["timestamp"] - time.time_ns()) < 60 * 10**9, obj
            by_oid = await su.call(MR + "get_node", obj["oid"])
            assert by_oid["oid"] == obj["oid"] and by_oid["authid"] == authid, by_oid
            assert by_oid["status"] == "online" and by_oid["heartbeat"] >= 1, by_oid

    loop = asyncio.get_running_loop()
    names = await loop.run_in_executor(None, shell_json, shell, "list", "nodes", "--online", "--names")
    assert names == ["node1", "node2"], names
    shown = await loop.run_in_executor(None, shell_json, shell, "show", "node", "node1")
    assert shown["authid"] == "node1", shown
    assert shown["status"] == "online", shown
    assert isinstance(shown["heartbeat"], int) and shown["heartbeat"] >= 1, shown
    assert isinstance(shown["timestamp"], int), shown


async def test_kill_and_restart_node(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        for topic in (ON_READY, ON_SHUTDOWN, ON_JOIN):
            await su.subscribe(topic)
        await node2.ensure_online(su)
        oid2 = await oid_of(su, "node2")
        ready, shutdown = node_event(ON_READY, oid2), node_event(ON_SHUTDOWN, oid2)
        mark = len(su.events)
        proc = node2.proc

        # kill -9 the node controller (its uplink dies with it)
        t_kill = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        ev = await su.wait_event(shutdown, 10, since=mark)
        assert ev is not None, f"no on_node_shutdown for node2 within 10 s of SIGKILL; events: {su.events[mark:]}"
        latency = ev.at - t_kill
        record(keys, "kill -9 -> on_node_shutdown", latency)
        assert latency < 1.0, f"on_node_shutdown {latency:.3f} s after SIGKILL"
        info = ev.args[1]
        assert info["status"] == "offline", info
        assert info["authid"] == "node2", info
        assert info["id"] == oid2, info

        assert "node2" in await su.call(MR + "get_nodes", "offline", True)
        assert await su.call(MR + "get_nodes", "online", True) == ["node1"]
        node = await su.call(MR + "get_node", oid2)
        assert node["status"] == "offline", node

        # reap what the kill left (the router worker) so the restart gets the port back
        await asyncio.get_running_loop().run_in_executor(None, proc.stop, 5)

        # restart: on_node_ready right after the session join
        t_spawn = time.monotonic()
        mark2 = len(su.events)
        new = node2.spawn()
        join = await su.wait_event(join_of("node2"), NODE_JOIN_TIMEOUT, since=mark2)
        assert join is not None, f"node2 did not rejoin within {NODE_JOIN_TIMEOUT} s\n{new.log_tail()}"
        ev = await su.wait_event(ready, 5, since=mark2)
        assert ev is not None, f"no on_node_ready for node2 within 5 s of its join; events: {su.events[mark2:]}"
        latency = ev.at - join.at
        record(keys, "session join -> on_node_ready", latency)
        print(f"[peers] node2 re-joined {join.at - t_spawn:.2f} s after spawn")
        assert latency < 1.0, f"on_node_ready {latency:.3f} s after the session join"
        info = ev.args[1]
        assert info["status"] == "online" and info["authid"] == "node2" and info["id"] == oid2, info
        assert await su.call(MR + "get_nodes", "online", True) == ["node1", "node2"]
        await poll(lambda: asyncio.sleep(0, result=CONNECTED in new.log()), bool, 10, 0.05,
                   what="the restarted node logging its uplink")

        # the first heartbeat after the re-join (5 s after it) must not announce the node again
        await wait_heartbeat(su, "node2")
        await asyncio.sleep(max(0.0, join.at + 7.0 - time.monotonic()))
        assert count(su, shutdown, mark) == 1, su.events[mark:]
        assert count(su, ready, mark) == 1, su.events[mark:]
        # node1 was not touched
        oid1 = await oid_of(su, "node1")
        assert count(su, node_event(ON_SHUTDOWN, oid1), mark) == 0
        assert count(su, node_event(ON_READY, oid1), mark) == 0


async def test_frozen_node_goes_offline(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        for topic in (ON_READY, ON_SHUTDOWN, ON_JOIN):
            await su.subscribe(topic)
        await node2.ensure_online(su)
        oid2 = await oid_of(su, "node2")
        ready, shutdown = node_event(ON_READY, oid2), node_event(ON_SHUTDOWN, oid2)
        proc = node2.proc
        mark = len(su.events)
        bound = MASTER_PING_INTERVAL + MASTER_PING_TIMEOUT + 2.0

        t_stop = time.monotonic()
        os.kill(proc.pid, signal.SIGSTOP)  # the controller process holds the uplink: it stops answering pings
        try:
            ev = await su.wait_event(shutdown, bound + 10, since=mark)
            assert ev is not None, f"frozen node2 not reported offline within {bound + 10} s; {su.events[mark:]}"
            latency = ev.at - t_stop
            record(keys, "SIGSTOP -> on_node_shutdown", latency)
            assert latency <= bound, f"on_node_shutdown {latency:.2f} s after SIGSTOP (ping bound {bound} s)"
            assert ev.args[1]["status"] == "offline" and ev.args[1]["authid"] == "node2", ev.args
            assert "node2" in await su.call(MR + "get_nodes", "offline", True)
            assert (await su.call(MR + "get_node", oid2))["status"] == "offline"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        t_cont = time.monotonic()
        mark2 = len(su.events)

        # thawed, the node finds its uplink closed and reconnects by itself
        ev = await su.wait_event(ready, 40, since=mark2)
        assert ev is not None, f"node2 not ready again within 40 s of SIGCONT\n{proc.log_tail()}"
        record(keys, "SIGCONT -> on_node_ready (node reconnects)", ev.at - t_cont)
        join = await su.wait_event(join_of("node2"), 0, since=mark2)
        assert join is not None and join.at <= ev.at, su.events[mark2:]
        record(keys, "session join -> on_node_ready (after SIGCONT)", ev.at - join.at)
        assert ev.at - join.at < 1.0
        assert proc.running(), "the thawed node exited instead of reconnecting"
        await asyncio.sleep(1.0)
        assert count(su, shutdown, mark) == 1, su.events[mark:]
        assert count(su, ready, mark) == 1, su.events[mark:]
        assert await su.call(MR + "get_nodes", "online", True) == ["node1", "node2"]


async def test_heartbeat_logs(keys, master, node1):
    async with superuser(master, keys) as su:
        oid1 = await oid_of(su, "node1")
        await call_or_skip(su, MR + "get_node_logs", oid1)
        await wait_heartbeat(su, "node1")
        # written asynchronously (group commit): allow one heartbeat period
        logs = await poll(lambda: su.call(MR + "get_node_logs", oid1), lambda v: isinstance(v, list) and v,
                          12, 0.25, what="a stored node heartbeat")
        assert all(isinstance(r, dict) and isinstance(r.get("seq"), int) for r in logs), logs[:2]
        stamps = [r["timestamp"] for r in logs]
        assert stamps == sorted(stamps, reverse=True), stamps  # newest first
        # the time window is applied (from_ts an hour ahead: nothing)
        assert await su.call(MR + "get_node_logs", oid1, time.time_ns() + 3600 * 10**9) == []
        wlogs = await poll(lambda: su.call(MR + "get_worker_logs", oid1, "router1"),
                           lambda v: isinstance(v, list) and v, 12, 0.25, what="a stored router1 heartbeat")
        assert all(isinstance(r, dict) for r in wlogs), wlogs[:2]
        # a worker that does not exist has no history
        assert await su.call(MR + "get_worker_logs", oid1, "nosuchworker") == []
        print(f"[peers] node1: {len(logs)} node and {len(wlogs)} router1 heartbeat records; "
              f"newest node record keys {sorted(logs[0])}")


async def test_remote_node_api(keys, master, node1):
    async with superuser(master, keys) as su:
        oid1 = await oid_of(su, "node1")
        await wait_worker_api(su, "node1")
        workers = await su.call("crossbarfabriccenter.remote.node.get_workers", oid1)
        assert isinstance(workers, list) and "router1" in workers, workers
        worker = await su.call("crossbarfabriccenter.remote.node.get_worker", oid1, "router1")
        assert worker["id"] == "router1", worker
        assert worker["type"] == "router", worker
        assert worker["status"] == "started", worker
        # the node answers itself: an unknown worker is its error, not the master's
        assert await call_error(su, "crossbarfabriccenter.remote.node.get_worker", oid1, "nosuchworker") \
            != NO_SUCH_PROCEDURE


async def test_tracing_through_mrealm_api(keys, master, node1):
    # three sessions of the superuser: owner (creates the trace), developer (a reader: not excluded) and
    # guest (in exclude_reader_roles: for it the trace does not exist, and it gets none of its events)
    async with superuser(master, keys) as owner, \
            superuser(master, keys, authrole="developer") as dev, \
            superuser(master, keys, authrole="guest") as guest:
        assert owner.details.authrole == "owner"
        assert dev.details.authrole == "developer"
        assert guest.details.authrole == "guest"
        for s in (owner, dev, guest):
            for topic in TRACE_EVENTS:
                await s.subscribe(topic)
        oid1 = await oid_of(owner, "node1")
        await wait_worker_api(owner, "node1")

        # a trace left by an earlier run in the same MREALM_PEERS_LOGDIR
        old = await call_or_skip(owner, MR + "get_trace", "t1")
        if old is not None:
            if old["status"] not in ("stopped", "stopping_failed"):
                await owner.call(MR + "stop_trace", "t1", timeout=30)
            await owner.call(MR + "delete_trace", "t1")

        created = await call_or_skip(owner, MR + "create_trace", "t1", [[oid1, "router1"]], {"batching_period": 200},
                                     None, ["guest"])
        try:
            assert created["trace_id"] == "t1" and created["status"] == "stopped", created
            assert created["exclude_reader_roles"] == ["guest"], created
            ev = await owner.wait_event(lambda e: e.topic == TRACE_EVENTS[0], 5)
            assert ev is not None and ev.args[0] == "t1", owner.events
            assert ev.args[1]["status"] == "stopped", ev.args

            started = await owner.call(MR + "start_trace", "t1", timeout=30)
            assert started["failed"] == [], started
            assert len(started["started"]) == 1, started
            assert started["started"][0]["id"] == "t1" and started["started"][0]["worker_id"] == "router1", started
            running = await owner.call(MR + "get_trace", "t1")
            assert running["status"] == "running", running
            assert running["traced_workers"] == [[oid1, "router1"]], running
            assert "t1" in await owner.call(MR + "get_traces")
            data = await owner.call(MR + "get_trace_data", "t1", timeout=30)
            assert data[oid1]["router1"]["success"] is True, data

            # a reader role that is not excluded sees it
            assert (await dev.call(MR + "get_trace", "t1"))["status"] == "running"
            assert "t1" in await dev.call(MR + "get_traces")
            # for the excluded guest the trace does not exist
            assert await guest.call(MR + "get_trace", "t1") is None
            assert "t1" not in await guest.call(MR + "get_traces")
            assert await call_error(guest, MR + "get_trace_data", "t1") == "crossbar.error.no_such_object"
            # ... and it cannot stop it (guest may not call stop_trace at all; were it allowed, no such object)
            assert await call_error(guest, MR + "stop_trace", "t1") in ("wamp.error.not_authorized",
                                                                         "crossbar.error.no_such_object")
            assert (await owner.call(MR + "get_trace", "t1"))["status"] == "running"

            stopped = await owner.call(MR + "stop_trace", "t1", timeout=30)
            assert stopped["failed"] == [] and len(stopped["stopped"]) == 1, stopped
            assert (await owner.call(MR + "get_trace", "t1"))["status"] == "stopped"
            assert await owner.call(MR + "delete_trace", "t1") == {}
        except BaseException:
            for proc in ("stop_trace", "delete_trace"):
                try:
                    await owner.call(MR + proc, "t1", timeout=30)
                except Exception:
                    pass
            raise

        for s in (owner, dev):
            ev = await s.wait_event(lambda e: e.topic == TRACE_EVENTS[-1], 5)
            assert ev is not None and ev.args[0] == "t1", (s.details.authrole, s.events)
        assert await owner.call(MR + "get_trace", "t1") is None
        assert "t1" not in await owner.call(MR + "get_traces")
        # owner and developer saw every transition once, in order; the excluded guest saw none
        await asyncio.sleep(0.5)
        for s in (owner, dev):
            assert [e.topic for e in s.events] == TRACE_EVENTS, (s.details.authrole, [e.topic for e in s.events])
            assert all(e.args[0] == "t1" for e in s.events), s.events
        started_ev = owner.events[2].args[1]
        assert started_ev["status"] == "running" and len(started_ev["started"]) == 1, started_ev
        assert guest.events == [], guest.events

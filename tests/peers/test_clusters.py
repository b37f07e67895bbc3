"""Router clusters and web clusters deployed by `mrealm master start` onto real Crossbar.io 26.10.1 edge nodes
(issue 13).

node1 (session fixture) and node2 (this module) are auto-paired into mrealm "default", each with its own
loopback address as cluster IP (127.0.0.11 / 127.0.0.12, conftest.CLUSTER_IPS). Two nodes on one host share
a web cluster's port through `tcp_shared` (SO_REUSEPORT on 0.0.0.0), so requests to either address land on
either node; the `nodeinfo` page names the serving node's public key, which is how a test proves that BOTH
nodes serve.

In file order (each test builds what it needs if an earlier one did not):
1. web cluster e2e: json + nodeinfo services served on both nodes, proxy workers `cpw-<oid8>-0`, RUNNING; a
   service added to the running cluster is served, removed -> 404;
2. router cluster: worker group of scale 2 placed one per node, router workers `<wg>_<i>` on their nodes;
3. convergence: kill -9 + restart of node2 -> its proxy and router workers come back, served again;
4. master restart: the web cluster keeps serving, exactly one `cpw-…-0` per node (same pids), re-applied;
5. stop tears down: STOPPED within 5 s, workers gone, port refuses, the node's own `router1` untouched;
6. bad input via WAMP -> the spec's error URIs, nothing changed;
7. `crossbar shell` (unmodified) cluster commands; 8. the `mrealm` CLI cluster commands.

Timings are printed (`[clusters] …`, visible with -s) and written to <logs>/clusters.json.
"""

import asyncio
import json
import time
import uuid

import pytest

import peers
from clusterlib import (NODES, call_error, http_get, poll, pubkeys, refuses, served_json, serving_nodes,
                        status_on_both)
from conftest import CLUSTER_IPS, CONNECTED, NodeStarter, restart_master

MR = "crossbarfabriccenter.mrealm."
RC = MR + "routercluster."
WC = MR + "webcluster."
REMOTE = "crossbarfabriccenter.remote.node."
NODE_JOIN_TIMEOUT = 45
SERVE_TIMEOUT = 30  # s: start -> served on both nodes (goal: 3 s; Python master: 3.6-8.4 s)
STOP_GOAL = 5.0  # s: stop -> STOPPED (issue 13's goal; printed)
STOP_LIMIT = 8.0  # s: asserted (slack for a loaded 2-core box: 3.7-5.1 s measured for both clusters at once)

STATE = {}  # what the tests of this module built: {"web": {...}, "router": {...}}
CREATED = set()  # (kind, name) of every cluster created here: removed at module end
TIMINGS = {}


def superuser(master, keys):
    from suclient import Superuser  # lazily: without .venv-peers the suite is skipped, not broken

    return Superuser(master.url, keys.su_priv, "default")


def record(keys, name, seconds):
    TIMINGS[name] = round(seconds, 3)
    print(f"[clusters] {name}: {seconds:.2f} s")
    (keys.logs / "clusters.json").write_text(json.dumps(TIMINGS, indent=2))



# --- nodes ---

class Node2:
    """node2 for this module (`proc` is replaced on restart)."""

    def __init__(self, keys, master):
        self.starter = NodeStarter(keys, master)
        self.proc = None

    def spawn(self):
        self.proc = self.starter.start("node2", wait_connected=False)
        return self.proc


@pytest.fixture(scope="module")
def node2(keys, master):
    n = Node2(keys, master)
    try:
        n.spawn().wait_log(CONNECTED, NODE_JOIN_TIMEOUT)
        yield n
    finally:
        n.starter.stop_all()


async def online_oids(su, timeout=NODE_JOIN_TIMEOUT):
    """{authid: oid} once node1 and node2 are both online."""
    out = {}
    for n in NODES:
        node = await poll(lambda: su.call(MR + "get_node_by_authid", n), lambda v: v["status"] == "online",
                          timeout, 0.2, what=f"{n} online")
        out[n] = node["oid"]
    return out


async def workers(su, oid):
    """The node's worker ids; [] while its management API is not registered yet (just after its join)."""
    from autobahn.wamp.exception import ApplicationError

    try:
        return await su.call(REMOTE + "get_workers", oid)
    except ApplicationError as e:
        if e.error == "wamp.error.no_such_procedure":
            return []
        raise


async def cluster_status(su, kind, oid):
    return (await su.call(f"{MR}{kind}cluster.get_{kind}cluster", oid))["status"]


# --- clean-up: every cluster created here is stopped and deleted at module end ---

async def remove_cluster(su, kind, name):
    from autobahn.wamp.exception import ApplicationError

    pre = f"{MR}{kind}cluster."
    try:
        obj = await su.call(f"{pre}get_{kind}cluster_by_name", name)
    except ApplicationError as e:
        if e.error == "crossbar.error.no_such_object":
            return
        raise
    if obj["status"] in ("STARTING", "RUNNING"):
        await su.call(f"{pre}stop_{kind}cluster", obj["oid"])
    if obj["status"] != "STOPPED":
        await poll(lambda: cluster_status(su, kind, obj["oid"]), lambda s: s == "STOPPED", 15, 0.2,
                   what=f"{kind} cluster {name} STOPPED")
    await su.call(f"{pre}delete_{kind}cluster", obj["oid"])


@pytest.fixture(scope="module", autouse=True)
def cleanup(keys, master, node1, node2):
    yield

    async def remove_all():
        failed = []
        async with superuser(master, keys) as su:
            for kind, name in sorted(CREATED):
                try:
                    await remove_cluster(su, kind, name)
                except Exception as e:  # report every leftover, not just the first
                    failed.append(f"{kind} cluster {name}: {e!r}")
        return failed

    failed = asyncio.run(remove_all())
    assert not failed, f"clusters left behind: {failed}"


# --- building blocks ---

async def create(su, kind, obj):
    CREATED.add((kind, obj["name"]))
    return await su.call(f"{MR}{kind}cluster.create_{kind}cluster", obj)


async def build_web(su, keys, oids, name="wc_e2e"):
    """A started web cluster on both nodes (json at /info, nodeinfo at /node), measured until served."""
    port = peers.free_port()
    wc = await create(su, "web", {"name": name, "tcp_port": port, "tcp_shared": True})
    assert wc["status"] == "STOPPED" and wc["tcp_port"] == port, wc
    for n in NODES:
        m = await su.call(WC + "add_webcluster_node", wc["oid"], oids[n], {"parallel": 1})
        assert m["node_oid"] == oids[n] and m["parallel"] == 1, m
    svc = await su.call(WC + "add_webcluster_service", wc["oid"], "info",
                        {"type": "json", "value": {"hello": "world"}})
    assert svc["path"] == "info" and svc["type"] == "json" and svc["value"] == {"hello": "world"}, svc
    await su.call(WC + "add_webcluster_service", wc["oid"], "node", {"type": "nodeinfo"})
    t0 = time.monotonic()
    started = await su.call(WC + "start_webcluster", wc["oid"])
    assert started["status"] == "STARTING" and started["oid"] == wc["oid"], started
    assert started["who"]["authid"] == "superuser", started
    await poll(lambda: served_json(port, "info", {"hello": "world"}), bool, SERVE_TIMEOUT, 0.05,
               what=f"GET /info served on {list(CLUSTER_IPS.values())}")
    served = time.monotonic() - t0
    both = await serving_nodes(port, pubkeys(keys), set(NODES), 15)
    info = {"oid": wc["oid"], "name": name, "port": port, "worker": f"cpw-{wc['oid'][:8]}-0"}
    STATE["web"] = info
    return info, served, time.monotonic() - t0, both


async def ensure_web(su, keys, oids):
    if "web" not in STATE:
        await build_web(su, keys, oids)
    return STATE["web"]


async def build_router(su, oids, name="rc_e2e", wg="wg_e2e"):
    rc = await create(su, "router", {"name": name})
    assert rc["status"] == "STOPPED", rc
    for n in NODES:
        m = await su.call(RC + "add_routercluster_node", rc["oid"], oids[n], None)
        assert m == {"cluster_oid": rc["oid"], "node_oid": oids[n], "softlimit": None, "hardlimit": None}, m
    group = await su.call(RC + "add_routercluster_workergroup", rc["oid"], {"name": wg, "scale": 2})
    assert group["name"] == wg and group["scale"] == 2 and group["cluster_oid"] == rc["oid"], group
    got = await su.call(RC + "get_routercluster_workergroup", rc["oid"], group["oid"])
    placed = {p["worker_name"]: p["node_oid"] for p in got["placements"]}
    info = {"oid": rc["oid"], "name": name, "wg": group["oid"], "placed": placed}
    STATE["router"] = info
    return info


async def start_router(su, info):
    t0 = time.monotonic()
    r = await su.call(RC + "start_routercluster", info["oid"])
    assert r["status"] == "STARTING", r
    for w, node in info["placed"].items():
        await poll(lambda: workers(su, node), lambda ws: w in ws, SERVE_TIMEOUT, 0.1,
                   what=f"router worker {w} on its node")
    return time.monotonic() - t0


async def ensure_router(su, oids):
    if "router" not in STATE:
        await start_router(su, await build_router(su, oids))
    return STATE["router"]


# --- tests ---

async def test_nodes_have_cluster_ips(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        for n, ip in CLUSTER_IPS.items():
            node = await su.call(MR + "get_node", oids[n])
            assert node["cluster_ip"] == ip, node


async def test_webcluster_serves_on_both_nodes(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        info, served, both_s, both = await build_web(su, keys, oids)
        record(keys, "web cluster start -> /info served on both addresses", served)
        assert both == set(NODES), f"nodeinfo answered only by {both} within 15 s"
        record(keys, "web cluster start -> both nodes seen serving (nodeinfo)", both_s)
        port, worker = info["port"], info["worker"]
        for n in NODES:
            ws = await workers(su, oids[n])
            assert worker in ws and "router1" in ws, (n, ws)
            w = await su.call(REMOTE + "get_worker", oids[n], worker)
            assert w["type"] == "proxy", w
        await poll(lambda: cluster_status(su, "web", info["oid"]), lambda s: s == "RUNNING", 10, 0.1,
                   what="web cluster RUNNING")
        stat = await su.call(WC + "stat_webcluster", info["oid"])
        assert stat["status"] == "RUNNING", stat
        by_node = {x["node_oid"]: [w["worker_id"] for w in x["workers"]] for x in stat["nodes"]}
        assert all(worker in by_node.get(oids[n], []) for n in NODES), stat

        # a service added to the RUNNING cluster is deployed without stop/start, and removed again
        t0 = time.monotonic()
        extra = await su.call(WC + "add_webcluster_service", info["oid"], "extra",
                              {"type": "json", "value": {"added": True}})
        await poll(lambda: served_json(port, "extra", {"added": True}), bool, 20, 0.05,
                   what="GET /extra served on both addresses")
        record(keys, "service added to a running cluster -> served", time.monotonic() - t0)
        t0 = time.monotonic()
        await su.call(WC + "remove_webcluster_service", info["oid"], extra["oid"])
        await poll(lambda: status_on_both(port, "extra"), lambda s: s == [404, 404], 20, 0.05,
                   what="GET /extra 404 on both addresses")
        record(keys, "service removed -> 404", time.monotonic() - t0)
        assert await served_json(port, "info", {"hello": "world"})


async def test_routercluster_places_one_worker_per_node(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        info = await build_router(su, oids)
        assert sorted(info["placed"]) == ["wg_e2e_1", "wg_e2e_2"], info
        assert sorted(info["placed"].values()) == sorted(oids.values()), f"not one per node: {info}"
        took = await start_router(su, info)
        record(keys, "router cluster start -> router workers on both nodes", took)
        for w, node in info["placed"].items():
            assert (await su.call(REMOTE + "get_worker", node, w))["type"] == "router"
        await poll(lambda: cluster_status(su, "router", info["oid"]), lambda s: s == "RUNNING", 10, 0.1,
                   what="router cluster RUNNING")
        stat = await su.call(RC + "stat_routercluster", info["oid"])
        (g,) = stat["workergroups"]
        assert sorted(w["worker_id"] for w in g["workers"]) == ["wg_e2e_1", "wg_e2e_2"], stat
        assert all(w["status"] == "running" for w in g["workers"]), stat


async def test_node_restart_converges(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        web, router = await ensure_web(su, keys, oids), await ensure_router(su, oids)
        n2 = oids["node2"]
        router_w = [w for w, n in router["placed"].items() if n == n2]
        assert router_w, router
        # kill -9 the controller, reap what it left (workers hold the shared port), start it again
        node2.proc.kill9()
        await asyncio.to_thread(node2.proc.stop, 5)
        await poll(lambda: su.call(MR + "get_node", n2), lambda v: v["status"] == "offline", 10, 0.1,
                   what="node2 offline")
        t_spawn = time.monotonic()
        proc = node2.spawn()
        await online_oids(su)
        t_join = time.monotonic()
        record(keys, "node2 respawn -> online", t_join - t_spawn)
        await asyncio.to_thread(proc.wait_log, CONNECTED, 20)
        record(keys, "node2 online -> its uplink logs connected", time.monotonic() - t_join)
        want = set(router_w) | {web["worker"]}
        await poll(lambda: workers(su, n2), lambda ws: want <= set(ws), 30, 0.1,
                   what=f"{want} back on node2")
        record(keys, "node2 online -> proxy + router workers back", time.monotonic() - t_join)
        seen = await serving_nodes(web["port"], pubkeys(keys), {"node2"}, 30)
        assert "node2" in seen, "node2 does not serve its nodeinfo page again"
        record(keys, "node2 online -> serving again", time.monotonic() - t_join)
        assert await served_json(web["port"], "info", {"hello": "world"})


async def test_master_restart_reapplies_without_duplicates(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        web, router = await ensure_web(su, keys, oids), await ensure_router(su, oids)
        before = {n: (await su.call(REMOTE + "get_worker", oids[n], web["worker"]))["pid"] for n in NODES}
        rpids = {w: (await su.call(REMOTE + "get_worker", n, w))["pid"] for w, n in router["placed"].items()}
    down, boot = await asyncio.to_thread(restart_master, keys, master)
    record(keys, "master SIGTERM -> listening again", down)
    assert await served_json(web["port"], "info", {"hello": "world"}), "nodes stopped serving without a master"
    async with superuser(master, keys) as su:
        t0 = time.monotonic()
        await online_oids(su, 60)
        record(keys, "master listening -> both nodes online", time.monotonic() - t0)
        await asyncio.sleep(3)  # let the re-apply triggered by the nodes coming online run
        prefix = web["worker"][:-1]
        for n in NODES:
            ws = await workers(su, oids[n])
            assert [w for w in ws if w.startswith(prefix)] == [web["worker"]], (n, ws)
            w = await su.call(REMOTE + "get_worker", oids[n], web["worker"])
            assert w["pid"] == before[n], f"{web['worker']} on {n} was re-created: {w}"
        for w, n in router["placed"].items():
            assert (await su.call(REMOTE + "get_worker", n, w))["pid"] == rpids[w], f"{w} re-created"
        assert await cluster_status(su, "web", web["oid"]) == "RUNNING"
        assert await cluster_status(su, "router", router["oid"]) == "RUNNING"
        # the restarted master reconciles: a worker stopped behind its back comes back
        t0 = time.monotonic()
        await su.call(REMOTE + "stop_worker", oids["node2"], web["worker"])
        await poll(lambda: workers(su, oids["node2"]), lambda ws: web["worker"] in ws, 30, 0.2,
                   what=f"{web['worker']} restarted on node2 by the reconciler")
        await poll(lambda: served_json(web["port"], "info", {"hello": "world"}), bool, 20, 0.1, what="served")
        record(keys, "worker stopped behind the master's back -> back", time.monotonic() - t0)


async def test_stop_tears_down(keys, master, node1, node2):
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        web, router = await ensure_web(su, keys, oids), await ensure_router(su, oids)
        assert await call_error(su, WC + "delete_webcluster", web["oid"]) == "crossbar.error.not_stopped"
        assert await call_error(su, WC + "start_webcluster", web["oid"]) == "crossbar.error.cannot_start"
        await su.subscribe(WC + "on_webcluster_stopped")
        t0 = time.monotonic()
        assert (await su.call(WC + "stop_webcluster", web["oid"]))["status"] == "STOPPING"
        assert (await su.call(RC + "stop_routercluster", router["oid"]))["status"] == "STOPPING"
        for kind, oid in (("web", web["oid"]), ("router", router["oid"])):
            await poll(lambda: cluster_status(su, kind, oid), lambda s: s == "STOPPED", 30, 0.05,
                       what=f"{kind} cluster STOPPED")
        took = time.monotonic() - t0
        record(keys, "stop -> both clusters STOPPED", took)
        if took > STOP_GOAL:
            print(f"[clusters] stop missed the {STOP_GOAL} s goal: {took:.2f} s")
        assert took <= STOP_LIMIT, f"stop took {took:.2f} s (goal {STOP_GOAL} s, limit {STOP_LIMIT} s)"
        ev = await su.wait_event(lambda e: e.args and e.args[0].get("oid") == web["oid"], 5)
        assert ev is not None and ev.args[0]["status"] == "STOPPED", su.events
        gone = set(router["placed"]) | {web["worker"]}
        for n in NODES:
            ws = await workers(su, oids[n])
            assert not gone & set(ws), f"{n} still runs {gone & set(ws)}"
            assert "router1" in ws, f"the node's own worker was touched: {ws}"
        for ip in CLUSTER_IPS.values():
            await poll(lambda: refuses(ip, web["port"]), bool, 5, 0.1, what=f"{ip}:{web['port']} refusing")
        await su.call(WC + "delete_webcluster", web["oid"])
        await su.call(RC + "delete_routercluster", router["oid"])
        for kind, name in (("web", web["name"]), ("router", router["name"])):
            err = await call_error(su, f"{MR}{kind}cluster.get_{kind}cluster_by_name", name)
            assert err == "crossbar.error.no_such_object", err
        STATE.pop("web"), STATE.pop("router")


async def test_bad_input_changes_nothing(keys, master, node1, node2):
    IA, NSO, AE = "wamp.error.invalid_argument", "crossbar.error.no_such_object", "crossbar.error.already_exists"
    IC, TCE = "wamp.error.invalid_configuration", "wamp.error.type_check_error"
    unknown = str(uuid.uuid4())
    async with superuser(master, keys) as su:
        oids = await online_oids(su)
        rc = await create(su, "router", {"name": "rc_bad"})
        wc = await create(su, "web", {"name": "wc_bad", "tcp_port": peers.free_port(), "tcp_shared": True})
        rcs, wcs = (await su.call(RC + "list_routerclusters", True), await su.call(WC + "list_webclusters", True))
        cases = [
            (RC + "get_routercluster", ("not-a-uuid",), IA),
            (RC + "get_routercluster", (unknown,), NSO),
            (RC + "get_routercluster", (42,), TCE),
            (RC + "create_routercluster", ("rc_x",), TCE),
            (RC + "create_routercluster", ({"name": "rc_bad"},), AE),
            (RC + "create_routercluster", ({"name": "Bad Name!"},), IC),
            (RC + "create_routercluster", ({},), IC),
            (RC + "add_routercluster_node", (rc["oid"], unknown, None), NSO),
            (RC + "add_routercluster_node", (rc["oid"], "not-a-uuid", None), IA),
            (RC + "add_routercluster_node", (unknown, oids["node1"], None), NSO),
            (RC + "add_routercluster_workergroup", (rc["oid"], {"name": "wg_x"}), IA),  # no nodes yet
            (RC + "stop_routercluster", (rc["oid"],), "crossbar.error.cannot_stop"),
            (WC + "create_webcluster", ({"name": "wc_bad"},), AE),
            (WC + "create_webcluster", ({"name": "wc_x", "tcp_port": "x"},), IC),
            (WC + "get_webcluster", (unknown,), NSO),
            (WC + "add_webcluster_service", (wc["oid"], "s", {"type": "bogus"}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "s", {"value": 1}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "s", {"type": "json"}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "s", {"type": "json", "value": 1, "bogus": 1}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "s", {"type": "static"}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "a/b", {"type": "nodeinfo"}), IA),
            (WC + "add_webcluster_service", (wc["oid"], "/", {"type": "nodeinfo"}), IA),
            (WC + "add_webcluster_service", (unknown, "s", {"type": "nodeinfo"}), NSO),
            (WC + "add_webcluster_node", (wc["oid"], unknown, None), NSO),
            (WC + "stop_webcluster", (wc["oid"],), "crossbar.error.cannot_stop"),
        ]
        got = [(p.rsplit(".", 1)[1], a, await call_error(su, p, *a)) for p, a, _ in cases]
        wrong = [(g, want) for g, (_, _, want) in zip(got, cases) if g[2] != want]
        assert not wrong, "\n".join(f"{name}{args}: got {err}, want {want}" for (name, args, err), want in wrong)
        # scale out of range once the cluster has a node
        await su.call(RC + "add_routercluster_node", rc["oid"], oids["node1"], None)
        for scale in (0, 129, "2"):
            err = await call_error(su, RC + "add_routercluster_workergroup", rc["oid"], {"name": "wg_y", "scale": scale})
            assert err in (IA, TCE), (scale, err)
        await su.call(WC + "add_webcluster_service", wc["oid"], "dup", {"type": "nodeinfo"})
        assert await call_error(su, WC + "add_webcluster_service", wc["oid"], "dup", {"type": "nodeinfo"}) == AE
        # nothing changed by the refused calls
        assert await su.call(RC + "list_routerclusters", True) == rcs
        assert await su.call(WC + "list_webclusters", True) == wcs
        assert await su.call(RC + "list_routercluster_workergroups", rc["oid"]) == []
        assert list(await su.call(WC + "list_webcluster_services", wc["oid"])) == ["dup"]
        assert await su.call(WC + "list_webcluster_nodes", wc["oid"]) == []
        assert (await su.call(RC + "get_routercluster", rc["oid"]))["status"] == "STOPPED"


def shell_ok(shell, *args):
    r = shell(*args, realm="default")
    assert r.rc == 0, f"`crossbar {' '.join(r.argv)}` failed\n{r.describe()}"
    return r.json()


def one(v):
    return v[0] if isinstance(v, list) else v


async def test_crossbar_shell_cluster_commands(keys, master, node1, node2, shell):
    port = peers.free_port()
    CREATED.update({("router", "rc_sh"), ("web", "wc_sh")})

    def router_chain():
        assert shell_ok(shell, "create", "routercluster", "rc_sh")["status"] == "STOPPED"
        shell_ok(shell, "add", "routercluster-node", "rc_sh", "node1")
        wg = shell_ok(shell, "add", "routercluster-workergroup", "rc_sh", "wg_sh", "--config", '{"scale": 1}')
        assert wg["name"] == "wg_sh" and wg["scale"] == 1, wg
        assert shell_ok(shell, "start", "routercluster", "rc_sh")["status"] == "STARTING"
        assert "rc_sh" in shell_ok(shell, "list", "routerclusters", "--names")

    def web_chain():
        cfg = json.dumps({"tcp_port": port, "tcp_shared": True})
        assert shell_ok(shell, "create", "webcluster", "wc_sh", "--config", cfg)["tcp_port"] == port
        shell_ok(shell, "add", "webcluster-node", "wc_sh", "node1", "--config", '{"parallel": 1}')
        svc = json.dumps({"type": "json", "value": {"shell": 1}})
        assert shell_ok(shell, "add", "webcluster-service", "wc_sh", "info", "--config", svc)["path"] == "info"
        assert shell_ok(shell, "start", "webcluster", "wc_sh")["status"] == "STARTING"
        assert "wc_sh" in shell_ok(shell, "list", "webclusters", "--names")

    t0 = time.monotonic()
    await asyncio.gather(asyncio.to_thread(router_chain), asyncio.to_thread(web_chain))
    status, body = None, None
    deadline = time.monotonic() + SERVE_TIMEOUT
    while status != 200 and time.monotonic() < deadline:
        status, body = await http_get(CLUSTER_IPS["node1"], port, "/info")
        await asyncio.sleep(0.1)
    assert status == 200 and json.loads(body) == {"shell": 1}, (status, body)
    record(keys, "shell: create/add/start both clusters (two parallel chains) -> served", time.monotonic() - t0)

    def show_and_stop():
        assert one(shell_ok(shell, "show", "webcluster", "wc_sh"))["status"] in ("STARTING", "RUNNING")
        assert one(shell_ok(shell, "show", "routercluster", "rc_sh"))["status"] in ("STARTING", "RUNNING")
        return [shell_ok(shell, "stop", kind, name)["status"] for kind, name in
                (("webcluster", "wc_sh"), ("routercluster", "rc_sh"))]

    assert await asyncio.to_thread(show_and_stop) == ["STOPPING", "STOPPING"]
    async with superuser(master, keys) as su:
        for kind, name in (("web", "wc_sh"), ("router", "rc_sh")):
            await remove_cluster(su, kind, name)


class Cli:
    """`mrealm <args> --realm default --url <master>` with the run's superuser profile."""

    def __init__(self, keys, master):
        self.env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub)
        self.keys, self.master = keys, master

    def run(self, *args, json_out=True):
        argv = [peers.MREALM_BIN, *map(str, args), "--realm", "default", "--url", self.master.url]
        argv += ["--json"] if json_out else []
        r = peers.run(argv, self.env, timeout=30, cwd=self.keys.base)
        return r, f"`mrealm {' '.join(argv[1:])}` rc={r.returncode}\n{r.stdout}\n{r.stderr}"

    def ok(self, *args):
        r, why = self.run(*args)
        assert r.returncode == 0, why
        return json.loads(r.stdout)


async def test_mrealm_cli_cluster_commands(keys, master, node1, node2):
    cli = Cli(keys, master)
    port = peers.free_port()
    CREATED.update({("router", "rc_cli"), ("web", "wc_cli")})

    def scenario():
        wc = cli.ok("webcluster", "create", "wc_cli", "--port", port, "--shared")
        assert wc["tcp_port"] == port and wc["tcp_shared"] is True, wc
        members = cli.ok("webcluster", "add-node", "wc_cli", "node1,node2", "--parallel", "1")
        assert [m["parallel"] for m in members] == [1, 1], members
        svc = cli.ok("webcluster", "add-service", "wc_cli", "info", "--type", "json", "--value", '{"cli": 1}')
        assert svc["value"] == {"cli": 1}, svc
        assert [s["path"] for s in cli.ok("webcluster", "list-services", "wc_cli")] == ["info"]
        assert cli.ok("webcluster", "list-nodes", "wc_cli", "--names") == ["node1", "node2"]
        cli.ok("routercluster", "create", "rc_cli")
        cli.ok("routercluster", "add-node", "rc_cli", "node1,node2")
        cli.ok("routercluster", "add-workergroup", "rc_cli", "wg_cli", "--scale", "2")
        wg = cli.ok("routercluster", "show-workergroup", "rc_cli", "wg_cli")
        assert len({p["node_oid"] for p in wg["placements"]}) == 2, wg
        r, why = cli.run("routercluster", "list", json_out=False)
        assert r.returncode == 0 and "NAME" in r.stdout and "rc_cli" in r.stdout, why
        r, why = cli.run("webcluster", "show", "nosuch")
        assert r.returncode == 1 and "crossbar.error.no_such_object" in r.stderr, why
        assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == "", why
        r, why = cli.run("routercluster", "add-node", "rc_cli", "nosuchnode")
        assert r.returncode == 1 and "crossbar.error.no_such_object" in r.stderr, why

        assert cli.ok("webcluster", "start", "wc_cli")["status"] == "STARTING"
        t0 = time.monotonic()
        while cli.ok("webcluster", "stat", "wc_cli")["status"] != "RUNNING":
            assert time.monotonic() - t0 < SERVE_TIMEOUT, cli.ok("webcluster", "stat", "wc_cli")
            time.sleep(0.2)
        r, why = cli.run("webcluster", "stat", "wc_cli", json_out=False)
        assert r.returncode == 0 and "WORKER" in r.stdout and "cpw-" in r.stdout, why
        assert cli.ok("webcluster", "stop", "wc_cli")["status"] == "STOPPING"
        t0 = time.monotonic()
        while cli.ok("webcluster", "show", "wc_cli")["status"] != "STOPPED":
            assert time.monotonic() - t0 < 15, "wc_cli not STOPPED"
            time.sleep(0.2)
        cli.ok("webcluster", "delete", "wc_cli")
        cli.ok("routercluster", "delete", "rc_cli")
        assert "rc_cli" not in cli.ok("routercluster", "list", "--names")

    await asyncio.to_thread(scenario)

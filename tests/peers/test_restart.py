"""Graceful restart of `mrealm master start` with a real Crossbar.io 26.10.1 edge node (issue 8).

A master of its own (own cbdir and port, so the session's master is untouched) auto-pairs node3's key
into mrealm "default"; node3 connects. The master is SIGTERMed (it must exit 0) and started again on
the same cbdir and port: node3 reconnects by itself and is online again, and the mrealms and
pairings are as before.
"""

import asyncio
import time

import peers
from peers import CONNECTED

NODE = "node3"  # outside the session master's watched dir: never paired there


def superuser(url, keys, realm):
    from suclient import Superuser

    return Superuser(url, keys.su_priv, realm)


def start_master(keys, cbdir, port, watched, name):
    url = f"ws://127.0.0.1:{port}/ws"
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub, CROSSBAR_WATCH_TO_PAIR=watched,
                         CROSSBAR_FABRIC_URL=url, RUST_BACKTRACE="1")
    proc = peers.Proc(name, [peers.MREALM_BIN, "master", "start", "--cbdir", cbdir, "--listen", f"127.0.0.1:{port}"],
                      env, keys.logs / "restart-master.log", cwd=keys.base)
    proc.wait_log(f"mrealm master listening on {url}", 30)
    return proc, url


async def state(url, keys):
    """(mrealm names, {oid: node object}, online node oids) as the superuser sees them."""
    async with superuser(url, keys, "com.crossbario.fabric") as su:
        names = await su.call("crossbarfabriccenter.mrealm.list_mrealms", True)
        nodes = {}
        for oid in await su.call("crossbarfabriccenter.mrealm.list_nodes"):
            nodes[oid] = await su.call("crossbarfabriccenter.mrealm.get_node", oid)
    async with superuser(url, keys, "default") as su:
        online = await su.call("crossbarfabriccenter.mrealm.get_nodes", "online")
    return sorted(names), nodes, set(online)


async def wait_online(url, keys, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        names, nodes, online = await state(url, keys)
        if want <= online or time.monotonic() > deadline:
            return names, nodes, online
        await asyncio.sleep(0.25)


async def test_nodes_reconnect_after_sigterm_restart(keys, tmp_path):
    port = peers.free_port()
    cbdir = tmp_path / "master"
    watched = tmp_path / "watched"
    (watched / NODE).mkdir(parents=True)
    (watched / NODE / "key.pub").write_text((keys.cbdir(NODE) / "key.pub").read_text())
    master, url = start_master(keys, cbdir, port, watched, "restart-master")
    node = None
    try:
        deadline = time.monotonic() + 20
        while not (watched / NODE / "key.activate").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        env = peers.peer_env(keys.home, CROSSBAR_FABRIC_URL=url)
        node = peers.Proc(NODE, [peers.CROSSBAR, "edge", "start", "--cbdir", keys.cbdir(NODE), "--color", "false"],
                          env, keys.logs / f"{NODE}-restart.log", cwd=keys.base)
        node.wait_log(CONNECTED, 45)
        names, nodes, _ = await state(url, keys)
        (oid,) = [o for o, n in nodes.items() if n["authid"] == NODE]
        before = await wait_online(url, keys, {oid}, 20)
        assert oid in before[2], before

        code = master.stop(grace=15)
        assert code == 0, f"mrealm master did not exit 0 on SIGTERM (got {code})\n{master.log_tail()}"
        assert node.running(), "the edge node keeps running while its master is away"

        master, url2 = start_master(keys, cbdir, port, watched, "restart-master-2")
        assert url2 == url
        after = await wait_online(url, keys, {oid}, 60)
        assert oid in after[2], f"{NODE} not online again\n{node.log_tail()}"
        assert after[0] == before[0]  # mrealms
        assert after[1] == before[1]  # pairings
        # online comes with the node's join; its log line comes once its uplink check answered
        assert node.wait_log_count(CONNECTED, 2, 30), node.log_tail()
    finally:
        if node is not None:
            node.stop(grace=15)
        master.stop(grace=15)

"""Real Crossbar.io 26.10.1 edge nodes against `mrealm master start` (issue 4).

* auto-paired through CROSSBAR_WATCH_TO_PAIR -> key.activate written, the node connects and is accepted
  (visible to the superuser in the management realm's session meta API as authid node1 / authrole node);
* a node whose key was never paired is refused (fabric.auth-failed.node-unpaired) and stops by itself;
* a node killed with SIGKILL disappears from wamp.session.list within 2 s.
"""

import asyncio
import time

import peers
from peers import CONNECTED


def superuser(master, keys, realm="default"):
    """Superuser WAMP session (imported lazily: without .venv-peers the suite is skipped, not broken)."""
    from suclient import Superuser

    return Superuser(master.url, keys.su_priv, realm)

UNPAIRED = "fabric.auth-failed.node-unpaired"


async def node_sessions(su):
    """{session id: session details} of every authrole-"node" session on the superuser's realm."""
    ids = await su.call("wamp.session.list", ["node"])
    out = {}
    for sid in ids:
        out[sid] = await su.call("wamp.session.get", sid)
    return out


async def wait_node_session(su, authid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        found = {s: d for s, d in (await node_sessions(su)).items() if d.get("authid") == authid}
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


def test_autopair_writes_activation_file(keys, master):
    for node in ("node1", "node2"):
        path = keys.cbdir(node) / "key.activate"
        # auto-pairing scans at boot and then periodically; the node fixtures wait for it too
        deadline = time.monotonic() + 20
        while not path.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.is_file(), f"{path} not written by the master"
        text = path.read_text()
        assert text.startswith("Crossbar.io node activation\n\n"), text
        act = peers.parse_keyfile(path)
        assert act["management-url"] == master.url, act
        assert act["management-realm"] == "default", act
        assert act["node-authid"] == node, act
        pub = peers.parse_keyfile(keys.cbdir(node) / "key.pub")["public-key-ed25519"]
        assert act["public-key-ed25519"] == pub, act
    # keys outside the watched directory are never auto-paired
    for node in ("node3", "stray1"):
        assert not (keys.cbdir(node) / "key.activate").exists()


async def test_autopaired_node_is_accepted(keys, master, node1):
    log = node1.log()
    assert CONNECTED in log
    assert 'management realm "default"' in log.split(CONNECTED, 1)[1].splitlines()[0], log
    assert UNPAIRED not in log.lower()
    assert node1.running()

    async with superuser(master, keys) as su:
        assert su.details.realm == "default"
        sessions = await wait_node_session(su, "node1", 10)
        assert sessions, f"no authid node1 in wamp.session.list(['node']): {await node_sessions(su)}"
        (details,) = sessions.values()
        assert details["authrole"] == "node", details
        assert details["authid"] == "node1", details
        assert details["authmethod"] == "cryptosign", details
        # only node sessions are listed with the authrole filter
        assert all(d["authrole"] == "node" for d in (await node_sessions(su)).values())


def test_unpaired_node_is_refused_and_stops(nodes):
    t0 = time.monotonic()
    stray = nodes.start("stray1", wait_connected=False)
    code = stray.wait_exit(30)
    took = time.monotonic() - t0
    log = stray.log()
    assert code is not None, f"unpaired node still running after 30 s\n{stray.log_tail()}"
    # the node logs the ABORT reason upper-cased: "FABRIC.AUTH-FAILED.NODE-UNPAIRED: THIS NODE IS UNPAIRED. ..."
    refused = UNPAIRED in log.lower()
    assert refused, f"no {UNPAIRED} in the node log (exit {code})\n{stray.log_tail()}"
    connected = CONNECTED in log
    assert not connected, stray.log_tail()
    print(f"[peers] unpaired node refused and exited ({code}) {took:.1f} s after spawn")


async def test_killed_node_session_disappears(keys, master, nodes):
    node2 = nodes.start("node2")
    async with superuser(master, keys) as su:
        sessions = await wait_node_session(su, "node2", 10)
        assert sessions, f"node2 connected but not in wamp.session.list: {await node_sessions(su)}"
        (sid,) = sessions

        t_kill = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, node2.kill9)
        while sid in await su.call("wamp.session.list", ["node"]):
            assert time.monotonic() - t_kill < 2.0, "killed node's session still listed after 2 s"
            await asyncio.sleep(0.05)
        gone = time.monotonic() - t_kill
        print(f"[peers] node2 session gone {gone * 1000:.0f} ms after SIGKILL")
        # the session is gone for good and node1 (if it is up) is unaffected
        assert not await wait_node_session(su, "node2", 0)

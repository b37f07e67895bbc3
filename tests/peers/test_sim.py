"""`mrealm sim` against the real Python Crossbar.io master (issue 7): simulated edge nodes pair through the
global API, join as `node` over wamp.2.cbor.batched, register, send heartbeats, and the Python master
lists them online and forwards remote calls to them — wire compatibility of the simulator.
"""

import json
import time

import peers

NODES = 3
ONLINE_WAIT = 30  # s: the Python master marks a node online on join or on its first heartbeat


def _sim(keys, url, summary, duration):
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub, MREALM_LOG="warn")
    argv = [peers.MREALM_BIN, "sim", "--url", url, "--nodes", str(NODES), "--period", "1s",
            "--duration", duration, "--prefix", "pysim", "--superuser-key", keys.su_priv, "--json", summary]
    return peers.Proc("mrealm sim", [str(a) for a in argv], env, keys.logs / "sim-python.log", cwd=keys.base)


def _cli(keys, url, *args):
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub)
    argv = [peers.MREALM_BIN, *[str(a) for a in args], "--url", url, "--json"]
    r = peers.run(argv, env, timeout=30, cwd=keys.base)
    assert r.returncode == 0, f"{argv}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


def test_simulated_nodes_on_the_python_master(keys, python_master):
    url = python_master.url
    summary = keys.base / "sim-python.json"
    sim = _sim(keys, url, summary, "30s")
    try:
        sim.wait_log(f"all {NODES} nodes online", 60)
        want = {f"pysim-{i:05}" for i in range(NODES)}
        deadline = time.monotonic() + ONLINE_WAIT
        online = set()
        while time.monotonic() < deadline and not want <= online:
            online = set(_cli(keys, url, "node", "list", "--realm", "default", "--online", "--names"))
            time.sleep(1)
        assert want <= online, f"online: {online}\n{sim.log_tail()}"
        status = _cli(keys, url, "call", "--realm", "default", "pysim-00001", "get_status")
        assert status["management_node_id"] == "pysim-00001", status
        assert sim.wait_exit(60) == 0, sim.log_tail()
    finally:
        sim.stop(grace=10)
    result = json.loads(summary.read_text())
    assert result["online_at_end"] == NODES, result
    assert result["heartbeats_acked"] > 0 and result["errors"] == 0, result

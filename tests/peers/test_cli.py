"""The same `mrealm` operator commands against the real Python Crossbar.io master and against mrealm (issue 6).

Every test runs once per master (`target` is parametrized): the real Crossbar.io 26.10.1 master
(`python_master` in conftest.py, auto-pairs a copy of node1's key into mrealm "default") and
`mrealm master start` (`master`, auto-pairs node1 and node2). The CLI finds the superuser profile through
CROSSBAR_FABRIC_SUPERUSER (the `crossbar shell init` profile of the run) and gets the master with `--url`.
No edge node needs to run: everything here is pairing and database state.
"""

import json
import time
import uuid
from dataclasses import dataclass

import pytest

import peers

MREALM_KEYS = {"oid", "label", "description", "tags", "name", "created", "owner", "cf_router_worker",
               "cf_container_worker"}
NODE_KEYS = {"oid", "label", "description", "tags", "owner_oid", "pubkey", "cluster_ip", "mrealm_oid", "authid",
             "authextra"}
PAIR_WAIT = 25  # s: the auto-pair scan runs at boot and then every 10 s


@dataclass
class Target:
    name: str  # "crossbar" | "mrealm"
    url: str


@dataclass
class CliResult:
    argv: list
    rc: int
    stdout: str
    stderr: str

    def describe(self):
        return f"`{' '.join(self.argv)}` rc={self.rc}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def ok(self):
        """Exit 0 and the JSON printed on stdout."""
        assert self.rc == 0, self.describe()
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            raise AssertionError(f"no JSON on stdout ({e})\n{self.describe()}")


@pytest.fixture(scope="module", params=["crossbar", "mrealm"])
def target(request):
    """The master under test: the real Python Crossbar.io master, or mrealm."""
    fixture = "python_master" if request.param == "crossbar" else "master"
    return Target(request.param, request.getfixturevalue(fixture).url)


@pytest.fixture(scope="module")
def cli(keys, target):
    """Run `mrealm <args> --url <target> --json` once, with the run's superuser profile."""
    env = peers.peer_env(keys.home, CROSSBAR_FABRIC_SUPERUSER=keys.su_pub)

    def _cli(*args, timeout=30):
        argv = [peers.MREALM_BIN] + [str(a) for a in args] + ["--url", target.url, "--json"]
        r = peers.run(argv, env, timeout=timeout, cwd=keys.base)
        return CliResult(["mrealm"] + argv[1:], r.returncode, r.stdout, r.stderr)

    return _cli


@pytest.fixture(scope="module")
def n9_key(keys):
    """A fresh node key (never seen by either master) for `node pair` / `node unpair`."""
    d = keys.base / "cli" / "n9"
    r = peers.run([peers.MREALM_BIN, "keys", "--cbdir", d, "--authid", "n9"], peers.peer_env(keys.home), timeout=30)
    assert r.returncode == 0, r.stderr
    return d / "key.pub"


def pubkey_of(path):
    return peers.parse_keyfile(path)["public-key-ed25519"]


def is_uuid(s):
    try:
        return str(uuid.UUID(s)) == s
    except (TypeError, ValueError, AttributeError):
        return False


def wait_node1_paired(cli):
    """Names of mrealm default's nodes once node1 (auto-paired) is among them (bounded)."""
    deadline = time.monotonic() + PAIR_WAIT
    while True:
        names = cli("node", "list", "--realm", "default", "--names").ok()
        if "node1" in names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def test_status(cli, target):
    st = cli("status").ok()
    assert st["type"] == "domain", st
    assert st["realm"] == "com.crossbario.fabric", st
    st = cli("status", "--realm", "default").ok()
    assert st["type"] == "management" and st["realm"] == "default", st


def test_mrealm_list_names(cli):
    names = cli("mrealm", "list", "--names").ok()
    assert "default" in names, names
    assert names == sorted(names), names


def test_mrealm_show_default(cli):
    mr = cli("mrealm", "show", "default").ok()
    assert set(mr) == MREALM_KEYS, mr
    assert mr["name"] == "default" and is_uuid(mr["oid"]) and is_uuid(mr["owner"]), mr
    # by oid too (get_mrealm instead of get_mrealm_by_name)
    assert cli("mrealm", "show", mr["oid"]).ok() == mr


def test_node_list_names(cli):
    names = wait_node1_paired(cli)
    assert "node1" in names, f"node1 not auto-paired within {PAIR_WAIT} s: {names}"
    assert names == sorted(names), names


def test_node_show(cli, keys):
    wait_node1_paired(cli)
    node = cli("node", "show", "--realm", "default", "node1").ok()
    assert NODE_KEYS <= set(node), node
    assert node["authid"] == "node1", node
    assert node["pubkey"] == pubkey_of(keys.cbdir("node1") / "key.pub"), node
    # by oid: mrealm get_node (on the management realm; the global-realm `get_node` stub is never called)
    assert cli("node", "show", "--realm", "default", node["oid"]).ok()["authid"] == "node1"
    # the full list is get_nodes + get_node per oid
    listed = cli("node", "list", "--realm", "default").ok()
    assert node["oid"] in [n["oid"] for n in listed], listed


def test_pair_unpair(cli, target, n9_key):
    default = cli("mrealm", "show", "default").ok()
    paired = cli("node", "pair", n9_key, "default", "n9").ok()
    assert NODE_KEYS <= set(paired), paired
    assert paired["authid"] == "n9" and paired["pubkey"] == pubkey_of(n9_key), paired
    assert paired["mrealm_oid"] == default["oid"] and is_uuid(paired["oid"]), paired
    try:
        assert "n9" in cli("node", "list", "--realm", "default", "--names").ok()
        again = cli("node", "pair", n9_key, "default", "n9")
        assert again.rc == 1 and "fabric.node-already-paired" in again.stderr, again.describe()
    finally:
        unpaired = cli("node", "unpair", n9_key).ok()
    # the unpair result is the node object with authid and authextra cleared plus the sessions it closed
    # (`killed`; n9 never connected)
    assert unpaired["oid"] == paired["oid"] and unpaired["pubkey"] == paired["pubkey"], unpaired
    assert unpaired["authid"] is None and unpaired["authextra"] is None, unpaired
    assert unpaired["killed"] == [], unpaired
    if target.name == "crossbar":
        # Crossbar.io leaves mrealm_oid at the OLD mrealm in the result (docs/crossbar-master-facts.md §1.4)
        assert unpaired["mrealm_oid"] == default["oid"], unpaired
    else:
        # mrealm reports the node's actual state: no mrealm (docs/architecture.md, "where mrealm differs from Crossbar")
        assert unpaired["mrealm_oid"] is None, unpaired
    assert "n9" not in cli("node", "list", "--realm", "default", "--names").ok()
    twice = cli("node", "unpair", n9_key)
    assert twice.rc == 1 and "fabric.node-not-paired" in twice.stderr, twice.describe()


def test_unknown_node(cli):
    r = cli("node", "show", "--realm", "default", "nosuchnode")
    assert r.rc == 1, r.describe()
    assert "crossbar.error.no_such_object" in r.stderr and "nosuchnode" in r.stderr, r.describe()
    assert r.stdout == "", r.describe()


def test_unknown_mrealm(cli):
    r = cli("mrealm", "show", "nosuch")
    assert r.rc == 1, r.describe()
    assert "crossbar.error.no_such_object" in r.stderr, r.describe()

"""The unmodified `crossbar shell` (Crossbar.io 26.10.1) against `mrealm master start`.

One shell process per command (as users run it); the JSON it prints on stdout is parsed and checked
against what the real Crossbar.io master returns (docs/crossbar-master-facts.md §1-2).
"""

import re
import uuid

import pytest

import peers

MREALM_KEYS = ["oid", "label", "description", "tags", "name", "created", "owner", "cf_router_worker",
               "cf_container_worker"]
NODE_KEYS = ["oid", "label", "description", "tags", "owner_oid", "pubkey", "cluster_ip", "mrealm_oid", "authid",
             "authextra"]
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def ok(r):
    """The command succeeded: exit code 0 and a JSON result on stdout."""
    assert r.rc == 0, f"`crossbar {' '.join(r.argv)}` failed\n{r.describe()}"
    return r.json()


def is_uuid(s):
    try:
        return str(uuid.UUID(s)) == s
    except (TypeError, ValueError, AttributeError):
        return False


@pytest.fixture(scope="module")
def mr1(shell):
    """`create mrealm mr1` (once per module; test_create_mrealm checks its result)."""
    return shell("create", "mrealm", "mr1")


def test_show_status(shell):
    st = ok(shell("show", "status"))
    assert st["type"] == "domain"
    assert st["realm"] == "com.crossbario.fabric"
    assert ISO_MS.match(st["now"]) and ISO_MS.match(st["started"]), st
    assert isinstance(st["tick"], int) and st["tick"] >= 1, st
    assert isinstance(st["uptime"], str), st


def test_list_mrealms(shell):
    oids = ok(shell("list", "mrealms"))
    assert isinstance(oids, list) and oids, oids
    assert all(is_uuid(o) for o in oids), oids


def test_list_mrealms_names(shell):
    names = ok(shell("list", "mrealms", "--names"))
    assert isinstance(names, list)
    assert "default" in names, names
    assert names == sorted(names), names


def test_create_mrealm(mr1):
    obj = ok(mr1)
    assert sorted(obj) == sorted(MREALM_KEYS), obj
    assert obj["name"] == "mr1"
    assert is_uuid(obj["oid"]) and is_uuid(obj["owner"]), obj
    assert isinstance(obj["created"], int), obj  # microseconds since the epoch
    assert obj["cf_router_worker"] is None and obj["cf_container_worker"] is None


def test_show_mrealm(shell, mr1):
    created = ok(mr1)
    obj = ok(shell("show", "mrealm", "mr1"))
    assert sorted(obj) == sorted(MREALM_KEYS), obj
    assert obj["name"] == "mr1"
    assert obj == created
    # by oid as well (the shell calls get_mrealm when the argument parses as a UUID)
    assert ok(shell("show", "mrealm", created["oid"])) == created
    assert "mr1" in ok(shell("list", "mrealms", "--names"))


def test_pair_and_unpair_node(shell, keys, mr1):
    mrealm = ok(mr1)
    key_pub = keys.cbdir("node3") / "key.pub"
    pubkey = peers.parse_keyfile(key_pub)["public-key-ed25519"]

    node = ok(shell("pair", "node", key_pub, "mr1", "node3"))
    assert sorted(node) == sorted(NODE_KEYS), node
    assert node["pubkey"] == pubkey
    assert node["authid"] == "node3"
    assert node["mrealm_oid"] == mrealm["oid"]
    assert node["authextra"] is None
    assert is_uuid(node["oid"]), node

    # pairing the same key again is refused, as by Crossbar.io
    again = shell("pair", "node", key_pub, "mr1", "node3b")
    assert again.rc != 0, again.describe()
    assert "fabric.node-already-paired" in again.stdout + again.stderr, again.describe()

    un = ok(shell("unpair", "node", key_pub))
    assert sorted(un) == sorted(NODE_KEYS + ["killed"]), un
    assert un["oid"] == node["oid"]
    assert un["pubkey"] == pubkey
    assert un["authid"] is None
    assert un["authextra"] is None
    assert un["killed"] == []

    # and unpairing twice is refused
    twice = shell("unpair", "node", key_pub)
    assert twice.rc != 0, twice.describe()
    assert "fabric.node-not-paired" in twice.stdout + twice.stderr, twice.describe()


def test_list_nodes_needs_realm(shell):
    """Without --realm the shell calls mrealm.get_nodes on the global realm: the WAMP error is printed."""
    r = shell("list", "nodes")
    assert r.rc == 1, r.describe()
    assert "ApplicationError(error=<wamp.error.no_such_procedure>" in r.stdout + r.stderr, r.describe()
    assert "crossbarfabriccenter.mrealm.get_nodes" in r.stdout + r.stderr, r.describe()


def test_mrealm_show_status(shell):
    st = ok(shell("show", "status", realm="default"))
    assert st["type"] == "management", st
    assert st["realm"] == "default", st
    assert ISO_MS.match(st["now"]) and ISO_MS.match(st["started"]), st


def test_mrealm_list_nodes_sees_autopaired_node(shell, node1):
    names = ok(shell("list", "nodes", "--names", realm="default"))
    assert "node1" in names, names

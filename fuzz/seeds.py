"""Writes the checked-in seed corpora under fuzz/corpus/<target>/ (run by hand when they change):

    .venv/bin/python fuzz/seeds.py        # from the repository root; needs cbor2 and msgpack

Seeds are real shapes: messages as autobahn sends them (JSON with "\\0"+base64 bytes, MsgPack,
CBOR), a heartbeat and worker heartbeats as Crossbar 26.10.1 nodes publish them (WIRE.md), a
key file as `crossbar edge keys` writes it, the PyNaCl cryptosign vector, and autobahn's
WebSocket upgrade request.
"""
import base64
import json
import os
import random
import struct

import cbor2
import msgpack

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

MESSAGES = {
    "hello": [1, "realm1", {"roles": {"caller": {"features": {"progressive_call_results": True}}, "publisher": {}},
                            "authmethods": ["cryptosign"], "authid": "node1",
                            "authextra": {"pubkey": "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
                                          "channel_binding": None}}],
    "welcome": [2, 12345, {"authid": "joe", "authrole": "node", "roles": {"broker": {}, "dealer": {}}}],
    "abort": [3, {"message": "no"}, "wamp.error.no_such_realm"],
    "challenge": [4, "cryptosign", {"challenge": "5a" * 32, "channel_binding": None}],
    "authenticate": [5, "ab" * 96, {}],
    "goodbye": [6, {}, "wamp.close.normal"],
    "error": [8, 48, 7, {}, "wamp.error.no_such_procedure", ["x"], {"y": 1}],
    "publish": [16, 3, {"acknowledge": True}, "crossbarfabriccenter.node.on_heartbeat",
                ["node1", {"seq": 13, "timestamp": 1795548448822515087, "workers": {"router": 1}}]],
    "published": [17, 3, 2**53],
    "subscribe": [32, 4, {"match": "wildcard"}, "crossbarfabriccenter.node..on_ready"],
    "subscribed": [33, 4, 99],
    "unsubscribe": [34, 5, 99],
    "unsubscribed": [35, 5],
    "event": [36, 2**53, 1, {"publisher": 77}, [2**64 - 1, -(2**63), None, True, 2.5, "\u00e9\u4e2d"]],
    "call": [48, 7, {"timeout": 1000}, "crossbarfabriccenter.mrealm.get_nodes", [1, "a", b"\x00\x01\xff"], {"f": 1.5}],
    "cancel": [49, 7, {"mode": "kill"}],
    "result": [50, 4, {"progress": True}, [], {"x": b"hi"}],
    "register": [64, 8, {"invoke": "roundrobin"}, "com.x"],
    "registered": [65, 8, 100],
    "unregister": [66, 9, 100],
    "unregistered": [67, 9, {"reason": "wamp.close.killed"}],
    "invocation": [68, 10, 100, {"caller": 5}, [[1, [2, {"x": []}]]]],
    "interrupt": [69, 10, {"mode": "killnowait"}],
    "yield": [70, 10, {}, [None]],
}


def jsonable(o):
    if isinstance(o, bytes):
        return "\x00" + base64.b64encode(o).decode("ascii")
    if isinstance(o, list):
        return [jsonable(x) for x in o]
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    return o


def to_json(obj):
    return json.dumps(jsonable(obj), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def to_msgpack(obj):
    return msgpack.packb(obj, use_bin_type=True)


ENCODERS = {"decode_json": to_json, "decode_msgpack": to_msgpack, "decode_cbor": cbor2.dumps}


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def decoders():
    for target, enc in ENCODERS.items():
        for name, msg in MESSAGES.items():
            write(target, name, enc(msg))
    names = list(MESSAGES)
    for i in range(0, len(names), 4):
        group = [MESSAGES[n] for n in names[i:i + 4]]
        write("decode_batched", f"json-{i}", b"\x00" + b"".join(to_json(m) + b"\x18" for m in group))
        write("decode_batched", f"msgpack-{i}",
              b"\x01" + b"".join(struct.pack(">I", len(b)) + b for b in map(to_msgpack, group)))
        write("decode_batched", f"cbor-{i}",
              b"\x02" + b"".join(struct.pack(">I", len(b)) + b for b in map(cbor2.dumps, group)))


def uris():
    cases = [(0, "com.example.a", "com.example.a"), (1, "com.example", "com.example.a.b"),
             (2, "crossbarfabriccenter.node..on_ready", "crossbarfabriccenter.node.node1.on_ready"),
             (0x82, "a..c", "a.b.c"), (0x80, "wamp.session.on_join", "wamp.session.on_join"),
             (2, "..", "x.y.z"), (0, "com.ex ample", ""), (1, "", "anything")]
    for i, (policy, pattern, uri) in enumerate(cases):
        write("uri_match", f"case-{i}", bytes([policy]) + f"{pattern}\0{uri}".encode())


def message_values():
    rng = random.Random(8)
    for i in range(16):
        write("message_value", f"random-{i}", bytes(rng.randrange(256) for _ in range(rng.randrange(8, 200))))


KEY_PRIV = """Crossbar.io node private key - KEEP THIS SAFE!

creator: root@vm
created-at: 2026-11-24T20:05:59.558Z
machine-id: 3d1219c7c4c5404aaa1f6d2a48adfda4
node-authid: node7
node-cluster-ip: 127.0.0.1
public-key-ed25519: e06a5f63595934e337280c110462eb342bf7a9d5423ae644e7accd9cac2b7faf
public-adr-eth: 0xC517edc7773bB8f3AEFEaC042AacD3481C98B821
private-key-ed25519: 5d1030019943dab2bb24e93f94c1ce9a4b4629603caf4de05f368c07bd3e26b0
private-key-eth: c2848c1332060d466cb7f36a17483399d53df93e67e50464cf3de715cbfc2c32
"""
PYNACL_PUB = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
PYNACL_SIG = ("bc89ad4fb4e28c4657542ecf400fd635b6a098823d32ee3c401d6c6f65f37913071fd40efdbe12fb6c391b2a6"
              "9b5ee0b6037ccff3dda56b61880d092d9403c06" + "5a" * 32)


def keys():
    pub = "\n".join(l for l in KEY_PRIV.splitlines() if not l.startswith("private-"))
    write("keyfile", "crossbar-node-priv", KEY_PRIV)
    write("keyfile", "crossbar-node-pub", pub.replace("private key - KEEP THIS SAFE!", "public key") + "\n")
    write("keyfile", "user-default-pub", f"Crossbar.io user public key\n\nuser-id: superuser\npublic-key-ed25519: {PYNACL_PUB}\n")
    write("keyfile", "crlf", KEY_PRIV.replace("\n", "\r\n"))
    write("keyfile", "no-header", f"\npublic-key-ed25519: {PYNACL_PUB.upper()}\n")
    write("cryptosign", "hex-pubkey", b"\x00" + PYNACL_PUB.encode())
    write("cryptosign", "hex-answer", b"\x00 " + PYNACL_SIG.encode() + b"\n")
    pub_b, chal = bytes.fromhex(PYNACL_PUB), bytes([0x5a] * 32)
    write("cryptosign", "answer-valid", b"\x01" + pub_b + chal + PYNACL_SIG.encode())
    write("cryptosign", "answer-short", b"\x01" + pub_b + chal + b"00ff")
    write("cryptosign", "sign-verify", b"\x02" + bytes([7] * 32) + chal + b"\x05")


NODE_HB = ["node1", {"timestamp": 1795548448822515087, "period": 10, "mrealm_id": "default", "seq": 13,
                     "workers": {"router": 1, "controller": 1}, "state": 1,
                     "system": {"uptime": 2135823866368, "elapsed": 9983352,
                                "cpu": {"idle": 75.0, "user": 20.0, "system": 5.0, "ctx_switches": 1234, "iowait": 0.5},
                                "memory": {"percent": 41.5, "total": 8 << 30, "available": 4 << 30},
                                "disk": {"read_bytes": 1, "write_bytes": 2},
                                "network": {"bytes_sent": 3, "connection": {"AF_INET": 4, "AF_UNIX": 5}}}}]
ROUTER_HB = ["node1", "router1", {"type": "router", "state": 1, "timestamp": 1795548448822515087, "period": 10,
                                  "mrealm_id": "default", "seq": 13,
                                  "process": {"pid": 14830, "status": "running", "num_fds": 12, "num_threads": 3,
                                              "cpu_user": 1.43, "cpu_user_per_sec": 0.25, "mem_percent": 1.5},
                                  "router": {"messages": {"register": 24, "call": 5, "publish": 15},
                                             "sessions": 1, "roles": 2}}]
CONTROLLER_HB = ["node1", "controller", {"type": "controller", "pid": 14786, "status": "sleeping", "num_fds": 16,
                                         "timestamp": 1795548448822515087, "period": 10, "mrealm_id": "default",
                                         "seq": 13, "state": 1}]


def heartbeats():
    write("heartbeat", "node", b"\x00" + to_json(NODE_HB))
    write("heartbeat", "node-minimal", b"\x00" + to_json(["node1", {}]))
    write("heartbeat", "node-bad-seq", b"\x00" + to_json(["node1", {"seq": "x"}]))
    write("heartbeat", "worker-router", b"\x01" + to_json(ROUTER_HB))
    write("heartbeat", "worker-controller", b"\x01" + to_json(CONTROLLER_HB))


CONFIG = """listen = "127.0.0.1:9000"
path = "/ws"
tls_cert = "cert.pem"
tls_key = "key.pem"
superuser = "~/.crossbar/default.pub"
watch_to_pair = "/var/nodes"
watch_interval = 10
fabric_url = "ws://127.0.0.1:9000/ws"
ping_interval = 10.5
ping_timeout = 5
max_message_size = 1048576
tick_interval = 5
check_interval = 10
check_timeout = 5
log_retention = 604800
aggregate_retention = 7776000
"""


def configs():
    write("config", "full", CONFIG)
    write("config", "empty", "")
    write("config", "inf", "ping_interval = inf\n")
    write("config", "negative", "tick_interval = -1.0\n")
    write("config", "unknown-field", "listen = \"[::1]:0\"\nmystery = 1\n")


UPGRADE = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
           "Pragma: no-cache\r\nCache-Control: no-cache\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Protocol: wamp.2.cbor.batched,wamp.2.cbor,wamp.2.msgpack.batched,wamp.2.msgpack,"
           "wamp.2.json.batched,wamp.2.json\r\nSec-WebSocket-Version: 13\r\n\r\n")


def http():
    write("http_upgrade", "autobahn-upgrade", UPGRADE)
    write("http_upgrade", "upgrade-lf-only", UPGRADE.replace("\r\n", "\n"))
    write("http_upgrade", "upgrade-no-key", UPGRADE.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""))
    write("http_upgrade", "plain-get", "GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    write("http_upgrade", "json-only", UPGRADE.replace("wamp.2.cbor.batched,wamp.2.cbor,wamp.2.msgpack.batched,"
                                                       "wamp.2.msgpack,wamp.2.json.batched,", ""))


if __name__ == "__main__":
    decoders()
    uris()
    message_values()
    keys()
    heartbeats()
    configs()
    http()

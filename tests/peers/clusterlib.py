"""Helpers of test_clusters.py: bounded polling, expected WAMP errors, and HTTP probes of a web cluster on both
cluster IPs (blocking HTTP always runs in a thread, so the test's WAMP session keeps answering pings)."""

import asyncio
import http.client
import json
import socket
import time

import peers
from conftest import CLUSTER_IPS

NODES = ("node1", "node2")


async def call_error(su, procedure, *args, **kwargs):
    """The error URI of a call that must fail."""
    from autobahn.wamp.exception import ApplicationError

    try:
        result = await su.call(procedure, *args, **kwargs)
    except ApplicationError as e:
        return e.error
    raise AssertionError(f"{procedure}{args} returned {result!r} instead of failing")


async def poll(fn, ok, timeout, interval=0.1, what="condition"):
    """Await fn() until ok(value); the value, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fn()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        await asyncio.sleep(interval)


def _http_get(host, port, path, timeout):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


async def http_get(host, port, path, timeout=2.0):
    """(status, body) over a fresh connection, or (None, error text)."""
    try:
        return await asyncio.to_thread(_http_get, host, port, path, timeout)
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)


async def refuses(host, port):
    def connect():
        try:
            socket.create_connection((host, port), timeout=1).close()
            return False
        except ConnectionRefusedError:
            return True
        except OSError:
            return False

    return await asyncio.to_thread(connect)


async def served_json(port, path, want):
    """Whether GET /<path> answers 200 with `want` (JSON) on both cluster IPs."""
    for ip in CLUSTER_IPS.values():
        status, body = await http_get(ip, port, f"/{path}")
        if status != 200:
            return False
        try:
            if json.loads(body) != want:
                return False
        except ValueError:
            return False
    return True


async def status_on_both(port, path):
    return [(await http_get(ip, port, f"/{path}"))[0] for ip in CLUSTER_IPS.values()]


async def serving_nodes(port, pubkeys, want, timeout):
    """Node names whose nodeinfo page (their pubkey) answered on fresh connections, until `want` are seen."""
    seen = set()
    deadline = time.monotonic() + timeout
    while not want <= seen and time.monotonic() < deadline:
        for ip in CLUSTER_IPS.values():
            status, body = await http_get(ip, port, "/node")
            if status == 200:
                seen |= {n for n, k in pubkeys.items() if k.encode() in body}
        await asyncio.sleep(0.05)
    return seen


def pubkeys(keys):
    return {n: peers.parse_keyfile(keys.cbdir(n) / "key.pub")["public-key-ed25519"] for n in NODES}

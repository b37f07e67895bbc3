"""Dealer: REGISTER / CALL / INVOCATION / YIELD / ERROR / CANCEL / INTERRUPT."""

import asyncio
import uuid

import pytest
from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, CallResult, RegisterOptions

from wampclient import Inbox, bounded

ERROR = 8
CALL = 48

PAYLOAD_ARGS = [
    "hello",
    23,
    -7,
    2**53,
    3.5,
    True,
    False,
    None,
    "ünïcödé ☃ 𝄞 日本語",
    b"\x00\x01\x02\xfe\xff binary",
    b"",
    [1, [2, [3, []]]],
    {"nested": {"list": [1, "two", b"\x00three"], "empty": {}}},
]
PAYLOAD_KWARGS = {"bin": bytes(range(256)), "text": "κόσμε", "deep": {"a": [{"b": b"\xff"}]}}


def uri(name):
    """A fresh URI per test so runs never collide on the shared router."""
    return f"com.example.t{uuid.uuid4().hex[:10]}.{name}"


async def test_call_with_args_kwargs(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("echo")

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    await bounded(callee.register(echo, proc))
    res = await bounded(caller.call(proc, *PAYLOAD_ARGS, **PAYLOAD_KWARGS))
    assert list(res.results) == PAYLOAD_ARGS
    assert res.kwresults == PAYLOAD_KWARGS


async def test_call_single_result(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("add")
    await bounded(callee.register(lambda a, b: a + b, proc))
    assert await bounded(caller.call(proc, 2, 3)) == 5


@pytest.mark.parametrize(
    "callee_ser,caller_ser",
    [("json", "msgpack"), ("msgpack", "cbor"), ("cbor.batched", "json"), ("json.batched", "cbor"),
     ("cbor", "msgpack.batched")],
)
async def test_call_across_serializers(connect, callee_ser, caller_ser):
    callee = await connect("realm1", callee_ser)
    caller = await connect("realm1", caller_ser)
    proc = uri("echo")
    await bounded(callee.register(lambda *a, **kw: CallResult(*a, **kw), proc))
    res = await bounded(caller.call(proc, *PAYLOAD_ARGS, **PAYLOAD_KWARGS))
    assert list(res.results) == PAYLOAD_ARGS
    assert res.kwresults == PAYLOAD_KWARGS


async def test_callee_error_is_forwarded(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("fail")

    def fail():
        raise ApplicationError("com.example.error.custom", 1, "two", b"\x03", key="v")

    await bounded(callee.register(fail, proc))
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(proc))
    assert exc.value.error == "com.example.error.custom"
    assert list(exc.value.args) == [1, "two", b"\x03"]
    assert exc.value.kwargs == {"key": "v"}


async def test_call_unregistered_procedure(connect, ser):
    caller = await connect("realm1", ser)
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(uri("nobody.home")))
    assert exc.value.error == "wamp.error.no_such_procedure"


async def test_register_twice(connect, ser):
    a = await connect("realm1", ser)
    b = await connect("realm1", ser)
    proc = uri("once")
    await bounded(a.register(lambda: 1, proc))
    with pytest.raises(ApplicationError) as exc:
        await bounded(b.register(lambda: 2, proc))
    assert exc.value.error == "wamp.error.procedure_already_exists"
    with pytest.raises(ApplicationError) as exc:
        await bounded(a.register(lambda: 3, proc))
    assert exc.value.error == "wamp.error.procedure_already_exists"


async def test_unregister(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("temp")
    reg = await bounded(callee.register(lambda: "here", proc))
    assert await bounded(caller.call(proc)) == "here"
    await bounded(reg.unregister())
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(proc))
    assert exc.value.error == "wamp.error.no_such_procedure"


async def test_registration_removed_when_callee_leaves(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("gone")
    await bounded(callee.register(lambda: "here", proc))
    await callee.close()
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(proc))
    assert exc.value.error == "wamp.error.no_such_procedure"


async def test_prefix_registration(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    base = uri("pfx")

    def handler(*args, details=None):
        return [details.procedure, list(args)]

    await bounded(callee.register(handler, base, options=RegisterOptions(match="prefix", details=True)))
    assert await bounded(caller.call(base + ".a.b", 1)) == [base + ".a.b", [1]]
    assert await bounded(caller.call(base, 2)) == [base, [2]]


async def test_wildcard_registration(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    base = uri("wc")

    def handler(details=None):
        return details.procedure

    await bounded(callee.register(handler, base + "..op", options=RegisterOptions(match="wildcard", details=True)))
    assert await bounded(caller.call(base + ".x.op")) == base + ".x.op"
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(base + ".x.y.op"))
    assert exc.value.error == "wamp.error.no_such_procedure"


async def test_match_precedence(connect, ser):
    """exact > longest prefix > shorter prefix > wildcard."""
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    base = uri("prec")
    regs = {}
    for name, procedure, match in [
        ("exact", base + ".a.b.c", "exact"),
        ("prefix-long", base + ".a.b", "prefix"),
        ("prefix-short", base + ".a", "prefix"),
        ("wildcard", base + "..b.c", "wildcard"),
    ]:
        regs[name] = await bounded(
            callee.register(lambda _n=name: _n, procedure, options=RegisterOptions(match=match))
        )

    assert await bounded(caller.call(base + ".a.b.c")) == "exact"
    assert await bounded(caller.call(base + ".a.b.x")) == "prefix-long"
    assert await bounded(caller.call(base + ".a.x.c")) == "prefix-short"
    assert await bounded(caller.call(base + ".z.b.c")) == "wildcard"
    await bounded(regs["exact"].unregister())
    assert await bounded(caller.call(base + ".a.b.c")) == "prefix-long"
    await bounded(regs["prefix-long"].unregister())
    assert await bounded(caller.call(base + ".a.b.c")) == "prefix-short"
    await bounded(regs["prefix-short"].unregister())
    assert await bounded(caller.call(base + ".a.b.c")) == "wildcard"


async def _shared(connect, ser, invoke, n_callees=2):
    proc = uri("shared")
    callees = []
    for i in range(n_callees):
        s = await connect("realm1", ser)
        await bounded(s.register(lambda _i=i: _i, proc, options=RegisterOptions(invoke=invoke)))
        callees.append(s)
    caller = await connect("realm1", ser)
    return proc, caller


async def test_shared_roundrobin(connect, ser):
    proc, caller = await _shared(connect, ser, "roundrobin")
    results = [await bounded(caller.call(proc)) for _ in range(6)]
    assert sorted(set(results)) == [0, 1]
    assert all(results[i] != results[i + 1] for i in range(5)), results


async def test_shared_first(connect, ser):
    proc, caller = await _shared(connect, ser, "first")
    assert [await bounded(caller.call(proc)) for _ in range(4)] == [0, 0, 0, 0]


async def test_shared_last(connect, ser):
    proc, caller = await _shared(connect, ser, "last")
    assert [await bounded(caller.call(proc)) for _ in range(4)] == [1, 1, 1, 1]


async def test_shared_random(connect, ser):
    proc, caller = await _shared(connect, ser, "random")
    results = {await bounded(caller.call(proc)) for _ in range(40)}
    assert results == {0, 1}


async def test_shared_single_refuses_second(connect, ser):
    a = await connect("realm1", ser)
    b = await connect("realm1", ser)
    proc = uri("single")
    await bounded(a.register(lambda: 0, proc, options=RegisterOptions(invoke="single")))
    with pytest.raises(ApplicationError) as exc:
        await bounded(b.register(lambda: 1, proc, options=RegisterOptions(invoke="single")))
    assert exc.value.error == "wamp.error.procedure_already_exists"


async def test_shared_policy_conflict(connect, ser):
    a = await connect("realm1", ser)
    b = await connect("realm1", ser)
    proc = uri("conflict")
    await bounded(a.register(lambda: 0, proc, options=RegisterOptions(invoke="roundrobin")))
    with pytest.raises(ApplicationError) as exc:
        await bounded(b.register(lambda: 1, proc, options=RegisterOptions(invoke="first")))
    assert exc.value.error == "wamp.error.procedure_exists_with_different_invocation_policy"


async def test_progressive_results(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("progress")

    async def slow_count(n, details=None):
        assert details.progress is not None, "caller asked for progress but callee cannot send it"
        for i in range(n):
            details.progress(i, tick=b"\x00" * i)
            await asyncio.sleep(0.02)
        return "done"

    await bounded(callee.register(slow_count, proc, options=RegisterOptions(details=True)))
    progress = []
    res = await bounded(
        caller.call(proc, 3, options=CallOptions(on_progress=lambda *a, **kw: progress.append((a, kw))))
    )
    assert res == "done"
    assert progress == [((0,), {"tick": b""}), ((1,), {"tick": b"\x00"}), ((2,), {"tick": b"\x00\x00"})]


def _cancellable_callee(started, interrupted):
    async def slow(details=None):
        started.put(True)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            interrupted.put(True)
            raise
        return "too late"

    return slow


async def test_call_timeout(connect, ser, record_property, target):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("slow")
    started, interrupted = Inbox(), Inbox()
    await bounded(callee.register(_cancellable_callee(started, interrupted), proc))
    # Crossbar reads the timeout as seconds, mrealm as milliseconds (the spec's unit). The
    # callee must get to run before the INTERRUPT arrives, so mrealm gets 300 ms, not 1 ms.
    timeout = 1 if target == "crossbar" else 300
    with pytest.raises(ApplicationError) as exc:
        await bounded(caller.call(proc, options=CallOptions(timeout=timeout)), 8)
    record_property("timeout_error_uri", exc.value.error)
    print(f"call timeout error URI: {exc.value.error} args={exc.value.args}")
    assert exc.value.error in ("wamp.error.canceled", "wamp.error.timeout")
    await started.get()
    await interrupted.get()


async def test_call_cancel_default_mode(connect, ser):
    """Autobahn's future.cancel() sends CANCEL (no mode); callee is interrupted, router answers ERROR."""
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("cancelme")
    started, interrupted = Inbox(), Inbox()
    await bounded(callee.register(_cancellable_callee(started, interrupted), proc))
    fut = caller.call(proc)
    await started.get()
    fut.cancel()
    await interrupted.get()
    for _ in range(100):
        errors = [m for m in caller.raw(ERROR) if m[1] == CALL]
        if errors:
            break
        await asyncio.sleep(0.05)
    assert errors, "router sent no ERROR for the canceled CALL"
    assert errors[0][4] == "wamp.error.canceled"  # [ERROR, CALL, request, details, uri]
    with pytest.raises(asyncio.CancelledError):
        await fut


@pytest.mark.parametrize("mode", ["kill", "killnowait"])
async def test_call_cancel_kill(connect, ser, mode):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("killme")
    started, interrupted = Inbox(), Inbox()
    await bounded(callee.register(_cancellable_callee(started, interrupted), proc))
    fut = caller.call(proc)
    (request_id,) = list(caller._call_reqs)
    await started.get()
    caller._transport.send(message.Cancel(request_id, mode=mode))
    with pytest.raises(ApplicationError) as exc:
        await bounded(fut)
    assert exc.value.error == "wamp.error.canceled"
    await interrupted.get()


async def test_caller_disclosure(connect, ser):
    """The anonymous role allows caller disclosure: callee sees caller id/authid/authrole."""
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("whoami")

    def whoami(details=None):
        return [details.caller, details.caller_authid, details.caller_authrole]

    await bounded(callee.register(whoami, proc, options=RegisterOptions(details=True)))
    got = await bounded(caller.call(proc))
    assert got == [caller.id, caller.details.authid, "anonymous"]


async def test_concurrent_calls(connect, ser):
    callee = await connect("realm1", ser)
    caller = await connect("realm1", ser)
    proc = uri("sleepy")

    async def sleepy(i):
        await asyncio.sleep(0.2 - i * 0.01)
        return i

    await bounded(callee.register(sleepy, proc))
    results = await bounded(asyncio.gather(*[caller.call(proc, i) for i in range(10)]))
    assert results == list(range(10))

"""WAMP meta API: wamp.session.*, wamp.registration.*, wamp.subscription.* (Crossbar shapes)."""

import uuid

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions, SubscribeOptions

from wampclient import Inbox, bounded

UNKNOWN_ID = 2**53 - 12345


def uri(name):
    return f"com.example.t{uuid.uuid4().hex[:10]}.{name}"


async def watch(session, *topics):
    """One inbox for several meta topics; items are (topic_suffix, args)."""
    inbox = Inbox()
    for t in topics:
        def handler(*args, _t=t):
            inbox.put((_t.rsplit(".", 1)[1], list(args)))

        await bounded(session.subscribe(handler, t))
    return inbox


async def next_for(inbox, session_id):
    """Next meta event caused by session_id (other sessions may be active on the router)."""
    while True:
        kind, args = await inbox.get()
        if args and args[0] == session_id or (args and isinstance(args[0], dict)
                                               and args[0].get("session") == session_id):
            return kind, args


async def next_detach(inbox, session_id, obj_id):
    """Next on_unregister/on_delete (or subscription twin) for obj_id after its session left.

    Crossbar 26.10.1 sends these with session id None (null) when the cause is the session
    leaving (its session id is already cleared); an explicit id is accepted too.
    """
    while True:
        kind, args = await inbox.get()
        if len(args) == 2 and args[1] == obj_id:
            assert args[0] in (session_id, None), args
            return kind


# --- wamp.session.* ----------------------------------------------------------

async def test_session_on_join(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, "wamp.session.on_join")
    joiner = await connect("realm1", meta_ser)
    kind, args = await next_for(inbox, joiner.id)
    info = args[0]
    assert info["session"] == joiner.id
    assert info["authid"] == joiner.details.authid
    assert info["authrole"] == "anonymous"
    assert info["authmethod"] == "anonymous"
    assert info["authprovider"] == "static"
    assert info["realm"] == "realm1"


async def test_session_on_leave(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, "wamp.session.on_leave")
    leaver = await connect("realm1", meta_ser)
    leaver_id = leaver.id
    await leaver.close()
    kind, args = await next_for(inbox, leaver_id)
    assert args[0] == leaver_id


async def test_session_count_and_list(connect, meta_ser):
    a = await connect("realm1", meta_ser)
    b = await connect("realm1", meta_ser)
    ids = await bounded(a.call("wamp.session.list"))
    assert isinstance(ids, list)
    assert a.id in ids and b.id in ids
    assert await bounded(a.call("wamp.session.count")) == len(ids)
    assert await bounded(a.call("wamp.session.count", ["anonymous"])) == len(ids)
    assert await bounded(a.call("wamp.session.count", ["nobody"])) == 0
    assert await bounded(a.call("wamp.session.list", ["nobody"])) == []
    other = await connect("realm2", meta_ser)
    assert other.id not in await bounded(a.call("wamp.session.list"))


async def test_session_get(connect, meta_ser):
    a = await connect("realm1", meta_ser)
    b = await connect("realm1", meta_ser)
    info = await bounded(a.call("wamp.session.get", b.id))
    assert info["session"] == b.id
    assert info["authid"] == b.details.authid
    assert info["authrole"] == "anonymous"
    assert info["authmethod"] == "anonymous"
    assert info["realm"] == "realm1"
    with pytest.raises(ApplicationError) as exc:
        await bounded(a.call("wamp.session.get", UNKNOWN_ID))
    assert exc.value.error == "wamp.error.no_such_session"


async def test_session_kill(connect, meta_ser):
    a = await connect("realm1", meta_ser)
    victim = await connect("realm1", meta_ser)
    inbox = await watch(a, "wamp.session.on_leave")
    victim_id = victim.id  # autobahn forgets its session id once it has left
    await bounded(a.call("wamp.session.kill", victim_id, reason="com.example.kicked", message="bye"))
    details = await bounded(victim.left)
    assert details.reason == "com.example.kicked"
    assert details.message == "bye"
    assert await next_for(inbox, victim_id) == ("on_leave", [victim_id])
    with pytest.raises(ApplicationError) as exc:
        await bounded(a.call("wamp.session.kill", UNKNOWN_ID))
    assert exc.value.error == "wamp.error.no_such_session"


# --- wamp.registration.* -----------------------------------------------------

REG_EVENTS = ["wamp.registration." + e for e in ("on_create", "on_register", "on_unregister", "on_delete")]
SUB_EVENTS = ["wamp.subscription." + e for e in ("on_create", "on_subscribe", "on_unsubscribe", "on_delete")]


async def test_registration_lifecycle_events(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, *REG_EVENTS)
    first = await connect("realm1", meta_ser)
    second = await connect("realm1", meta_ser)
    proc = uri("meta")
    opts = RegisterOptions(invoke="roundrobin")
    reg1 = await bounded(first.register(lambda: 1, proc, options=opts))

    kind, args = await next_for(inbox, first.id)
    assert kind == "on_create"
    assert args[1]["id"] == reg1.id
    assert args[1]["uri"] == proc
    assert args[1]["match"] == "exact"
    assert args[1]["invoke"] == "roundrobin"
    assert isinstance(args[1]["created"], str)
    assert await next_for(inbox, first.id) == ("on_register", [first.id, reg1.id])

    reg2 = await bounded(second.register(lambda: 2, proc, options=opts))
    assert reg2.id == reg1.id  # shared registration: same registration id
    assert await next_for(inbox, second.id) == ("on_register", [second.id, reg1.id])  # no on_create

    await bounded(reg2.unregister())
    assert await next_for(inbox, second.id) == ("on_unregister", [second.id, reg1.id])  # not deleted yet
    await bounded(reg1.unregister())
    assert await next_for(inbox, first.id) == ("on_unregister", [first.id, reg1.id])
    assert await next_for(inbox, first.id) == ("on_delete", [first.id, reg1.id])
    await inbox.nothing(0.3)


async def test_registration_events_on_callee_leave(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, *REG_EVENTS)
    callee = await connect("realm1", meta_ser)
    reg = await bounded(callee.register(lambda: 1, uri("leaving")))
    callee_id = callee.id
    assert (await next_for(inbox, callee_id))[0] == "on_create"
    assert (await next_for(inbox, callee_id))[0] == "on_register"
    await callee.close()
    assert await next_detach(inbox, callee_id, reg.id) == "on_unregister"
    assert await next_detach(inbox, callee_id, reg.id) == "on_delete"


async def test_registration_queries(connect, meta_ser):
    q = await connect("realm1", meta_ser)
    callee = await connect("realm1", meta_ser)
    base = uri("q")
    exact = await bounded(callee.register(lambda: 0, base + ".exact"))
    prefix = await bounded(callee.register(lambda: 0, base + ".pfx", options=RegisterOptions(match="prefix")))
    wild = await bounded(callee.register(lambda: 0, base + "..wc", options=RegisterOptions(match="wildcard")))

    lists = await bounded(q.call("wamp.registration.list"))
    assert set(lists) == {"exact", "prefix", "wildcard"}
    assert exact.id in lists["exact"]
    assert prefix.id in lists["prefix"]
    assert wild.id in lists["wildcard"]

    assert await bounded(q.call("wamp.registration.lookup", base + ".exact")) == exact.id
    assert await bounded(q.call("wamp.registration.lookup", base + ".pfx", {"match": "prefix"})) == prefix.id
    assert await bounded(q.call("wamp.registration.lookup", base + "..wc", {"match": "wildcard"})) == wild.id
    assert await bounded(q.call("wamp.registration.lookup", base + ".pfx")) is None
    assert await bounded(q.call("wamp.registration.lookup", base + ".nothing")) is None

    assert await bounded(q.call("wamp.registration.match", base + ".exact")) == exact.id
    assert await bounded(q.call("wamp.registration.match", base + ".pfx.deeper")) == prefix.id
    assert await bounded(q.call("wamp.registration.match", base + ".x.wc")) == wild.id
    assert await bounded(q.call("wamp.registration.match", base + ".nothing")) is None

    info = await bounded(q.call("wamp.registration.get", prefix.id))
    assert info["id"] == prefix.id
    assert info["uri"] == base + ".pfx"
    assert info["match"] == "prefix"
    assert info["invoke"] == "single"
    assert isinstance(info["created"], str)

    assert await bounded(q.call("wamp.registration.list_callees", exact.id)) == [callee.id]
    assert await bounded(q.call("wamp.registration.count_callees", exact.id)) == 1

    for proc in ("get", "list_callees", "count_callees"):
        with pytest.raises(ApplicationError) as exc:
            await bounded(q.call("wamp.registration." + proc, UNKNOWN_ID))
        assert exc.value.error == "wamp.error.no_such_registration"


async def test_registration_list_callees_shared(connect, meta_ser):
    q = await connect("realm1", meta_ser)
    a = await connect("realm1", meta_ser)
    b = await connect("realm1", meta_ser)
    proc = uri("shared")
    reg = await bounded(a.register(lambda: 0, proc, options=RegisterOptions(invoke="first")))
    await bounded(b.register(lambda: 0, proc, options=RegisterOptions(invoke="first")))
    assert sorted(await bounded(q.call("wamp.registration.list_callees", reg.id))) == sorted([a.id, b.id])
    assert await bounded(q.call("wamp.registration.count_callees", reg.id)) == 2


# --- wamp.subscription.* -----------------------------------------------------

async def test_subscription_lifecycle_events(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, *SUB_EVENTS)
    first = await connect("realm1", meta_ser)
    second = await connect("realm1", meta_ser)
    t = uri("meta")
    sub1 = await bounded(first.subscribe(lambda *a: None, t, options=SubscribeOptions(match="prefix")))

    kind, args = await next_for(inbox, first.id)
    assert kind == "on_create"
    assert args[1]["id"] == sub1.id
    assert args[1]["uri"] == t
    assert args[1]["match"] == "prefix"
    assert isinstance(args[1]["created"], str)
    assert await next_for(inbox, first.id) == ("on_subscribe", [first.id, sub1.id])

    sub2 = await bounded(second.subscribe(lambda *a: None, t, options=SubscribeOptions(match="prefix")))
    assert sub2.id == sub1.id
    assert await next_for(inbox, second.id) == ("on_subscribe", [second.id, sub1.id])

    await bounded(sub2.unsubscribe())
    assert await next_for(inbox, second.id) == ("on_unsubscribe", [second.id, sub1.id])
    await bounded(sub1.unsubscribe())
    assert await next_for(inbox, first.id) == ("on_unsubscribe", [first.id, sub1.id])
    assert await next_for(inbox, first.id) == ("on_delete", [first.id, sub1.id])


async def test_subscription_events_on_subscriber_leave(connect, meta_ser):
    observer = await connect("realm1", meta_ser)
    inbox = await watch(observer, *SUB_EVENTS)
    s = await connect("realm1", meta_ser)
    sub = await bounded(s.subscribe(lambda *a: None, uri("leaving")))
    sid = s.id
    assert (await next_for(inbox, sid))[0] == "on_create"
    assert (await next_for(inbox, sid))[0] == "on_subscribe"
    await s.close()
    assert await next_detach(inbox, sid, sub.id) == "on_unsubscribe"
    assert await next_detach(inbox, sid, sub.id) == "on_delete"


async def test_subscription_queries(connect, meta_ser):
    q = await connect("realm1", meta_ser)
    s = await connect("realm1", meta_ser)
    s2 = await connect("realm1", meta_ser)
    base = uri("q")
    exact = await bounded(s.subscribe(lambda *a: None, base + ".exact"))
    await bounded(s2.subscribe(lambda *a: None, base + ".exact"))
    prefix = await bounded(s.subscribe(lambda *a: None, base, options=SubscribeOptions(match="prefix")))
    wild = await bounded(s.subscribe(lambda *a: None, base + "..wc", options=SubscribeOptions(match="wildcard")))

    lists = await bounded(q.call("wamp.subscription.list"))
    assert set(lists) == {"exact", "prefix", "wildcard"}
    assert exact.id in lists["exact"]
    assert prefix.id in lists["prefix"]
    # Crossbar 26.10.1 always returns [] for "wildcard" here (FIXME in service.py); only the type is checked.
    assert isinstance(lists["wildcard"], list)

    assert await bounded(q.call("wamp.subscription.lookup", base + ".exact")) == exact.id
    assert await bounded(q.call("wamp.subscription.lookup", base, {"match": "prefix"})) == prefix.id
    assert await bounded(q.call("wamp.subscription.lookup", base + "..wc", {"match": "wildcard"})) == wild.id
    assert await bounded(q.call("wamp.subscription.lookup", base + ".nothing")) is None

    matched = await bounded(q.call("wamp.subscription.match", base + ".exact"))
    assert sorted(matched) == sorted([exact.id, prefix.id])
    assert sorted(await bounded(q.call("wamp.subscription.match", base + ".x.wc"))) == sorted([prefix.id, wild.id])
    assert await bounded(q.call("wamp.subscription.match", "com.example.nomatch." + uuid.uuid4().hex)) is None

    info = await bounded(q.call("wamp.subscription.get", exact.id))
    assert info["id"] == exact.id
    assert info["uri"] == base + ".exact"
    assert info["match"] == "exact"
    assert isinstance(info["created"], str)
    assert "invoke" not in info

    assert sorted(await bounded(q.call("wamp.subscription.list_subscribers", exact.id))) == sorted([s.id, s2.id])
    assert await bounded(q.call("wamp.subscription.count_subscribers", exact.id)) == 2
    assert await bounded(q.call("wamp.subscription.count_subscribers", prefix.id)) == 1

    for proc in ("get", "list_subscribers", "count_subscribers"):
        with pytest.raises(ApplicationError) as exc:
            await bounded(q.call("wamp.subscription." + proc, UNKNOWN_ID))
        assert exc.value.error == "wamp.error.no_such_subscription"


async def test_meta_is_per_realm(connect, meta_ser):
    observer = await connect("realm2", meta_ser)
    inbox = await watch(observer, "wamp.session.on_join", *REG_EVENTS)
    other = await connect("realm1", meta_ser)
    await bounded(other.register(lambda: 0, uri("elsewhere")))
    await inbox.nothing(0.5)

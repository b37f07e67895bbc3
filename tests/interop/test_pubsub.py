"""Broker: SUBSCRIBE / PUBLISH / EVENT, matching, exclusion and black/white listing."""

import uuid

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.request import Publication
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from wampclient import Inbox, bounded
from test_rpc import PAYLOAD_ARGS, PAYLOAD_KWARGS


def topic(name):
    return f"com.example.t{uuid.uuid4().hex[:10]}.{name}"


async def subscribe(session, uri, match="exact"):
    """Subscribe with details; every event lands in the returned Inbox as (args, kwargs, details)."""
    inbox = Inbox()

    def on_event(*args, details=None, **kwargs):
        inbox.put((list(args), kwargs, details))

    sub = await bounded(session.subscribe(on_event, uri, options=SubscribeOptions(match=match, details=True)))
    return inbox, sub


async def ack(session, uri, *args, **kwargs):
    """Publish acknowledged, so the event is on its way once this returns."""
    opts = kwargs.pop("options", None) or PublishOptions()
    opts.acknowledge = True
    return await bounded(session.publish(uri, *args, options=opts, **kwargs))


async def test_publish_subscribe_payload(connect, ser):
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    t = topic("payload")
    inbox, _ = await subscribe(sub_s, t)
    await ack(pub_s, t, *PAYLOAD_ARGS, **PAYLOAD_KWARGS)
    args, kwargs, details = await inbox.get()
    assert args == PAYLOAD_ARGS
    assert kwargs == PAYLOAD_KWARGS
    assert details.topic is None or details.topic == t


@pytest.mark.parametrize("pub_ser", ["json", "msgpack", "cbor.batched"])
async def test_event_fanout_across_serializers(connect, pub_ser):
    t = topic("fanout")
    inboxes = []
    for s in ["json", "json.batched", "msgpack", "msgpack.batched", "cbor", "cbor.batched"]:
        session = await connect("realm1", s)
        inboxes.append((await subscribe(session, t))[0])
    pub_s = await connect("realm1", pub_ser)
    await ack(pub_s, t, b"\x00\xff", "ü", n=1)
    for inbox in inboxes:
        args, kwargs, _ = await inbox.get()
        assert args == [b"\x00\xff", "ü"] and kwargs == {"n": 1}


async def test_acknowledged_publish_returns_publication(connect, ser):
    pub_s = await connect("realm1", ser)
    pub = await ack(pub_s, topic("ack"), 1)
    assert isinstance(pub, Publication)
    assert isinstance(pub.id, int) and 1 <= pub.id <= 2**53
    assert pub_s.publish(topic("noack"), 1) is None  # unacknowledged: nothing to wait for


async def test_prefix_subscription(connect, ser):
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    base = topic("pfx")
    inbox, _ = await subscribe(sub_s, base, match="prefix")
    await ack(pub_s, base + ".a.b", 1)
    await ack(pub_s, base, 2)
    await ack(pub_s, base + "x", 3)  # string prefix match, as in Crossbar
    got = await inbox.get_many(3)
    assert [(a, d.topic) for a, _, d in got] == [([1], base + ".a.b"), ([2], base), ([3], base + "x")]


async def test_wildcard_subscription(connect, ser):
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    base = topic("wc")
    inbox, _ = await subscribe(sub_s, base + "..op", match="wildcard")
    await ack(pub_s, base + ".x.y.op", 0)  # too many components: no match
    await ack(pub_s, base + ".x.op", 1)
    args, _, details = await inbox.get()
    assert args == [1] and details.topic == base + ".x.op"
    await inbox.nothing(0.3)


async def test_one_event_per_matching_subscription(connect, ser):
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    base = topic("multi")
    exact, _ = await subscribe(sub_s, base + ".a")
    prefix, _ = await subscribe(sub_s, base, match="prefix")
    wildcard, _ = await subscribe(sub_s, base + ".", match="wildcard")
    await ack(pub_s, base + ".a", "x")
    for inbox in (exact, prefix, wildcard):
        assert (await inbox.get())[0] == ["x"]


async def test_unsubscribe(connect, ser):
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    t = topic("unsub")
    inbox, sub = await subscribe(sub_s, t)
    await ack(pub_s, t, 1)
    assert (await inbox.get())[0] == [1]
    await bounded(sub.unsubscribe())
    await ack(pub_s, t, 2)
    await inbox.nothing(0.3)


async def test_exclude_me_default_and_false(connect, ser):
    s = await connect("realm1", ser)
    t = topic("self")
    inbox, _ = await subscribe(s, t)
    await ack(s, t, "default")
    await inbox.nothing(0.3)
    await ack(s, t, "included", options=PublishOptions(exclude_me=False))
    assert (await inbox.get())[0] == ["included"]


async def _three_subscribers(connect, ser, t):
    sessions, inboxes = [], []
    for _ in range(3):
        s = await connect("realm1", ser)
        sessions.append(s)
        inboxes.append((await subscribe(s, t))[0])
    return sessions, inboxes


async def _publish_and_collect(connect, ser, make_options):
    t = topic("bwl")
    sessions, inboxes = await _three_subscribers(connect, ser, t)
    pub_s = await connect("realm1", ser)
    await ack(pub_s, t, "m", options=make_options(sessions))
    # a sentinel to everyone proves delivery order: whoever got the sentinel first would have
    # got the black/white-listed event before it
    await ack(pub_s, t, "sentinel")
    got = []
    for i, inbox in enumerate(inboxes):
        first = await inbox.get()
        if first[0] == ["m"]:
            got.append(i)
            assert (await inbox.get())[0] == ["sentinel"]
        else:
            assert first[0] == ["sentinel"]
    return got


async def test_eligible_session(connect, ser):
    got = await _publish_and_collect(connect, ser, lambda ss: PublishOptions(eligible=[ss[0].id, ss[2].id]))
    assert got == [0, 2]


async def test_exclude_session(connect, ser):
    got = await _publish_and_collect(connect, ser, lambda ss: PublishOptions(exclude=[ss[1].id]))
    assert got == [0, 2]


async def test_eligible_and_exclude_session(connect, ser):
    got = await _publish_and_collect(
        connect, ser, lambda ss: PublishOptions(eligible=[ss[0].id, ss[1].id], exclude=[ss[1].id])
    )
    assert got == [0]


async def test_eligible_authid(connect, ser):
    def opts(ss):
        assert len({s.details.authid for s in ss}) == 3, "anonymous authids must be unique per session"
        return PublishOptions(eligible_authid=[ss[1].details.authid])

    assert await _publish_and_collect(connect, ser, opts) == [1]


async def test_exclude_authid(connect, ser):
    got = await _publish_and_collect(connect, ser, lambda ss: PublishOptions(exclude_authid=[ss[1].details.authid]))
    assert got == [0, 2]


async def test_eligible_authrole(connect, ser):
    assert await _publish_and_collect(connect, ser, lambda ss: PublishOptions(eligible_authrole=["anonymous"])) \
        == [0, 1, 2]
    assert await _publish_and_collect(connect, ser, lambda ss: PublishOptions(eligible_authrole=["nobody"])) == []


async def test_exclude_authrole(connect, ser):
    assert await _publish_and_collect(connect, ser, lambda ss: PublishOptions(exclude_authrole=["anonymous"])) == []
    assert await _publish_and_collect(connect, ser, lambda ss: PublishOptions(exclude_authrole=["nobody"])) \
        == [0, 1, 2]


async def test_publisher_disclosure(connect, ser):
    """The anonymous role allows publisher disclosure: event details carry publisher id/authid/authrole."""
    sub_s = await connect("realm1", ser)
    pub_s = await connect("realm1", ser)
    t = topic("disclose")
    inbox, _ = await subscribe(sub_s, t)
    pub = await ack(pub_s, t, 1)
    _, _, details = await inbox.get()
    assert details.publisher == pub_s.id
    assert details.publisher_authid == pub_s.details.authid
    assert details.publisher_authrole == "anonymous"
    assert details.publication == pub.id


async def test_realms_are_isolated(connect, ser):
    s1 = await connect("realm1", ser)
    s2 = await connect("realm2", ser)
    t = topic("iso")
    in1, _ = await subscribe(s1, t)
    in2, _ = await subscribe(s2, t)
    pub1 = await connect("realm1", ser)
    await ack(pub1, t, "for realm1")
    assert (await in1.get())[0] == ["for realm1"]
    await in2.nothing(0.3)
    # and RPC: a procedure registered on realm2 is not callable from realm1
    await bounded(s2.register(lambda: "realm2", t))
    with pytest.raises(ApplicationError) as exc:
        await bounded(pub1.call(t))
    assert exc.value.error == "wamp.error.no_such_procedure"

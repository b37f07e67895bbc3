"""Session establishment: HELLO -> WELCOME / ABORT."""

import pytest

from wampclient import Aborted, join

WELCOME = 2

BROKER_FEATURES = [
    "publisher_exclusion",
    "subscriber_blackwhite_listing",
    "publisher_identification",
    "pattern_based_subscription",
    "session_meta_api",
    "subscription_meta_api",
]
DEALER_FEATURES = [
    "progressive_call_results",
    "call_canceling",
    "caller_identification",
    "pattern_based_registration",
    "shared_registration",
    "session_meta_api",
    "registration_meta_api",
]


async def test_welcome_details(connect, ser):
    s = await connect("realm1", ser)
    d = s.details
    assert d.realm == "realm1"
    assert d.authrole == "anonymous"
    assert d.authmethod == "anonymous"
    assert isinstance(d.session, int) and 1 <= d.session <= 2**53
    assert isinstance(d.authid, str) and d.authid
    assert d.serializer == ser  # the negotiated WebSocket subprotocol suffix

    welcomes = s.raw(WELCOME)
    assert len(welcomes) == 1
    _, session_id, details = welcomes[0]
    assert session_id == d.session
    assert details["realm"] == "realm1"
    assert details["authrole"] == "anonymous"
    assert details["authmethod"] == "anonymous"
    assert details["authprovider"] == "static"


async def test_welcome_roles_features(connect, ser, target):
    s = await connect("realm1", ser)
    roles = s.raw(WELCOME)[0][2]["roles"]
    assert set(roles) >= {"broker", "dealer"}
    broker = roles["broker"]["features"]
    dealer = roles["dealer"]["features"]
    for feature in BROKER_FEATURES:
        assert broker.get(feature) is True, f"broker feature {feature} not advertised"
    for feature in DEALER_FEATURES:
        assert dealer.get(feature) is True, f"dealer feature {feature} not advertised"
    if target == "mrealm":
        # Crossbar 26.10.1 implements call timeouts but does not advertise the feature;
        # mrealm is expected to advertise it.
        assert dealer.get("call_timeout") is True


async def test_two_sessions_get_distinct_ids(connect, ser):
    a = await connect("realm1", ser)
    b = await connect("realm1", ser)
    assert a.id != b.id


async def test_join_second_realm(connect, ser):
    s = await connect("realm2", ser)
    assert s.details.realm == "realm2"


async def test_unknown_realm_aborts(router, ser):
    with pytest.raises(Aborted) as exc:
        await join(router.url, "no.such.realm", ser)
    assert exc.value.reason == "wamp.error.no_such_realm"


async def test_leave_and_rejoin(connect, ser):
    s = await connect("realm1", ser)
    await s.close()
    assert s.closed.done()
    again = await connect("realm1", ser)
    assert again.id != s.id

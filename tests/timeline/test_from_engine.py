"""Timelines from the engine's events: following an in-process pair step by step, a transport listener, a
plain event list, and a connection that fails on an altered record."""
from __future__ import annotations

import pytest

from workbench.tls import Connection, errors
from workbench.tls.enums import AlertDescription
from workbench.timeline import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, AlertMark, EngineEventListener, PairFollower,
                                TimelineBuilder, timeline_from_events, timeline_from_pair)
from workbench.timeline.model import SEEN_BY_CLIENT, SEEN_BY_SERVER

from .conftest import run_session


def test_follower_appends_as_the_pair_steps(make_pair):
    pair, _ = make_pair()
    follower = PairFollower(pair)
    assert follower.update() == 0 and len(follower.timeline) == 0
    pair.start_handshake()
    follower.update()
    assert len(follower.timeline) == 1            # the ClientHello, sent, not yet delivered
    hello = follower.timeline.record(0)
    assert hello.observers == SEEN_BY_CLIENT and hello.handshake_types == (1,)
    revision = follower.timeline.revision
    pair.step()
    assert follower.update() == 1
    assert hello.observers == SEEN_BY_CLIENT | SEEN_BY_SERVER      # the server received the same record
    assert follower.timeline.revision > revision
    assert len(follower.timeline) > 1             # and answered with its flight
    seen = len(follower.timeline)
    assert follower.update() == 0 and len(follower.timeline) == seen
    pair.run_until_quiet()
    follower.update()
    assert follower.timeline.connection(0).established
    assert [r.index for r in follower.timeline] == list(range(len(follower.timeline)))


def test_keep_raw_keeps_the_wire_bytes_of_each_record(make_pair):
    pair, tap = make_pair()
    run_session(pair)
    timeline = timeline_from_pair(pair, keep_raw=True)
    wire = [chunk.data for chunk in tap.chunks]
    assert [r.raw for r in timeline] == wire
    assert all(len(r.raw) == 5 + r.length and r.raw[0] == r.outer_type for r in timeline)


def test_flights_group_consecutive_records_of_one_direction(make_pair):
    pair, _ = make_pair({"compatibility_mode": True})
    run_session(pair, server_data=b"y" * 40000)
    timeline = timeline_from_pair(pair)
    conn = timeline.connection(0)
    flights = conn.flights
    assert [f.direction for f in flights][:3] == [CLIENT_TO_SERVER, SERVER_TO_CLIENT, CLIENT_TO_SERVER]
    for a, b in zip(flights, flights[1:]):
        assert a.direction != b.direction
    assert sum(f.count for f in flights) == len(conn)
    # ServerHello, change_cipher_spec and the encrypted flight are one flight
    assert [timeline.record(i).outer_type for i in flights[1].records] == [22, 20, 23]
    data = [f for f in flights[2:] if f.direction == SERVER_TO_CLIENT and f.count == 3]
    assert data and all(timeline.record(i).inner_type == 23 for i in data[0].records)
    assert all(timeline.record(i).flight == f.index for f in flights for i in f.records)


def test_secrets_and_key_installs_of_both_sides(make_pair):
    pair, _ = make_pair()
    run_session(pair)
    conn = timeline_from_pair(pair).connection(0)
    names = [s.name for s in conn.secrets]
    for name in ("early secret", "handshake secret", "c hs traffic", "s hs traffic", "master secret",
                 "c ap traffic", "s ap traffic", "res master"):
        assert name in names
        assert set(conn.secret(name).derived_by) == {"client", "server"}
    assert conn.secret("c hs traffic").derived_from[0] == "handshake secret"
    installs = {(i.role, i.usage, i.epoch): i for i in conn.key_installs}
    assert installs[("client", "write", "handshake")].direction == CLIENT_TO_SERVER
    assert installs[("client", "read", "handshake")].direction == SERVER_TO_CLIENT
    assert installs[("server", "write", "application-0")].secret == "s ap traffic"
    assert {(i.role, i.usage) for i in conn.installed_where("c hs traffic")} == {("client", "write"),
                                                                                 ("server", "read")}
    span = conn.epochs[(SERVER_TO_CLIENT, "application-0")]
    assert {i.role for i in span.installed} == {"client", "server"} and span.cipher_suite == 0x1301


def test_listener_stamps_events_with_its_clock(make_pair):
    client = Connection(make_pair()[0].client.config)
    builder = TimelineBuilder()
    ticks = iter(range(100, 200))
    listener = EngineEventListener(builder, "c1", "client", clock=lambda: float(next(ticks)))
    client.start_handshake()
    for event in client.events():
        listener(event)
    (hello,) = builder.timeline.records()
    assert hello.connection == "c1" and hello.time == 101.0 and hello.handshake_types == (1,)


def test_timeline_from_a_list_of_events(make_pair):
    pair, _ = make_pair()
    run_session(pair)
    events = [e for entry in pair.history for e in entry.events_of("server")]
    timeline = timeline_from_events(events, "server", conn_id="srv")
    assert list(timeline.connections) == ["srv"]
    assert len(timeline) == len(timeline_from_pair(pair, sides=("server",)))
    assert all(r.time is None for r in timeline)


def test_a_record_altered_in_flight(make_pair):
    pair, tap = make_pair()
    pair.start_handshake()
    pair.step()                                       # ClientHello
    pair.step()                                       # ServerHello
    flipped = pair.step(modify=lambda record: record[:-1] + bytes([record[-1] ^ 1]))   # the encrypted flight
    assert isinstance(flipped.error, errors.ProtocolError)
    pair.run_until_quiet()                            # the client's alert reaches the server
    timeline = timeline_from_pair(pair)
    records = timeline.records()
    altered = records[2]
    assert altered.direction == SERVER_TO_CLIENT and altered.epoch == "handshake"
    assert altered.observers == SEEN_BY_SERVER       # the client never accepted it
    alert = records[3]
    assert alert.direction == CLIENT_TO_SERVER and alert.observers == SEEN_BY_CLIENT | SEEN_BY_SERVER
    (mark,) = [m for m in alert.marks if isinstance(m, AlertMark)]
    assert mark.description == AlertDescription.bad_record_mac and mark.reason
    conn = timeline.connection(0)
    assert conn.closed and not conn.established
    assert {e.role for e in conn.events if e.kind == "closed"} == {"client", "server"}
    # the client's own view knows nothing of the altered record
    client_view = timeline_from_pair(pair, sides=("client",))
    assert [r.direction for r in client_view] == [CLIENT_TO_SERVER, SERVER_TO_CLIENT, CLIENT_TO_SERVER]


def test_follower_rejects_unknown_sides(make_pair):
    pair, _ = make_pair()
    with pytest.raises(ValueError):
        PairFollower(pair, sides=("client", "middlebox"))

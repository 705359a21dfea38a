"""The reason the timeline exists: one story whoever tells it.

Our client and our server run in process; the tap records every byte that crosses. Three timelines are built:
from the client's engine events, from the server's, and from a pcapng of the tapped bytes (with the client's
key log in a Decryption Secrets Block) decoded by workbench.capture. They must agree, direction by direction,
on every record: outer and inner content type, handshake messages, epoch, sequence number, length. A fourth
timeline fed by all three observers must hold each record once, seen by all three.
"""
from __future__ import annotations

import pytest

from workbench.tls.enums import NamedGroup
from workbench.timeline import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, TimelineBuilder, timeline_from_capture,
                                timeline_from_pair)
from workbench.timeline.from_capture import add_replay
from workbench.timeline.from_engine import PairFollower
from workbench.timeline.model import SEEN_BY_CLIENT, SEEN_BY_SERVER, SEEN_IN_CAPTURE

from .conftest import run_session
from .tap_capture import write_tap_pcapng

SCENARIOS = {
    "default": ({}, {}),
    "compatibility-mode": ({"compatibility_mode": True}, {}),
    "hello-retry": ({"supported_groups": (NamedGroup.X25519, NamedGroup.SECP256R1),
                     "key_share_groups": (NamedGroup.SECP256R1,), "compatibility_mode": True},
                    {"supported_groups": (NamedGroup.X25519, NamedGroup.SECP256R1)}),
    # the server's flight is cut into dozens of padded 64-byte records: messages straddle records
    "small-records-padded": ({"record_size_limit": 64, "padding": lambda ctype, n: 5},
                             {"record_size_limit": 64, "padding": 11}),
}


def by_direction(timeline, conn_id=None):
    conn_id = next(iter(timeline.connections)) if conn_id is None else conn_id
    out = {CLIENT_TO_SERVER: [], SERVER_TO_CLIENT: []}
    for r in timeline.records(connection=conn_id):
        out[r.direction].append((r.outer_type, r.inner_type, r.handshake_types, r.epoch, r.sequence, r.length))
    return out


def _session(make_pair, tmp_path, client_kw, server_kw):
    pair, tap = make_pair(client_kw, server_kw)
    run_session(pair)
    capture = tmp_path / "session.pcapng"
    write_tap_pcapng(capture, tap.chunks, pair.client.key_log_lines())
    return pair, capture


def assert_three_views_agree(pair, capture):
    from_client = timeline_from_pair(pair, sides=("client",))
    from_server = timeline_from_pair(pair, sides=("server",))
    from_capture = timeline_from_capture(capture)

    expected = by_direction(from_client)
    assert len(expected[CLIENT_TO_SERVER]) >= 4 and len(expected[SERVER_TO_CLIENT]) >= 4
    assert by_direction(from_server) == expected
    assert by_direction(from_capture) == expected
    # every protected record was decrypted from the capture's key log
    assert all(r.decrypted for r in from_capture if r.protected)
    # the handshake messages and their bytes are the same whoever reported them
    def messages(timeline):
        return {d: [m.raw for m in timeline.messages if m.direction == d] for d in (CLIENT_TO_SERVER,
                                                                                   SERVER_TO_CLIENT)}
    assert messages(from_client) == messages(from_server) == messages(from_capture)
    # epochs: the same spans (records per direction and epoch) everywhere
    def spans(timeline):
        conn = next(iter(timeline.connections.values()))
        return {key: span.count for key, span in conn.epochs.items() if span.count}
    assert spans(from_client) == spans(from_server) == spans(from_capture)
    return from_client, from_server, from_capture


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_client_server_and_capture_timelines_agree(make_pair, tmp_path, scenario):
    client_kw, server_kw = SCENARIOS[scenario]
    pair, capture = _session(make_pair, tmp_path, client_kw, server_kw)
    assert_three_views_agree(pair, capture)


def test_client_authentication_and_alpn_agree_too(make_pair, tmp_path, test_ca, client_identity):
    pair, capture = _session(
        make_pair, tmp_path,
        {"certificate_chain": client_identity.certificate_chain, "private_key": client_identity.private_key,
         "alpn_protocols": (b"h2", b"http/1.1")},
        {"request_client_certificate": True, "require_client_certificate": True,
         "client_trust_anchors": (test_ca.certificate,), "alpn_protocols": (b"h2",)})
    views = assert_three_views_agree(pair, capture)
    for timeline in views:
        conn = next(iter(timeline.connections.values()))
        assert conn.alpn == b"h2"
        client_flight = [r.handshake_types for r in timeline if r.direction == CLIENT_TO_SERVER and r.protected
                         and r.handshake_types]
        assert client_flight == [(11, 15, 20)]      # Certificate, CertificateVerify, Finished


@pytest.mark.parametrize("scenario", ["default", "hello-retry"], ids=str)
def test_one_builder_fed_by_both_engines_and_the_capture_keeps_each_record_once(make_pair, tmp_path, scenario):
    client_kw, server_kw = SCENARIOS[scenario]
    pair, capture = _session(make_pair, tmp_path, client_kw, server_kw)
    from workbench.capture import replay

    decoded = replay(capture)
    records = list(decoded)
    conn_id = records[0].connection
    builder = TimelineBuilder()
    PairFollower(pair, builder, conn_id=conn_id).update()
    engines_only = len(builder.timeline)

    class _Again:                      # the records already decoded, with the same replay's summaries
        connections = decoded.connections
        keylog = decoded.keylog

        def __iter__(self):
            return iter(records)

    add_replay(builder, _Again())
    timeline = builder.timeline
    assert len(timeline) == engines_only == len(records)
    everyone = SEEN_BY_CLIENT | SEEN_BY_SERVER | SEEN_IN_CAPTURE
    assert [r.index for r in timeline if r.observers != everyone] == []
    assert all(r.frame is not None for r in timeline)
    conn = timeline.connection(conn_id)
    assert conn.seen_by == ("client", "server", "capture")
    # each handshake message once, though three observers reported it
    assert len(timeline.messages) == sum(len(r.handshake) for r in records)
    # the key log's secrets are the engines' secrets, under the same names
    for secret in conn.secrets:
        if secret.keylog_label:
            assert "key log" in secret.derived_by and {"client", "server"} <= set(secret.derived_by), secret.name


def test_hello_retry_is_marked_alike_from_engine_and_capture(make_pair, tmp_path):
    client_kw, server_kw = SCENARIOS["hello-retry"]
    pair, capture = _session(make_pair, tmp_path, client_kw, server_kw)
    tickets_seen = []
    for timeline in (timeline_from_pair(pair), timeline_from_capture(capture)):
        conn = next(iter(timeline.connections.values()))
        assert conn.hello_retry
        hrr = [m for m in timeline.messages if m.hello_retry]
        assert len(hrr) == 1 and hrr[0].direction == SERVER_TO_CLIENT
        assert [e.kind for e in conn.events if e.kind == "hello_retry"] == ["hello_retry"]
        assert conn.client_random is not None
        tickets_seen.append(len(conn.tickets))
    # the tickets issued after the handshake show up alike from the engines and the capture
    assert tickets_seen[0] == tickets_seen[1]


def test_capture_secrets_match_the_engine_secrets(make_pair, tmp_path):
    pair, capture = _session(make_pair, tmp_path, {}, {})
    engine = next(iter(timeline_from_pair(pair).connections.values()))
    captured = next(iter(timeline_from_capture(capture).connections.values()))
    labelled = {s.keylog_label: s.value for s in engine.secrets if s.keylog_label}
    assert labelled == {s.keylog_label: s.value for s in captured.secrets}
    for conn in (engine, captured):
        named = {(span.direction, span.label): span.secret for span in conn.epochs.values()}
        assert named[(CLIENT_TO_SERVER, "handshake")] == "c hs traffic"
        assert named[(SERVER_TO_CLIENT, "application-0")] == "s ap traffic"
        assert named[(CLIENT_TO_SERVER, "plaintext")] is None

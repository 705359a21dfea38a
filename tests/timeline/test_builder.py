"""The builder on hand-made event streams: records merged across observers, messages placed in the record that
completes them, KeyUpdate epochs, unknown events, and the size of a 100,000-record timeline."""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import ClassVar

from workbench.tls import events as ev
from workbench.tls.messages import EncryptedExtensions, Finished, KeyUpdate, encode_handshake
from workbench.timeline import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, EventMark, KeyUpdateMark, TimelineBuilder,
                                traffic_secret_name)
from workbench.timeline.model import SEEN_BY_CLIENT, SEEN_BY_SERVER

AES128 = 0x1301
TAG = 16


def _feed(builder, role, events, conn_id=0, time=None):
    for event in events:
        builder.add_engine_event(conn_id, role, event, time)


def test_records_a_receiver_skipped_stay_seen_by_the_sender_only():
    builder = TimelineBuilder()
    _feed(builder, "client", [
        ev.RecordSent(22, None, 200, "plaintext", 0),
        ev.RecordSent(23, 23, 50, "early", 0),
        ev.RecordSent(23, 23, 51, "early", 1),
        ev.RecordSent(23, 22, 60, "handshake", 0),
    ])
    _feed(builder, "server", [
        ev.RecordReceived(22, None, 200, "plaintext", 0),
        ev.RecordReceived(23, 22, 60, "handshake", 0),        # the 0-RTT records were skipped
        ev.RecordReceived(23, 23, 70, "application-0", 0),    # nobody else reported this one
    ])
    records = builder.timeline.records()
    assert [r.observers for r in records] == [3, SEEN_BY_CLIENT, SEEN_BY_CLIENT, 3, SEEN_BY_SERVER]
    assert [r.epoch for r in records] == ["plaintext", "early", "early", "handshake", "application-0"]
    assert [r.sequence for r in records] == [0, 0, 1, 0, 0]
    assert builder.timeline.connection(0).epochs[(CLIENT_TO_SERVER, "early")].count == 2


def test_sequence_numbers_tell_apart_records_of_the_same_size():
    builder = TimelineBuilder()
    _feed(builder, "client", [ev.RecordSent(23, 23, 40, "application-0", n) for n in range(3)])
    _feed(builder, "server", [ev.RecordReceived(23, 23, 40, "application-0", 2)])
    assert [r.observers for r in builder.timeline] == [SEEN_BY_CLIENT, SEEN_BY_CLIENT, 3]


def test_sent_messages_land_in_the_record_that_completes_them():
    ee = encode_handshake(EncryptedExtensions(()))
    fin = encode_handshake(Finished(b"\x11" * 32))
    builder = TimelineBuilder()
    limit = 20                                         # content bytes per record, as record_size_limit would
    flight = ee + fin
    chunks = [flight[i:i + limit] for i in range(0, len(flight), limit)]
    events = [ev.KeysInstalled("write", "handshake", AES128, 0),
              ev.HandshakeMessageSent(None, ee, "handshake"), ev.HandshakeMessageSent(None, fin, "handshake")]
    padding = 9                                        # the last record is padded
    for n, chunk in enumerate(chunks):
        pad = padding if n == len(chunks) - 1 else 0
        events.append(ev.RecordSent(23, 22, len(chunk) + pad + 1 + TAG, "handshake", n))
    _feed(builder, "server", events)
    types = [r.handshake_types for r in builder.timeline]
    assert types[0] == (8,) and types[-1] == (20,) and all(t == () for t in types[1:-1])
    assert sum(len(t) for t in types) == 2


def test_unknown_overhead_ends_the_queued_messages_in_one_record():
    builder = TimelineBuilder()
    ee = encode_handshake(EncryptedExtensions(()))
    fin = encode_handshake(Finished(b"\x22" * 32))
    _feed(builder, "server", [
        ev.KeysInstalled("write", "handshake", None, 0),
        ev.HandshakeMessageSent(None, ee, "handshake"), ev.HandshakeMessageSent(None, fin, "handshake"),
        ev.RecordSent(23, 22, 10, "handshake", 0),
    ])
    assert builder.timeline.record(0).handshake_types == (8, 20)


def test_key_update_advances_the_generation_and_names_the_ratcheted_secret():
    builder = TimelineBuilder()
    update = encode_handshake(KeyUpdate(1))
    _feed(builder, "client", [
        ev.SecretDerived("c ap traffic", b"\x01" * 32, "CLIENT_TRAFFIC_SECRET_0", b"\x00" * 32, ("master secret",)),
        ev.KeysInstalled("write", "application-0", AES128, 0),
        ev.RecordSent(23, 23, 30, "application-0", 0),
        ev.HandshakeMessageSent(KeyUpdate(1), update, "application-0"),
        ev.RecordSent(23, 22, len(update) + 1 + TAG, "application-0", 1),
        ev.SecretDerived("c ap traffic 1", b"\x02" * 32, None, b"\x00" * 32, ("c ap traffic",)),
        ev.KeysInstalled("write", "application-1", AES128, 1),
        ev.RecordSent(23, 23, 30, "application-1", 0),
    ], time=5.0)
    timeline = builder.timeline
    conn = timeline.connection(0)
    (mark,) = conn.key_updates
    assert isinstance(mark, KeyUpdateMark) and mark.request_update and mark.generation == 1
    assert mark.direction == CLIENT_TO_SERVER and mark in timeline.record(1).marks
    after = conn.epochs[(CLIENT_TO_SERVER, "application-1")]
    assert (after.generation, after.secret, after.first_record, after.count) == (1, "c ap traffic 1", 2, 1)
    assert conn.key_installs[-1].secret == "c ap traffic 1" and conn.key_installs[-1].after_record == 1


def test_traffic_secret_names_follow_the_key_schedule():
    assert traffic_secret_name(CLIENT_TO_SERVER, "early", True) == "c e traffic"
    assert traffic_secret_name(SERVER_TO_CLIENT, "handshake", True) == "s hs traffic"
    assert traffic_secret_name(SERVER_TO_CLIENT, "application-0", True) == "s ap traffic"
    assert traffic_secret_name(CLIENT_TO_SERVER, "application-3", True) == "c ap traffic 3"
    assert traffic_secret_name(CLIENT_TO_SERVER, "application-1", False) == "master secret (1.2)"
    assert traffic_secret_name(CLIENT_TO_SERVER, "plaintext", None) is None


@dataclass(frozen=True, slots=True)
class _FutureEvent(ev.Event):
    kind: ClassVar[str] = "ticket_issued"
    lifetime: int
    ticket: bytes


def test_events_without_a_place_in_the_model_become_event_marks():
    builder = TimelineBuilder()
    _feed(builder, "server", [ev.RecordSent(23, 22, 300, "application-0", 0),
                              _FutureEvent(7200, b"\x00" * 16)])
    (mark,) = builder.timeline.record(0).marks
    assert isinstance(mark, EventMark) and mark.kind == "ticket_issued" and mark.role == "server"
    assert "lifetime=7200" in mark.text and "ticket=" not in mark.text


def test_a_failing_engine_drops_the_flight_it_was_building():
    builder = TimelineBuilder()
    fin = encode_handshake(Finished(b"\x33" * 32))
    _feed(builder, "client", [
        ev.HandshakeMessageSent(None, fin, "handshake"),
        ev.RecordSent(21, None, 2, "plaintext", 1),
        ev.AlertSent(2, 40, "handshake_failure: test"),
        ev.ConnectionClosed("handshake_failure: test", False, None),
        ev.RecordSent(22, None, 40, "plaintext", 2),
    ])
    conn = builder.timeline.connection(0)
    assert any("never sent" in note for note in conn.notes)
    assert builder.timeline.record(1).handshake_types == ()
    (alert,) = conn.alerts
    assert alert.record == 0 and alert.reason == "handshake_failure: test"


def test_an_alert_event_without_its_record_is_kept_unattached():
    builder = TimelineBuilder()
    _feed(builder, "client", [ev.RecordSent(22, None, 100, "plaintext", 0), ev.AlertSent(2, 80, "sealing failed")])
    (alert,) = builder.timeline.connection(0).alerts
    assert alert.record is None and builder.timeline.record(0).marks == ()


def test_a_secret_reported_twice_is_kept_once_with_both_sources():
    builder = TimelineBuilder()
    builder.add_secret(0, "c hs traffic", b"\x05" * 32, keylog_label="CLIENT_HANDSHAKE_TRAFFIC_SECRET", by="client")
    builder.add_secret(0, "c hs traffic", b"\x05" * 32, by="key log")
    builder.add_secret(0, "c hs traffic", b"\x06" * 32, by="server")      # a different value: another secret
    secrets = builder.timeline.connection(0).secrets
    assert [(s.derived_by, s.keylog_label) for s in secrets] == [
        (["client", "key log"], "CLIENT_HANDSHAKE_TRAFFIC_SECRET"), (["server"], None)]


def _bulk(builder, count, burst=1):
    """Application data records, `burst` records per direction in turn (the last one a sequence number
    above the small-int cache, like a real session's)."""
    send = builder.add_engine_event
    for n in range(count):
        role = "client" if (n // burst) % 2 else "server"
        send(0, role, ev.RecordSent(23, 23, 1000 + n % 700, "application-0", 1000 + n // 2),
             1_700_000_000.0 + n * 1e-4)


def test_a_hundred_thousand_records_are_cheap_and_paged():
    builder = TimelineBuilder()
    start = time.perf_counter()
    _bulk(builder, 100_000)
    elapsed = time.perf_counter() - start
    timeline = builder.timeline
    assert len(timeline) == 100_000 and elapsed < 10
    page = timeline.records(50_000, 25)
    assert [r.index for r in page] == list(range(50_000, 50_025))
    conn = timeline.connection(0)
    assert [r.index for r in conn.records(99_990, 100)] == list(range(99_990, 100_000))
    assert len(conn.flights) == 100_000 and sum(f.count for f in conn.flights) == 100_000
    assert list(conn.flights[7].records) == [7]
    assert conn.epochs[(CLIENT_TO_SERVER, "application-0")].count + \
        conn.epochs[(SERVER_TO_CLIENT, "application-0")].count == 100_000


def test_memory_per_record_stays_small():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        builder = TimelineBuilder()
        _bulk(builder, 20_000, burst=8)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(builder.timeline) == 20_000
    # the record itself, its index, time and sequence number, and a few array slots: no dict, no copies
    assert used / 20_000 < 400, f"{used / 20_000:.0f} bytes per record"

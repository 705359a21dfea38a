"""Timelines of the reference captures: tickets linked across connections, 0-RTT, renegotiations, KeyUpdates
(synthetic capture), and per-frame agreement with tshark run now."""
from __future__ import annotations

import shutil

import pytest

from tests.capture.conftest import REFERENCE_CAPTURES
from tests.capture.tshark_oracle import FrameView, tshark_view
from workbench.capture.record_ciphers import Tls13Opener
from workbench.capture.synthetic import write_tls13_capture
from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.timeline import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, KeyUpdateMark, RenegotiationMark, Ticket,
                                TicketUse, timeline_from_capture)

from .conftest import capture_path, requires_captures

RFC8446 = "wireshark/tls13-rfc8446.pcap"


@requires_captures
def test_ticket_of_the_first_connection_is_linked_to_the_resumption_that_used_it():
    t = timeline_from_capture(capture_path(RFC8446), capture_path("wireshark/tls13-rfc8446.keys"))
    first, second = t.connections.values()
    assert [tk.id for tk in first.tickets] == ["T1", "T2"] and [tk.id for tk in second.tickets] == ["T3", "T4"]
    t1 = t.ticket("T1")
    assert (t1.issued_by, t1.lifetime, t1.age_add, t1.nonce, t1.max_early_data) == (0, 172800, 2873805630,
                                                                                  b"\x00", 14336)
    assert t.record(t1.record).handshake_types == (4, 4) and t1 in t.record(t1.record).marks
    assert [(u.connection, u.accepted, u.identity_index) for u in t1.used_by] == [(1, True, 0)]
    assert t.ticket("T2").used_by == [] and t.ticket("T3").used_by == []
    assert second.resumed and second.resumed_with == "T1" and not first.resumed
    offer = t.record(second.offered_tickets[0].record)
    assert offer.handshake_types == (1,) and any(isinstance(m, TicketUse) for m in offer.marks)
    # 0-RTT: accepted, its records in the early epoch, EndOfEarlyData closing it
    assert second.early_data_offered and second.early_data_accepted is True
    early = second.epochs[(CLIENT_TO_SERVER, "early")]
    assert early.count == 2 and early.decrypted == 2 and early.secret == "c e traffic"
    assert t.record(early.last_record).handshake_types == (5,)
    assert [s.name for s in second.secrets][:1] == ["c e traffic"]


@requires_captures
def test_without_the_early_key_the_0rtt_record_stays_encrypted_and_the_ticket_still_links():
    t = timeline_from_capture(capture_path(RFC8446), capture_path("wireshark/tls13-rfc8446-noearly.keys"))
    second = t.connection(1)
    early = second.epochs[(CLIENT_TO_SERVER, "early")]
    records = second.records()
    assert early.decrypted < early.count
    unreadable = [r for r in records if r.epoch == "early" and not r.decrypted]
    assert unreadable and all(r.inner_type is None and r.note for r in unreadable)
    assert second.resumed_with == "T1"


@requires_captures
def test_refused_renegotiation():
    t = timeline_from_capture(capture_path("hotplace/tls12_tls12no_renogotiation.pcapng"),
                              capture_path("hotplace/tls12_sslkeylog"))
    conn = t.connection(0)
    assert conn.version == 0x0303 and len(conn.renegotiations) == 1
    mark = conn.renegotiations[0]
    assert (mark.initiator, mark.stage, mark.handshake) == ("client", "refused", 1)
    assert t.record(mark.record).handshake_types == (1,) and t.record(mark.record).epoch == "application-0"
    assert [(a.description, a.direction) for a in conn.alerts] == [(100, SERVER_TO_CLIENT), (40, CLIENT_TO_SERVER)]
    assert conn.tickets[0].version == 0x0303 and conn.tickets[0].age_add is None


@requires_captures
def test_renegotiation_whose_new_keys_are_missing():
    t = timeline_from_capture(capture_path("hotplace/tls12_tls12renogotiation.pcapng"),
                              capture_path("hotplace/tls12_sslkeylog"))
    conn = t.connection(0)
    (mark,) = [m for m in conn.renegotiations if isinstance(m, RenegotiationMark)]
    assert mark.stage == "started" and mark.initiator == "client"
    renegotiated = conn.epochs[(CLIENT_TO_SERVER, "application-1")]
    assert renegotiated.handshake == 1 and renegotiated.decrypted == 0 and renegotiated.count >= 2
    assert conn.missing_keys and conn.missing_keys[0][0] == "CLIENT_RANDOM"
    assert conn.handshakes == 2
    # the encrypted alerts at the end are marked, unreadable
    assert [(a.level, a.description) for a in conn.alerts][-2:] == [(None, None), (None, None)]


def test_key_updates_of_a_synthetic_capture_ratchet_the_secrets(tmp_path):
    path = tmp_path / "keyupdates.pcapng"
    write_tls13_capture(path, records=60, key_update_every=10, pcapng=True, secrets_block=True, seed=3,
                        big_record_every=0)
    t = timeline_from_capture(path, keep_raw=True)
    conn = t.connection(next(iter(t.connections)))
    marks = conn.key_updates
    assert marks and all(isinstance(m, KeyUpdateMark) for m in marks)
    for direction in (CLIENT_TO_SERVER, SERVER_TO_CLIENT):
        generations = [m.generation for m in marks if m.direction == direction]
        assert generations == list(range(1, len(generations) + 1))
    suite = CIPHER_SUITES[conn.cipher_suite]
    checked = 0
    for span in conn.epochs.values():
        if span.kind != "application" or span.generation == 0:
            continue
        side = "c" if span.direction == CLIENT_TO_SERVER else "s"
        assert span.secret == f"{side} ap traffic {span.generation}"
        secret = conn.secret(span.secret)
        assert secret.derived_from == (f"{side} ap traffic" + (f" {span.generation - 1}" if span.generation > 1
                                                               else ""),)
        # the ratcheted secret really opens the first record of its epoch
        first = t.record(span.first_record)
        inner_type, _ = Tls13Opener(suite, secret.value).open(first.raw, 0)
        assert inner_type == first.inner_type
        checked += 1
    assert checked >= 2


def _timeline_view(timeline) -> dict[int, FrameView]:
    """Per frame, what tshark's fields show, built from the timeline."""
    frames: dict[int, FrameView] = {}
    for rec in timeline:
        tls13 = timeline.connections[rec.connection].version == 0x0304 or rec.epoch in ("early", "handshake")
        view = frames.setdefault(rec.frame, FrameView())
        view.add_record(rec.outer_type, rec.inner_type, rec.handshake_types, opaque=rec.protected and tls13,
                        decrypted=rec.decrypted)
    return frames


@requires_captures
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("capture", [c for c in REFERENCE_CAPTURES if c.keylog], ids=str)
def test_timeline_agrees_with_tshark_frame_by_frame(capture):
    theirs = tshark_view(capture.path, capture.keylog, decode_as_port=capture.tshark_port)
    ours = _timeline_view(timeline_from_capture(capture.path, capture.keylog))
    assert set(ours) == set(theirs)
    for frame, view in theirs.items():
        mine = ours[frame]
        assert (mine.content_types, mine.opaque_types, mine.handshake) == \
               (view.content_types, view.opaque_types, view.handshake), f"frame {frame}"


@requires_captures
def test_every_ticket_mark_sits_on_its_new_session_ticket_record():
    t = timeline_from_capture(capture_path("scapy/tls_new-session-ticket.pcap"))
    assert len(t.tickets) == 12 and len({tk.fingerprint for tk in t.tickets}) == 12
    for ticket in t.tickets:
        rec = t.record(ticket.record)
        assert 4 in rec.handshake_types and any(isinstance(m, Ticket) for m in rec.marks)
        assert ticket.version == 0x0303

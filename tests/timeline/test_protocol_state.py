"""The protocol story read from handshake messages, on hand-made TLS 1.2 and 1.3 records: RFC 5077 tickets
resumed (or not) by later connections, a server-requested renegotiation to completion, misplaced messages."""
from __future__ import annotations

from workbench.capture.model import DecodedRecord
from workbench.tls import messages as m
from workbench.tls.extensions import SessionTicket, SupportedVersionsServerHello
from workbench.timeline import CLIENT_TO_SERVER, SERVER_TO_CLIENT, RenegotiationMark, TimelineBuilder

SUITE12 = 0xC02F
TICKET = bytes(range(48))


class _Wire:
    """DecodedRecords of hand-made connections, as a replay would give them."""

    def __init__(self, builder: TimelineBuilder) -> None:
        self.builder = builder
        self.frame = 0

    def send(self, conn: int, side: str, *messages, epoch: str = "plaintext", content_type: int = 22,
             payload: bytes | None = None) -> None:
        self.frame += 1
        raws = [m.encode_handshake(msg) for msg in messages]
        body = payload if payload is not None else b"".join(raws)
        protected = epoch != "plaintext"
        rec = DecodedRecord(conn, f"10.0.0.{conn}:5000", "10.0.0.9:443", side, self.frame, float(self.frame),
                            content_type, 0x0303, len(body) + (24 if protected else 0), 0, epoch=epoch,
                            protected=protected, decrypted=protected, inner_type=content_type,
                            plaintext_length=len(body), handshake=[r[0] for r in raws], messages=raws,
                            plaintext=body)
        self.builder.add_decoded_record(rec)

    def full_handshake12(self, conn: int, session_id: bytes = b"", ticket: bytes = b"",
                         echo: bytes | None = None, issue: bytes | None = None) -> None:
        self.send(conn, "client", m.ClientHello(bytes([conn]) * 32, session_id, (SUITE12,),
                                                (SessionTicket(ticket),)))
        self.send(conn, "server", m.ServerHello(b"\x55" * 32, session_id if echo is None else echo, SUITE12,
                                                (SessionTicket(b""),)))
        if issue is not None:
            self.send(conn, "server", m.NewSessionTicket12(7200, issue))
        self.send(conn, "server", content_type=20, payload=b"\x01")
        self.send(conn, "server", m.Finished(b"\x01" * 12), epoch="application-0")
        self.send(conn, "client", content_type=20, payload=b"\x01")
        self.send(conn, "client", m.Finished(b"\x02" * 12), epoch="application-0")


def test_a_tls12_ticket_is_resumed_by_a_later_connection_and_refused_by_another():
    builder = TimelineBuilder()
    wire = _Wire(builder)
    wire.full_handshake12(0, issue=TICKET)
    wire.full_handshake12(1, session_id=b"\x07" * 32, ticket=TICKET)               # echoed: resumed
    wire.full_handshake12(2, session_id=b"\x08" * 32, ticket=TICKET, echo=b"\x09" * 32)   # a new session
    timeline = builder.timeline
    (ticket,) = timeline.tickets
    assert (ticket.version, ticket.lifetime, ticket.issued_by, ticket.age_add) == (0x0303, 7200, 0, None)
    assert [(u.connection, u.accepted) for u in ticket.used_by] == [(1, True), (2, False)]
    resumed, refused = timeline.connection(1), timeline.connection(2)
    assert resumed.resumed and resumed.resumed_with == ticket.id
    assert not refused.resumed and refused.resumed_with is None
    assert all(c.established and c.version == 0x0303 for c in timeline.connections.values())


def test_a_server_requested_renegotiation_runs_to_completion():
    builder = TimelineBuilder()
    wire = _Wire(builder)
    wire.full_handshake12(0)
    wire.send(0, "server", m.HelloRequest(), epoch="application-0")
    wire.send(0, "client", m.ClientHello(b"\x11" * 32, b"", (SUITE12,)), epoch="application-0")
    conn = builder.timeline.connection(0)
    (mark,) = conn.renegotiations
    assert isinstance(mark, RenegotiationMark)
    assert (mark.initiator, mark.stage, mark.handshake) == ("server", "started", 1)
    assert not conn.established and conn.handshakes == 2
    assert conn.client_random == b"\x00" * 32            # the first handshake's, kept
    wire.send(0, "server", m.ServerHello(b"\x66" * 32, b"", SUITE12), epoch="application-0")
    wire.send(0, "server", content_type=20, payload=b"\x01", epoch="application-0")
    wire.send(0, "server", m.Finished(b"\x03" * 12), epoch="application-1")
    wire.send(0, "client", content_type=20, payload=b"\x01", epoch="application-0")
    wire.send(0, "client", m.Finished(b"\x04" * 12), epoch="application-1")
    assert mark.stage == "completed" and conn.established
    assert conn.server_random == b"\x55" * 32            # the renegotiation does not rewrite the first handshake
    span = conn.epochs[(SERVER_TO_CLIENT, "application-1")]
    assert span.handshake == 1 and conn.epochs[(SERVER_TO_CLIENT, "application-0")].handshake == 0
    requested = builder.timeline.record(mark.record)
    assert requested.handshake_types == (0,) and mark in requested.marks


def test_a_client_hello_after_a_tls13_handshake_is_noted_not_taken_for_a_renegotiation():
    builder = TimelineBuilder()
    wire = _Wire(builder)
    wire.send(0, "client", m.ClientHello(b"\x01" * 32, b"", (0x1301,)))
    wire.send(0, "server", m.ServerHello(b"\x02" * 32, b"", 0x1301, (SupportedVersionsServerHello(0x0304),)))
    wire.send(0, "server", m.Finished(b"\x00" * 32), epoch="handshake")
    wire.send(0, "client", m.Finished(b"\x00" * 32), epoch="handshake")
    conn = builder.timeline.connection(0)
    assert conn.established and conn.version == 0x0304
    wire.send(0, "client", m.ClientHello(b"\x03" * 32, b"", (0x1301,)), epoch="application-0")
    assert conn.renegotiations == [] and any("ClientHello after a TLS 1.3 handshake" in n for n in conn.notes)


def test_a_key_update_reads_its_request_flag():
    builder = TimelineBuilder()
    wire = _Wire(builder)
    wire.send(0, "client", m.KeyUpdate(0), epoch="application-0")
    wire.send(0, "client", m.KeyUpdate(1), epoch="application-1")
    marks = builder.timeline.connection(0).key_updates
    assert [(k.request_update, k.generation, k.direction) for k in marks] == [
        (False, 1, CLIENT_TO_SERVER), (True, 2, CLIENT_TO_SERVER)]
    assert [k.frame for k in marks] == [1, 2]

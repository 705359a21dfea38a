"""RFC 8448 section 4 (resumed 0-RTT handshake), byte for byte, from both sides.

Client: it runs the section 3 handshake, receives that trace's NewSessionTicket, and its session
data then resumes in section 4 with the trace's randoms and 0-RTT data; every record it sends
is the trace's. The ticket age comes from an injected clock: 5 ms between ticket and resumption
gives the trace's obfuscated_ticket_age.
Server: the trace's ticket is opaque, so a stateful ticket store maps its identity to the
trace's resumption secret (and ticket_age_add, lifetime, max_early_data); the server then
reads the 0-RTT data and answers with the trace's records.
"""
from __future__ import annotations

from cryptography import x509

from workbench.tls import Connection, ServerConfig, events
from workbench.tls.enums import SessionFlag
from workbench.tls.messages import decode_handshake
from workbench.tls.server_session import ServerSession
from workbench.tls.tickets import SessionTickets

from .pair import drain
from .rfc8448_vectors import load_trace
from .test_client13 import TRACE_GROUPS, TRACE_SCHEMES, injected, record, trace_client
from .test_server13 import trace_rsa_key

T0 = 1_700_000_000.0          # when the ticket arrived (any fixed time)
EARLY_DATA = bytes.fromhex("414243444546")


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def section3_ticket():
    trace = load_trace()
    return decode_handshake(trace.handshake_messages(3)[-1][2])


def section3_session_data(clock: Clock) -> tuple[bytes, Connection]:
    """Run the section 3 client to its NewSessionTicket; returns session_data() and the client."""
    trace = load_trace()
    hello = trace.handshake_messages(3)[0][2]
    private = trace.value(3, "client", "create an ephemeral x25519 key pair", "private key")
    client = trace_client(3, injected(hello[6:38], private), clock=clock)
    client.start_handshake()
    client.data_to_send()
    client.receive_data(record(trace, 3, "server", "handshake", 0) + record(trace, 3, "server", "handshake", 1))
    assert SessionFlag.SESSION_TICKET not in client.session_flags()
    client.receive_data(record(trace, 3, "server", "handshake", 2))
    assert SessionFlag.SESSION_TICKET in client.session_flags()
    return client.session_data(), client


def test_section3_ticket_becomes_the_section4_psk():
    clock = Clock(T0)
    blob, client = section3_session_data(clock)
    trace = load_trace()
    received = [e for e in client.events() if isinstance(e, events.TicketReceived)]
    nst = section3_ticket()
    assert [(e.ticket, e.lifetime, e.age_add, e.nonce, e.max_early_data) for e in received] == \
        [(nst.ticket, 30, nst.ticket_age_add, b"\x00\x00", 1024)]
    from workbench.tls.session_data import decode
    session = decode(blob)
    assert session.secret == trace.value(3, "server", 'generate resumption secret "tls13 resumption"', "expanded")
    assert session.secret == trace.value(4, "client", 'extract secret "early"', "IKM")
    assert (session.server_name, session.max_early_data, session.received_at) == ("server", 1024, T0)


def test_rfc8448_resumed_0rtt_client():
    trace = load_trace()
    clock = Clock(T0)
    blob, _ = section3_session_data(clock)
    clock.now = T0 + 0.005           # obfuscated_ticket_age = ticket_age_add + 5 ms, as in the trace
    hello = trace.handshake_messages(4)[0][2]
    private = trace.value(4, "client", "create an ephemeral x25519 key pair", "private key")
    rng = injected(hello[6:38], private)
    client = trace_client(4, rng, clock=clock, session_ticket_extension=False, client_hello_padding=True,
                          session_data=blob)
    client.send_early_data(EARLY_DATA)
    client.start_handshake()
    assert client.data_to_send() == record(trace, 4, "client", "handshake", 0) + \
        record(trace, 4, "client", "application_data", 0)
    assert not rng.queue
    client.receive_data(record(trace, 4, "server", "handshake", 0) + record(trace, 4, "server", "handshake", 1))
    assert client.handshake_complete
    # EndOfEarlyData under the early keys, then Finished under the handshake keys.
    assert client.data_to_send() == record(trace, 4, "client", "handshake", 1) + \
        record(trace, 4, "client", "handshake", 2)
    evs = drain(client)
    secrets = {e.name: e.value for e in evs if isinstance(e, events.SecretDerived)}
    assert secrets["c e traffic"] == trace.value(4, "client", 'derive secret "tls13 c e traffic"', "expanded")
    assert secrets["res master"] == trace.value(4, "client", 'derive secret "tls13 res master"', "expanded")
    kinds = [type(e).__name__ for e in evs if e.kind in ("resumption", "early_data")]
    assert kinds == ["ResumptionOffered", "ResumptionAccepted", "EarlyDataAccepted"]
    assert client.session_flags() == SessionFlag.RESUMED | SessionFlag.EARLY_DATA
    complete = next(e for e in evs if isinstance(e, events.HandshakeComplete))
    assert complete.resumed and complete.signature_scheme is None
    client.send(bytes(range(50)))
    assert client.data_to_send() == record(trace, 4, "client", "application_data", 1)
    client.receive_data(record(trace, 4, "server", "application_data"))
    assert [e.data for e in client.events() if isinstance(e, events.ApplicationData)] == [bytes(range(50))]
    client.close()
    assert client.data_to_send() == record(trace, 4, "client", "alert")


def test_rfc8448_resumed_client_with_set_session_data_and_without_0rtt_sends_the_trace_prefix():
    """Without early data the ClientHello differs only by the early_data extension (and padding)."""
    trace = load_trace()
    clock = Clock(T0)
    blob, _ = section3_session_data(clock)
    clock.now = T0 + 0.005
    hello = trace.handshake_messages(4)[0][2]
    private = trace.value(4, "client", "create an ephemeral x25519 key pair", "private key")
    client = trace_client(4, injected(hello[6:38], private), clock=clock, session_ticket_extension=False,
                          client_hello_padding=True)
    client.set_session_data(blob)
    client.start_handshake()
    sent = decode_handshake(client.data_to_send()[5:])
    expected = decode_handshake(record(trace, 4, "client", "handshake", 0)[5:])
    names = [type(e).__name__ for e in sent.extensions]
    assert names == [type(e).__name__ for e in expected.extensions if type(e).__name__ != "EarlyData"]
    assert sent.extensions[-1].identities == expected.extensions[-1].identities     # same ticket, same age


def trace_server(clock: Clock, rng, **overrides) -> tuple[Connection, SessionTickets]:
    trace = load_trace()
    messages = {name: raw for actor, name, raw in trace.handshake_messages(3) if actor == "server"}
    certificate = decode_handshake(messages["Certificate"]).certificate_list[0].cert_data
    nst = section3_ticket()
    tickets = SessionTickets(stateful=True)
    session = ServerSession(tls_version=0x0304, cipher_suite=0x1301,
                            secret=trace.value(4, "client", 'extract secret "early"', "IKM"),
                            issued_at=T0, lifetime=nst.ticket_lifetime, age_add=nst.ticket_age_add,
                            max_early_data=1024, server_name="server")
    tickets.remember(nst.ticket, session, now=T0)
    kw = dict(certificate_chain=(x509.load_der_x509_certificate(certificate),), private_key=trace_rsa_key(trace),
              supported_groups=TRACE_GROUPS, signature_schemes=TRACE_SCHEMES, record_size_limit=0x4001,
              rng=rng, clock=clock, tickets=tickets, max_early_data=1024, ticket_count=0)
    kw.update(overrides)
    return Connection(ServerConfig(**kw)), tickets


def test_rfc8448_resumed_0rtt_server():
    trace = load_trace()
    server_hello = trace.handshake_messages(4)[1][2]
    assert trace.handshake_messages(4)[1][1] == "ServerHello"
    private = trace.value(4, "server", "create an ephemeral x25519 key pair", "private key")
    rng = injected(server_hello[6:38], private)
    clock = Clock(T0 + 0.005)
    server, tickets = trace_server(clock, rng)
    server.receive_data(record(trace, 4, "client", "handshake", 0) + record(trace, 4, "client", "application_data", 0))
    assert server.data_to_send() == record(trace, 4, "server", "handshake", 0) + \
        record(trace, 4, "server", "handshake", 1)
    assert not rng.queue
    evs = drain(server)
    assert [e.data for e in evs if isinstance(e, events.ApplicationData)] == [EARLY_DATA]
    assert [e.epoch for e in evs if isinstance(e, events.ApplicationData)] == ["early"]
    assert any(isinstance(e, events.EarlyDataAccepted) and e.max_early_data == 1024 for e in evs)
    assert len(tickets.store) == 0              # stateful tickets are single use
    server.receive_data(record(trace, 4, "client", "handshake", 1) + record(trace, 4, "client", "handshake", 2))
    assert server.handshake_complete and server.session_flags() == SessionFlag.RESUMED | SessionFlag.EARLY_DATA
    assert server.data_to_send() == b""         # ticket_count=0: the trace's server sends no ticket here
    server.receive_data(record(trace, 4, "client", "application_data", 1))
    assert [e.data for e in server.events() if isinstance(e, events.ApplicationData)] == [bytes(range(50))]
    server.send(bytes(range(50)))
    assert server.data_to_send() == record(trace, 4, "server", "application_data")
    server.receive_data(record(trace, 4, "client", "alert"))
    assert server.data_to_send() == record(trace, 4, "server", "alert")


def test_rfc8448_server_out_of_the_age_window_resumes_without_0rtt():
    trace = load_trace()
    server_hello = trace.handshake_messages(4)[1][2]
    private = trace.value(4, "server", "create an ephemeral x25519 key pair", "private key")
    clock = Clock(T0 + 20.005)           # the client says 5 ms, the server counts 20 s
    server, _ = trace_server(clock, injected(server_hello[6:38], private))
    server.receive_data(record(trace, 4, "client", "handshake", 0) + record(trace, 4, "client", "application_data", 0))
    flight = server.data_to_send()
    assert flight.startswith(record(trace, 4, "server", "handshake", 0))    # same ServerHello: resumed
    evs = drain(server)
    rejected = [e for e in evs if isinstance(e, events.EarlyDataRejected)]
    assert len(rejected) == 1 and "ticket age outside the window" in rejected[0].reason
    assert not any(isinstance(e, events.ApplicationData) for e in evs)

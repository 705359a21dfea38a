"""0-RTT between our client and server: accepted data, EndOfEarlyData, every rejection (with the
data handed back to the client), the limits, the freshness window and single-use anti-replay."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, NamedGroup, SessionFlag
from workbench.tls.errors import UsageError
from workbench.tls.extensions import EarlyData
from workbench.tls.messages import ClientHello, EncryptedExtensions, EndOfEarlyData
from workbench.tls.session_data import SessionDataError, decode

from .pair import connected_pair, deliver, drain, make_client_config, make_server_config, pump

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def early_config(**overrides):
    kw = dict(max_early_data=16384)
    kw.update(overrides)
    return make_server_config(**kw)


def ticket(server_config, client_config=None) -> bytes:
    client, _ = connected_pair(client_config or make_client_config(), server_config)
    return client.session_data()


def start_with_early_data(blob: bytes, data: bytes = REQUEST, client_config=None) -> Connection:
    client = Connection(client_config or make_client_config())
    client.set_session_data(blob)
    client.send_early_data(data)
    client.start_handshake()
    return client


def of(evs, cls):
    return [e for e in evs if isinstance(e, cls)]


def sent(evs, cls):
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageSent) and isinstance(e.message, cls)]


# --- accepted ----------------------------------------------------------------------------------------

def test_early_data_is_read_before_the_handshake_completes():
    server_config = early_config()
    client = start_with_early_data(ticket(server_config))
    server = Connection(server_config)
    deliver(client, server)                                # ClientHello + 0-RTT only
    sev = drain(server)
    assert [(e.data, e.epoch) for e in of(sev, events.ApplicationData)] == [(REQUEST, "early")]
    assert not server.handshake_complete and of(sev, events.EarlyDataAccepted)[0].max_early_data == 16384
    pump(client, server)
    cev, sev = drain(client), sev + drain(server)
    assert client.handshake_complete and server.handshake_complete
    (accepted,) = of(cev, events.EarlyDataAccepted)
    assert (accepted.max_early_data, accepted.length) == (16384, len(REQUEST))
    assert sent(cev, EndOfEarlyData) and sent(sev, EncryptedExtensions)[0].get_extension(EarlyData)
    for conn in (client, server):
        assert conn.session_flags() == SessionFlag.RESUMED | SessionFlag.EARLY_DATA | SessionFlag.SESSION_TICKET
    assert client.early_data_status == "ended"


def test_early_data_in_pieces_before_and_after_start():
    server_config = early_config()
    client = Connection(make_client_config())
    client.set_session_data(ticket(server_config))
    client.send_early_data(b"one ")
    client.start_handshake()
    client.send_early_data(b"two ")
    client.send_early_data(b"three")
    assert client.early_data_status == "offered"
    server = Connection(server_config)
    pump(client, server)
    assert b"".join(e.data for e in drain(server) if isinstance(e, events.ApplicationData)) == b"one two three"


def test_early_data_secrets_are_in_both_key_logs():
    server_config = early_config()
    client = start_with_early_data(ticket(server_config))
    server = Connection(server_config)
    pump(client, server)
    for conn in (client, server):
        lines = [line for line in conn.key_log_lines() if line.startswith("CLIENT_EARLY_TRAFFIC_SECRET")]
        assert len(lines) == 1 and lines[0].split()[1] == client.client_random.hex()
    assert [line for line in client.key_log_lines() if "EARLY" in line] == \
        [line for line in server.key_log_lines() if "EARLY" in line]


def test_early_data_with_compatibility_mode():
    server_config = early_config()
    client_config = make_client_config(compatibility_mode=True)
    client = start_with_early_data(ticket(server_config), client_config=client_config)
    wire = client.data_to_send()
    assert wire[wire.index(b"\x14\x03\x03\x00\x01\x01"):][6:7] == b"\x17"    # CCS, then the 0-RTT record
    server = Connection(server_config)
    server.receive_data(wire)
    pump(client, server)
    assert client.early_data_status == "ended" and server.handshake_complete


# --- rejected: the data goes back to the client -------------------------------------------------------

def rejected_run(blob, client_config=None, server_config=None, data=REQUEST):
    client = start_with_early_data(blob, data, client_config)
    server = Connection(server_config)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    cev, sev = drain(client), drain(server)
    (rejected,) = of(cev, events.EarlyDataRejected)
    assert rejected.data == data                     # everything sent early, handed back
    assert not of(sev, events.ApplicationData)        # the server skipped it
    assert SessionFlag.EARLY_DATA not in client.session_flags()
    assert client.early_data_status == "rejected"
    return client, server, rejected, of(sev, events.EarlyDataRejected)


def test_server_that_stopped_accepting_0rtt_rejects_and_still_resumes():
    tickets_allowing = early_config()
    blob = ticket(tickets_allowing)
    strict = replace(tickets_allowing, max_early_data=0)
    client, server, rejected, (server_side,) = rejected_run(blob, server_config=strict)
    assert client.negotiated.resumed and "rejected" in rejected.reason
    assert "does not accept early data" in server_side.reason
    client.send(rejected.data)                        # the caller sends it again after the handshake
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, events.ApplicationData)] == [REQUEST]


def test_replayed_client_hello_gets_no_second_0rtt():
    server_config = early_config()
    client = start_with_early_data(ticket(server_config))
    first_flight = client.data_to_send()
    original, replay = Connection(server_config), Connection(server_config)
    original.receive_data(first_flight)
    assert of(drain(original), events.EarlyDataAccepted)
    replay.receive_data(first_flight)                 # an attacker sends the same bytes again
    evs = drain(replay)
    assert not of(evs, events.ApplicationData)
    (rejected,) = of(evs, events.EarlyDataRejected)
    assert "already used for early data" in rejected.reason


def test_alpn_other_than_the_tickets_rejects_0rtt():
    issuing = early_config(alpn_protocols=("h2", "http/1.1"))
    blob = ticket(issuing, make_client_config(alpn_protocols=("h2",)))
    assert decode(blob).alpn == b"h2"
    now_prefers = replace(issuing, alpn_protocols=("http/1.1", "h2"))
    client, _, _, (server_side,) = rejected_run(blob, make_client_config(alpn_protocols=("h2", "http/1.1")),
                                                now_prefers)
    assert client.negotiated.resumed and client.alpn == b"http/1.1" and "ALPN" in server_side.reason


def test_hello_retry_request_rejects_0rtt():
    server_config = early_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519))
    blob = ticket(server_config)
    client, _, rejected, _ = rejected_run(blob, server_config=server_config)
    assert client.negotiated.hello_retry and client.negotiated.resumed
    assert "HelloRetryRequest" in rejected.reason


def test_unresumed_session_rejects_0rtt():
    blob = ticket(early_config())
    other = early_config()
    connected_pair(server_config=other)            # another server, with its own ticket key
    client, _, rejected, _ = rejected_run(blob, server_config=other)
    assert not client.negotiated.resumed and "did not resume" in rejected.reason


def test_client_clock_far_from_the_servers_rejects_0rtt():
    server_config = early_config(early_data_age_tolerance=2)
    blob = ticket(server_config)
    ahead = [time.time() + 5]
    client, _, _, (server_side,) = rejected_run(blob, make_client_config(clock=lambda: ahead[0]), server_config)
    assert client.negotiated.resumed and "outside the window" in server_side.reason


# --- limits and misuse -------------------------------------------------------------------------------

def test_the_tickets_limit_bounds_what_the_client_sends():
    blob = ticket(early_config(max_early_data=10))
    client = Connection(make_client_config())
    client.set_session_data(blob)
    client.send_early_data(b"0123456789")
    with pytest.raises(UsageError, match="exceeds the ticket's max_early_data_size of 10"):
        client.send_early_data(b"!")


def test_a_client_sending_more_than_the_limit_gets_unexpected_message():
    server_config = early_config(max_early_data=100)
    blob = replace(decode(ticket(server_config)), max_early_data=100000).encode()   # a client that ignores it
    client = start_with_early_data(blob, bytes(1000))
    server = Connection(server_config)
    with pytest.raises(errors.UnexpectedMessage, match="more than max_early_data_size 100"):
        deliver(client, server)
    with pytest.raises(errors.AlertReceived) as info:
        deliver(server, client)
    assert info.value.description == AlertDescription.unexpected_message


def test_early_data_needs_a_ticket_that_allows_it():
    blob = ticket(make_server_config())                        # no max_early_data: no early_data in the ticket
    client = Connection(make_client_config())
    client.set_session_data(blob)
    with pytest.raises(UsageError, match="does not allow early data"):
        client.send_early_data(b"x")
    with pytest.raises(UsageError, match="no session to resume"):
        Connection(make_client_config()).send_early_data(b"x")


def test_early_data_after_the_servers_answer_is_refused():
    server_config = early_config()
    client = start_with_early_data(ticket(server_config))
    server = Connection(server_config)
    pump(client, server)
    with pytest.raises(UsageError, match="use send"):
        client.send_early_data(b"late")
    plain = Connection(make_client_config())
    plain.set_session_data(ticket(server_config))
    plain.start_handshake()
    with pytest.raises(UsageError, match="offered no early data"):
        plain.send_early_data(b"x")


def test_a_bad_session_blob_in_the_config_is_refused_when_early_data_is_queued():
    server_config = early_config()
    blob = bytearray(ticket(server_config))
    blob[-1] ^= 1
    with pytest.raises(SessionDataError):
        Connection(make_client_config(session_data=bytes(blob))).send_early_data(b"x")


def test_queued_early_data_is_handed_back_when_the_config_session_cannot_be_offered():
    server_config = early_config()
    clock = [time.time()]
    client_config = make_client_config(clock=lambda: clock[0], session_data=ticket(server_config))
    client = Connection(client_config)
    client.send_early_data(b"queued")
    clock[0] += 7201                                             # the ticket expires before the handshake
    client.start_handshake()
    evs = drain(client)
    (rejected,) = of(evs, events.EarlyDataRejected)
    assert rejected.data == b"queued" and of(evs, events.ResumptionRefused)
    assert not [m for m in sent(evs, ClientHello) if m.get_extension(EarlyData)]


def test_0rtt_answered_with_tls12_fails_and_the_data_comes_back():
    """RFC 8446 D.3: an older server cannot skip 0-RTT data, so the client ends the connection."""
    blob = ticket(early_config())
    client = start_with_early_data(blob, client_config=make_client_config(versions=(0x0304, 0x0303)))
    server = Connection(make_server_config(versions=(0x0303,)))
    hello_only = client.data_to_send()
    server.receive_data(hello_only[:5 + int.from_bytes(hello_only[3:5], "big")])
    with pytest.raises(errors.ProtocolVersionError, match="D.3"):
        deliver(server, client)
    cev = drain(client)
    (rejected,) = of(cev, events.EarlyDataRejected)
    assert rejected.data == REQUEST and "TLS 1.2" in rejected.reason
    assert "TLS 1.2" in of(cev, events.ResumptionRefused)[0].reason
    assert of(cev, events.AlertSent)[0].description == AlertDescription.protocol_version


def test_a_tls13_session_with_a_server_choosing_tls12_is_a_full_handshake():
    blob = ticket(make_server_config())
    client = Connection(make_client_config(versions=(0x0304, 0x0303)))
    client.set_session_data(blob)
    server = Connection(make_server_config(versions=(0x0303,)))
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and client.version == 0x0303 and not client.negotiated.resumed
    assert "TLS 1.2" in of(drain(client), events.ResumptionRefused)[0].reason

"""TLS 1.2 renegotiation: each sentence of the seed about SSL_renegotiate, SSL_renegotiate_abbreviated
and SSL_renegotiate_pending, data before, during and after, epochs and key log lines, secure
renegotiation (RFC 5746) and the policy switches."""
from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, AlertLevel, ContentType
from workbench.tls.extensions import RenegotiationInfo, SessionTicket
from workbench.tls.handshake12 import SCSV_RENEGOTIATION, make_keys
from workbench.tls.messages import Certificate12, ClientHello, HelloRequest, ServerHello, encode_handshake
from workbench.tls.record import encode_record

from . import certs
from .pair import connected_pair, drain, pump, replace_extension, rewrite_messages, split_records
from .tls12_pairs import (app_data, app_data_epochs, client12, of_type, pair12, received_messages, sent_messages,
                          server12)

AD = AlertDescription
ALLOW = {"allow_client_renegotiation": True}


def names(evs, *classes) -> list[str]:
    return [type(e).__name__ for e in evs if isinstance(e, classes)]


def client_hello(evs) -> ClientHello:
    return sent_messages(evs, ClientHello)[-1]


# --- "should only be called for connections that have negotiated TLSv1.2 or less" ---------------------------

@pytest.mark.parametrize("method", ["renegotiate", "renegotiate_abbreviated"])
def test_on_tls13_they_fail_and_nothing_is_sent(method):
    client, server = connected_pair()
    drain(client), drain(server)
    for conn in (client, server):
        with pytest.raises(errors.UsageError, match="TLS 1.2 only"):
            getattr(conn, method)()
        assert not conn.renegotiate_pending()
        conn.do_handshake()
        assert conn.data_to_send() == b""


def test_before_the_handshake_and_after_close_they_fail():
    client = Connection(client12())
    with pytest.raises(errors.UsageError, match="completed handshake"):
        client.renegotiate()
    client, server = pair12()
    client.close()
    with pytest.raises(errors.UsageError, match="closed"):
        client.renegotiate_abbreviated()


# --- client: SSL_renegotiate --------------------------------------------------------------------------

def test_client_renegotiate_is_scheduled_until_the_next_io():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    assert client.renegotiate_pending()              # scheduled, not yet acted on
    assert client.data_to_send() == b""
    client.do_handshake()                            # the I/O that starts it
    assert not client.renegotiate_pending()          # the new handshake has started
    hello = client_hello(drain(client))
    assert hello.legacy_session_id == b""            # SSL_renegotiate: no session offered
    pump(client, server)
    evs = drain(client)
    finished = of_type(evs, events.RenegotiationFinished)
    assert [(e.initiator, e.abbreviated, e.number, e.epoch) for e in finished] == \
        [("client", False, 1, "application-1")]
    assert received_messages(evs, Certificate12)                  # a full handshake
    assert client.write_epoch == client.read_epoch == server.write_epoch == "application-1"


@pytest.mark.parametrize("io", ["send", "receive_data", "do_handshake"])
def test_any_io_starts_the_scheduled_renegotiation(io):
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    if io == "send":
        client.send(b"data")
    elif io == "receive_data":
        server.send(b"from the server")
        client.receive_data(server.data_to_send())
    else:
        client.do_handshake()
    assert not client.renegotiate_pending()
    assert of_type(drain(client), events.RenegotiationStarted)


@pytest.mark.parametrize("io", ["send", "receive_data", "do_handshake"])
def test_any_io_sends_the_scheduled_hello_request(io):
    client, server = pair12()
    server.renegotiate_abbreviated()
    assert server.data_to_send() == b""
    if io == "send":
        server.send(b"data")
    elif io == "receive_data":
        client.send(b"from the client")
        server.receive_data(client.data_to_send())
    else:
        server.do_handshake()
    assert sent_messages(drain(server), HelloRequest) == [HelloRequest()]
    assert server.renegotiate_pending()           # acted on by us; the new handshake has not started yet


def test_client_renegotiate_abbreviated_resumes_the_current_session():
    client, server = pair12(server_overrides=ALLOW)
    session_id = client.negotiated.session_id
    client.renegotiate_abbreviated()
    assert client.renegotiate_pending()
    client.do_handshake()
    evs = drain(client)
    assert client_hello(evs).legacy_session_id == session_id
    started = of_type(evs, events.RenegotiationStarted)[0]
    assert (started.initiator, started.abbreviated, started.previous_epoch) == ("client", True, "application-0")
    pump(client, server)
    evs = drain(client)
    assert received_messages(evs, Certificate12) == []            # no certificate: abbreviated
    finished = of_type(evs, events.RenegotiationFinished)[0]
    assert finished.abbreviated and client.negotiated.resumed and server.negotiated.resumed
    assert client.negotiated.session_id == session_id


def test_an_abbreviated_renegotiation_falls_back_to_full_when_the_server_will_not_resume():
    client, server = pair12(server_overrides=ALLOW)
    server.handshake.context.session = dataclasses.replace(server.handshake.context.session, session_id=bytes(32))
    client.renegotiate_abbreviated()
    client.do_handshake()
    pump(client, server)
    finished = of_type(drain(client), events.RenegotiationFinished)[0]
    assert not finished.abbreviated and not client.negotiated.resumed
    assert client.negotiated.session_id == server.negotiated.session_id != bytes(32)


# --- abbreviated renegotiation by RFC 5077 ticket -----------------------------------------------------------

TICKETS = {"session_ticket_extension": True}      # the client asks for TLS 1.2 tickets; the server issues them


def offered_ticket(hello: ClientHello) -> bytes | None:
    ticket = hello.get_extension(SessionTicket)
    return ticket.ticket if ticket is not None else None


def renegotiate_by(client, server, initiator: str) -> tuple[list, list]:
    (client if initiator == "client" else server).renegotiate_abbreviated()
    (client if initiator == "client" else server).do_handshake()
    pump(client, server)
    return drain(client), drain(server)


@pytest.mark.parametrize("initiator", ["client", "server"])
def test_an_abbreviated_renegotiation_offers_the_sessions_ticket_and_resumes(initiator):
    # renegotiate_abbreviated() on the client, or the client's answer to a HelloRequest (OpenSSL's client
    # does the same): the ticket of the current session, under a session ID made from it (RFC 5077 3.4).
    client, server = connected_pair(client12(**TICKETS), server12(**ALLOW))
    cev, sev = drain(client), drain(server)
    (first_ticket,) = [e.ticket for e in of_type(cev, events.TicketReceived)]
    first_id = client.negotiated.session_id
    master_secret = client.key_log_lines()[0].split()[2]
    ticket = first_ticket
    for number in (1, 2):              # the second renegotiation offers the ticket the first one brought
        cev, sev = renegotiate_by(client, server, initiator)
        hello = client_hello(cev)
        assert offered_ticket(hello) == ticket
        (ticket,) = [e.ticket for e in of_type(sev, events.TicketIssued)]   # a fresh one, before the server's CCS
        assert [e.ticket for e in of_type(cev, events.TicketReceived)] == [ticket]
        assert hello.legacy_session_id not in (b"", first_id)
        assert sent_messages(sev, ServerHello)[0].legacy_session_id_echo == hello.legacy_session_id
        assert received_messages(cev, Certificate12) == []
        for conn, evs in ((client, cev), (server, sev)):
            assert [(e.number, e.abbreviated) for e in of_type(evs, events.RenegotiationFinished)] == [(number, True)]
            assert conn.negotiated.resumed and conn.negotiated.session_id == hello.legacy_session_id
            assert of_type(evs, events.ResumptionRefused) == []
    assert offered_ticket(client_hello(cev)) != first_ticket
    assert {line.split()[2] for line in client.key_log_lines()} == {master_secret}
    client.send(b"after both")
    pump(client, server)
    assert app_data_epochs(drain(server)) == [(b"after both", "application-2")]


def test_a_ticket_for_another_session_does_not_resume_a_renegotiation():
    # A valid ticket of this server, for a session of another connection: a renegotiation takes up only the
    # connection's own session (RFC 5746 binds it to this connection), so the handshake is a full one.
    server_config = server12(**ALLOW)
    other, _ = connected_pair(client12(**TICKETS), server_config)
    foreign = of_type(drain(other), events.TicketReceived)[0].ticket
    client, server = connected_pair(client12(**TICKETS), server_config)
    drain(client), drain(server)
    client.handshake.context.session_ticket = foreign
    cev, sev = renegotiate_by(client, server, "client")
    assert offered_ticket(client_hello(cev)) == foreign
    assert [e.reason for e in of_type(sev, events.ResumptionRefused)] == [
        "the ticket holds another session than this connection's: a renegotiation resumes only the current session"]
    assert received_messages(cev, Certificate12)
    for conn, evs in ((client, cev), (server, sev)):
        assert [e.abbreviated for e in of_type(evs, events.RenegotiationFinished)] == [False]
        assert not conn.negotiated.resumed


def test_with_a_ticket_the_session_id_is_not_used_to_resume():
    # RFC 5077 3.4: a server given a ticket must not resume by the session ID. Here the session ID names the
    # connection's session, the ticket is damaged: a full handshake.
    client, server = connected_pair(client12(**TICKETS), server12(**ALLOW))
    drain(client), drain(server)
    context = client.handshake.context
    context.session_ticket = bytes(len(context.session_ticket))
    client.renegotiate_abbreviated()
    client.do_handshake()
    hello = client_hello(drain(client))
    server_context = server.handshake.context
    server_context.session = dataclasses.replace(server_context.session, session_id=hello.legacy_session_id)
    pump(client, server)
    sev = drain(server)
    assert len(of_type(sev, events.ResumptionRefused)) == 1
    assert [e.abbreviated for e in of_type(sev, events.RenegotiationFinished)] == [False]
    assert not client.negotiated.resumed and not server.negotiated.resumed


def test_without_a_ticket_the_renegotiation_still_resumes_by_session_id():
    client, server = pair12(server_overrides=ALLOW)
    assert client.handshake.context.session_ticket == b""
    cev, sev = renegotiate_by(client, server, "client")
    assert offered_ticket(client_hello(cev)) is None
    assert client_hello(cev).legacy_session_id == server.negotiated.session_id
    assert [e.abbreviated for e in of_type(sev, events.RenegotiationFinished)] == [True]


# --- server: SSL_renegotiate / SSL_renegotiate_abbreviated -----------------------------------------------

@pytest.mark.parametrize("method", ["renegotiate", "renegotiate_abbreviated"])
def test_server_both_send_a_hello_request_at_the_next_io(method):
    client, server = pair12()
    getattr(server, method)()
    assert server.renegotiate_pending() and server.data_to_send() == b""
    server.do_handshake()
    assert sent_messages(drain(server), HelloRequest) == [HelloRequest()]
    assert server.renegotiate_pending()          # requested; the new handshake has not started yet
    client.receive_data(server.data_to_send())   # transparently: the client answers within its read
    evs = drain(client)
    assert [e.action for e in of_type(evs, events.HelloRequestReceived)] == ["renegotiating"]
    hello = client_hello(evs)
    assert hello.legacy_session_id == client.negotiated.session_id     # the client tries to resume
    server.receive_data(client.data_to_send())
    assert not server.renegotiate_pending()      # the new handshake started
    pump(client, server)
    for conn in (client, server):
        finished = of_type(drain(conn), events.RenegotiationFinished)
        assert [(e.initiator, e.abbreviated) for e in finished] == [("server", True)]


def test_a_hello_request_is_not_hashed():
    client, server = pair12()
    server.renegotiate()
    server.do_handshake()
    pump(client, server)
    # Both Finished verified: neither side put the HelloRequest in its transcript.
    assert of_type(drain(client), events.RenegotiationFinished)


def test_a_client_may_refuse_the_request_and_the_connection_goes_on():
    client, server = pair12({"allow_renegotiation": False})
    server.renegotiate()
    server.do_handshake()
    client.receive_data(server.data_to_send())
    evs = drain(client)
    assert [e.action for e in of_type(evs, events.HelloRequestReceived)] == ["refused"]
    alert = of_type(evs, events.AlertSent)[0]
    assert (alert.level, alert.description) == (AlertLevel.WARNING, AD.no_renegotiation)
    server.receive_data(client.data_to_send())
    evs = drain(server)
    refused = of_type(evs, events.RenegotiationRefused)
    assert [(e.initiator, e.by_peer) for e in refused] == [("server", True)]
    assert not server.renegotiate_pending()
    client.send(b"still here")
    server.receive_data(client.data_to_send())
    assert app_data_epochs(drain(server)) == [(b"still here", "application-0")]


def test_a_client_mid_handshake_ignores_a_hello_request():
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    client.receive_data(encode_record(ContentType.HANDSHAKE, encode_handshake(HelloRequest())))
    assert [e.action for e in of_type(drain(client), events.HelloRequestReceived)] == ["ignored"]
    pump(client, server)
    assert client.handshake_complete


# --- application data before, during and after -------------------------------------------------------

def test_data_flows_before_during_and_after_with_the_epochs_apart():
    client, server = pair12(server_overrides=ALLOW)
    client.send(b"before")
    server.send(b"before, from the server")
    pump(client, server)
    client.renegotiate()
    client.send(b"during")            # starts the renegotiation; the data waits for its end
    assert client.renegotiating
    server.send(b"while the client renegotiates")
    pump(client, server)
    assert not client.renegotiating
    client.send(b"after")
    server.send(b"after, from the server")
    pump(client, server)
    assert app_data_epochs(drain(server)) == [(b"before", "application-0"), (b"during", "application-1"),
                                              (b"after", "application-1")]
    assert app_data_epochs(drain(client)) == [(b"before, from the server", "application-0"),
                                              (b"while the client renegotiates", "application-0"),
                                              (b"after, from the server", "application-1")]


def test_the_renegotiation_events_in_order():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    client.do_handshake()
    pump(client, server)
    evs = drain(server)
    assert names(evs, events.RenegotiationStarted, events.ChangeCipherSpecReceived, events.KeysInstalled,
                 events.ChangeCipherSpecSent, events.RenegotiationFinished) == [
        "RenegotiationStarted", "ChangeCipherSpecReceived", "KeysInstalled", "ChangeCipherSpecSent",
        "KeysInstalled", "RenegotiationFinished"]
    # The new handshake travels under the old keys, its Finished under the new ones.
    handshake = [(e.epoch, e.inner_type) for e in of_type(evs, events.RecordReceived)
                 if e.content_type in (ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC)]
    assert handshake[0] == ("application-0", ContentType.HANDSHAKE)
    assert handshake[-1] == ("application-1", ContentType.HANDSHAKE)
    assert of_type(evs, events.HandshakeComplete) == []          # the first handshake's event is not repeated


def test_every_handshake_adds_a_key_log_line():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    client.do_handshake()
    pump(client, server)
    server.renegotiate()
    server.do_handshake()
    pump(client, server)
    lines = client.key_log_lines()
    assert lines == server.key_log_lines() and len(lines) == 3
    randoms = [line.split()[1] for line in lines]
    assert len(set(randoms)) == 3
    assert lines[2].split()[2] == lines[1].split()[2]             # the abbreviated one keeps the master secret
    assert client.write_epoch == "application-2"


def test_application_data_between_ccs_and_finished_is_unexpected_message():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    client.do_handshake()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())          # the server's flight: the client answers up to its Finished
    records = split_records(client.data_to_send())
    ccs = next(i for i, r in enumerate(records) if r[0] == ContentType.CHANGE_CIPHER_SPEC)
    server.receive_data(b"".join(records[:ccs + 1]))    # up to the client's change_cipher_spec
    hs = client.handshake
    new_keys = make_keys(hs.suite, hs.master_secret, hs.random, hs.server_random, "application-1").client_write
    with pytest.raises(errors.UnexpectedMessage):
        server.receive_data(new_keys.seal(ContentType.APPLICATION_DATA, b"too soon"))


# --- secure renegotiation (RFC 5746) -----------------------------------------------------------------

def renegotiating_hello_rewritten(change):
    client, server = pair12(server_overrides=ALLOW)
    rewrite_messages(client, lambda m: change(m) if isinstance(m, ClientHello) else None)
    client.renegotiate()
    client.do_handshake()
    return client, server


@pytest.mark.parametrize("change", [
    lambda m: dataclasses.replace(m, extensions=replace_extension(m.extensions, RenegotiationInfo)),
    lambda m: dataclasses.replace(m, extensions=replace_extension(m.extensions, RenegotiationInfo,
                                                                  RenegotiationInfo(bytes(12)))),
    lambda m: dataclasses.replace(m, cipher_suites=m.cipher_suites + (SCSV_RENEGOTIATION,)),
], ids=["no extension", "wrong verify_data", "scsv"])
def test_the_server_refuses_an_insecure_renegotiating_hello(change):
    client, server = renegotiating_hello_rewritten(change)
    with pytest.raises(errors.HandshakeFailure) as info:
        server.receive_data(client.data_to_send())
    assert info.value.alert == AD.handshake_failure and "RFC 5746" in str(info.value)


def test_the_client_refuses_a_server_hello_with_the_wrong_verify_data():
    client, server = pair12(server_overrides=ALLOW)
    rewrite_messages(server, lambda m: dataclasses.replace(m, extensions=replace_extension(
        m.extensions, RenegotiationInfo, RenegotiationInfo(bytes(24)))) if isinstance(m, ServerHello) else None)
    client.renegotiate()
    client.do_handshake()
    with pytest.raises(errors.HandshakeFailure) as info:
        pump(client, server)
    assert info.value.alert == AD.handshake_failure


def test_the_renegotiation_info_carries_both_verify_data():
    client, server = pair12(server_overrides=ALLOW)
    context = client.handshake.context
    client.renegotiate()
    client.do_handshake()
    assert client_hello(drain(client)).get_extension(RenegotiationInfo).renegotiated_connection == \
        context.client_verify_data
    server.receive_data(client.data_to_send())
    hello = sent_messages(drain(server), ServerHello)[0]
    assert hello.get_extension(RenegotiationInfo).renegotiated_connection == \
        context.client_verify_data + context.server_verify_data
    assert len(context.client_verify_data) == len(context.server_verify_data) == 12


def test_the_server_may_not_change_its_certificate():
    client, server = pair12(server_overrides=ALLOW)
    other = certs.issue(certs.root(), "ecdsa-p256")
    rewrite_messages(server, lambda m: Certificate12((other.certificate.public_bytes(Encoding.DER),))
                     if isinstance(m, Certificate12) else None)
    client.renegotiate()
    client.do_handshake()
    with pytest.raises(errors.BadCertificate):
        pump(client, server)


# --- policy switches ---------------------------------------------------------------------------------

def test_client_initiated_renegotiation_is_refused_by_default():
    client, server = pair12()
    client.renegotiate()
    client.send(b"held while the server answers")
    pump(client, server)
    server_evs, client_evs = drain(server), drain(client)
    assert [(e.initiator, e.by_peer) for e in of_type(server_evs, events.RenegotiationRefused)] == [("client", False)]
    assert [(e.initiator, e.by_peer) for e in of_type(client_evs, events.RenegotiationRefused)] == [("client", True)]
    warning = of_type(server_evs, events.AlertSent)[0]
    assert (warning.level, warning.description) == (AlertLevel.WARNING, AD.no_renegotiation)
    assert app_data_epochs(server_evs) == [(b"held while the server answers", "application-0")]
    assert not client.renegotiating and client.write_epoch == "application-0"
    client.send(b"and after")
    pump(client, server)
    assert app_data(drain(server)) == b"and after"


def test_refusing_all_renegotiation():
    client, server = pair12({"allow_renegotiation": False}, {"allow_renegotiation": False, **ALLOW})
    with pytest.raises(errors.UsageError, match="disabled"):
        client.renegotiate()
    with pytest.raises(errors.UsageError, match="disabled"):
        server.renegotiate()
    # A peer that renegotiates anyway is told no.
    client.config.allow_renegotiation = True
    client.renegotiate()
    client.do_handshake()
    server.receive_data(client.data_to_send())
    refused = of_type(drain(server), events.RenegotiationRefused)
    assert refused and "allow_renegotiation=False" in refused[0].reason


def test_client_renegotiation_rate_limit():
    now = [1000.0]
    client, server = pair12(server_overrides={**ALLOW, "client_renegotiation_limit": (2, 60.0),
                                              "clock": lambda: now[0]})

    def attempt() -> bool:
        client.renegotiate()
        client.do_handshake()
        pump(client, server)
        evs = drain(server)
        return bool(of_type(evs, events.RenegotiationFinished))

    assert attempt() and attempt()
    assert not attempt()                               # a third within the minute
    now[0] += 61
    assert attempt()
    assert len(client.key_log_lines()) == 4            # three renegotiations and the first handshake


def test_a_server_request_during_a_client_renegotiation_is_served_by_it():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    client.do_handshake()
    server.renegotiate()
    server.receive_data(client.data_to_send())          # the client's ClientHello comes first
    assert not server.renegotiate_pending()
    pump(client, server)
    assert sent_messages(drain(server), HelloRequest) == []


def test_the_client_cannot_start_a_second_one_while_one_runs():
    client, server = pair12(server_overrides=ALLOW)
    client.renegotiate()
    client.do_handshake()
    with pytest.raises(errors.UsageError, match="under way"):
        client.renegotiate()


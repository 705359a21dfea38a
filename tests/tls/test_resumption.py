"""TLS 1.3 resumption between our client and server: the PSK modes, every server check and its
reason (lifetime, age, hash, server name, key rotation, stateful single use), the binder, a
HelloRetryRequest on the way, and a ticket key shared by two servers through a key file."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, NamedGroup, PskKeyExchangeMode, SessionFlag
from workbench.tls.extensions import KeyShareServerHello, PreSharedKeyClientHello, PreSharedKeyServerHello, \
    PskKeyExchangeModes
from workbench.tls.messages import Certificate, Certificate12, ClientHello, ServerHello
from workbench.tls.psk import client_ticket_age
from workbench.tls.session_data import decode
from workbench.tls.tickets import SessionTickets, TicketKeyRing

from . import certs
from .pair import connected_pair, deliver, drain, make_client_config, make_server_config, pump, rewrite_messages

DHE, KE = PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def first_session(client_config=None, server_config=None) -> bytes:
    client, _ = connected_pair(client_config or make_client_config(), server_config or make_server_config())
    return client.session_data()


def resume(blob: bytes, client_config=None, server_config=None) -> tuple[Connection, Connection, list, list]:
    client = Connection(client_config or make_client_config())
    server = Connection(server_config or make_server_config())
    client.set_session_data(blob)
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server, drain(client), drain(server)


def of(evs, cls):
    return [e for e in evs if isinstance(e, cls)]


def sent(evs, cls):
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageSent) and isinstance(e.message, cls)]


def refused_reason(evs) -> str:
    (refused,) = of(evs, events.ResumptionRefused)
    return refused.reason


# --- resumption works --------------------------------------------------------------------------------

def test_resumed_handshake_skips_the_certificate_and_says_so_everywhere():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    client, server, cev, sev = resume(blob, server_config=server_config)
    for conn, evs in ((client, cev), (server, sev)):
        assert conn.negotiated.resumed and SessionFlag.RESUMED in conn.session_flags()
        (complete,) = of(evs, events.HandshakeComplete)
        assert complete.resumed and complete.signature_scheme is None
        assert [type(e).__name__ for e in evs if e.kind == "resumption"] == ["ResumptionOffered",
                                                                             "ResumptionAccepted"]
    assert not sent(sev, Certificate)
    (accepted,) = of(sev, events.ResumptionAccepted)
    assert accepted.ticket == decode(blob).ticket and accepted.psk_mode == DHE
    (offered,) = of(cev, events.ResumptionOffered)
    assert offered.ticket_age is not None and 0 <= offered.ticket_age < 10000 and not offered.early_data
    assert client.group == NamedGroup.X25519                     # psk_dhe_ke by default
    client.send(b"after resumption")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, events.ApplicationData)] == [b"after resumption"]


def test_the_obfuscated_age_hides_the_age_and_the_server_recovers_it():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    session = decode(blob)
    client = Connection(make_client_config())
    client.set_session_data(blob)
    client.start_handshake()
    hello = [m for m in sent(drain(client), ClientHello)][0]
    psk = hello.extensions[-1]
    assert isinstance(psk, PreSharedKeyClientHello) and len(psk.binders[0]) == 32
    identity = psk.identities[0]
    assert identity.identity == session.ticket and identity.obfuscated_ticket_age != 0
    assert client_ticket_age(identity.obfuscated_ticket_age, session.age_add) < 10000


def test_psk_ke_resumes_without_a_key_exchange():
    server_config = make_server_config(psk_modes=(DHE, KE))
    blob = first_session(server_config=server_config)
    client, server, cev, sev = resume(blob, make_client_config(psk_modes=(KE,)), server_config)
    (hello,) = sent(sev, ServerHello)
    assert hello.get_extension(KeyShareServerHello) is None and hello.get_extension(PreSharedKeyServerHello)
    assert client.group is None and server.group is None
    assert of(sev, events.ResumptionAccepted)[0].psk_mode == KE


def test_psk_dhe_ke_is_preferred_when_both_modes_are_allowed():
    server_config = make_server_config(psk_modes=(KE, DHE))
    blob = first_session(server_config=server_config)
    client, _, _, sev = resume(blob, make_client_config(psk_modes=(KE, DHE)), server_config)
    assert of(sev, events.ResumptionAccepted)[0].psk_mode == DHE and client.group is not None


def test_no_psk_mode_in_common_is_a_full_handshake_with_the_reason():
    server_config = make_server_config()                     # psk_dhe_ke only, as OpenSSL by default
    blob = first_session(server_config=server_config)
    client, _, cev, sev = resume(blob, make_client_config(psk_modes=(KE,)), server_config)
    assert not client.negotiated.resumed
    assert "no PSK key exchange mode in common" in refused_reason(sev)
    assert "full handshake" in refused_reason(cev)


def test_another_suite_with_the_same_hash_resumes():
    server_config = make_server_config(cipher_suites=(0x1301, 0x1303))
    blob = first_session(make_client_config(cipher_suites=(0x1301,)), server_config)
    client, _, _, _ = resume(blob, make_client_config(cipher_suites=(0x1303,)), server_config)
    assert client.negotiated.resumed and client.cipher_suite == 0x1303


def test_a_suite_with_another_hash_is_a_full_handshake_with_the_reason():
    server_config = make_server_config(cipher_suites=(0x1302, 0x1301))
    blob = first_session(make_client_config(cipher_suites=(0x1301,)), server_config)
    client, _, _, sev = resume(blob, make_client_config(cipher_suites=(0x1301, 0x1302)), server_config)
    assert not client.negotiated.resumed and client.cipher_suite == 0x1302
    assert "hash (SHA256) differs" in refused_reason(sev)


# --- the server's checks, each with its reason -------------------------------------------------------

def test_ticket_past_its_lifetime_on_the_server_clock_is_refused():
    server_clock = Clock()
    server_config = make_server_config(ticket_lifetime=30, clock=server_clock)
    blob = first_session(server_config=server_config)
    server_clock.now += 31
    client, _, _, sev = resume(blob, server_config=server_config)
    assert not client.negotiated.resumed and "ticket expired" in refused_reason(sev)


def test_client_ticket_age_beyond_the_lifetime_is_refused():
    server_config = make_server_config(ticket_lifetime=30, early_data_age_tolerance=5)
    blob = first_session(server_config=server_config)
    stretched = replace(decode(blob), lifetime=3600).encode()      # the client believes in a longer life ...
    client_clock = Clock()
    client_clock.now += 40                                          # ... and its clock runs 40 s ahead
    client, _, _, sev = resume(stretched, make_client_config(clock=client_clock), server_config)
    assert not client.negotiated.resumed
    assert "exceeds the ticket lifetime" in refused_reason(sev)


def test_server_name_must_match_the_original_session():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    moved = replace(decode(blob), server_name="other.test").encode()
    client_config = make_client_config(server_name="other.test", verify_peer=False)
    client, _, _, sev = resume(moved, client_config, server_config)
    assert not client.negotiated.resumed
    assert "issued for server name 'localhost'" in refused_reason(sev)


def test_ticket_from_another_server_is_refused_and_the_handshake_is_full():
    blob = first_session(server_config=make_server_config())
    other = make_server_config()
    first_session(server_config=other)              # the other server holds a ticket key of its own
    client, _, _, sev = resume(blob, server_config=other)
    assert not client.negotiated.resumed and "another ticket key" in refused_reason(sev)


def test_altered_binder_aborts_with_decrypt_error():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    client = Connection(make_client_config())
    client.set_session_data(blob)

    def alter(message):
        if isinstance(message, ClientHello):
            psk = message.extensions[-1]
            bad = PreSharedKeyClientHello(psk.identities, (bytes(32),))
            return replace(message, extensions=message.extensions[:-1] + (bad,))
        return None
    rewrite_messages(client, alter)
    server = Connection(server_config)
    client.start_handshake()
    with pytest.raises(errors.DecryptError, match="binder"):
        deliver(client, server)
    assert "binder does not verify" in refused_reason(drain(server))
    with pytest.raises(errors.AlertReceived) as info:
        deliver(server, client)
    assert info.value.description == AlertDescription.decrypt_error


def test_pre_shared_key_without_psk_modes_is_missing_extension():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    client = Connection(make_client_config())
    client.set_session_data(blob)
    rewrite_messages(client, lambda m: replace(m, extensions=tuple(
        e for e in m.extensions if not isinstance(e, PskKeyExchangeModes))) if isinstance(m, ClientHello) else None)
    client.start_handshake()
    with pytest.raises(errors.MissingExtension):
        deliver(client, Connection(server_config))


def test_client_refuses_a_server_hello_selecting_an_identity_it_did_not_offer():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    client = Connection(make_client_config())
    client.set_session_data(blob)
    server = Connection(server_config)
    rewrite_messages(server, lambda m: replace(m, extensions=tuple(
        PreSharedKeyServerHello(1) if isinstance(e, PreSharedKeyServerHello) else e for e in m.extensions))
        if isinstance(m, ServerHello) else None)
    client.start_handshake()
    deliver(client, server)
    with pytest.raises(errors.IllegalParameter, match="identity 1"):
        deliver(server, client)


# --- single use, stateful tickets, reuse -------------------------------------------------------------

def test_stateful_tickets_resume_once_only():
    server_config = make_server_config(tickets=SessionTickets(stateful=True))
    client_config = make_client_config(ticket_reuse=True)          # the client tries twice anyway
    blob = first_session(client_config, server_config)
    assert resume(blob, client_config, server_config)[0].negotiated.resumed
    client, _, _, sev = resume(blob, client_config, server_config)
    assert not client.negotiated.resumed and "already used" in refused_reason(sev)


def test_stateless_ticket_reused_by_policy_resumes_again_and_is_visible_on_the_wire():
    """What the reuse lab shows: the same identity in clear in two ClientHellos links them."""
    server_config = make_server_config()
    client_config = make_client_config(ticket_reuse=True)
    blob = first_session(client_config, server_config)
    identities = []
    for _ in range(2):
        client, _, cev, _ = resume(blob, client_config, server_config)
        assert client.negotiated.resumed
        identities.append(sent(cev, ClientHello)[0].extensions[-1].identities[0].identity)
    assert identities[0] == identities[1]


def test_resumed_session_can_be_resumed_again_with_its_new_tickets():
    server_config = make_server_config()
    blob = first_session(server_config=server_config)
    client, _, cev, _ = resume(blob, server_config=server_config)
    assert len(of(cev, events.TicketReceived)) == 2
    again, _, _, _ = resume(client.session_data(), server_config=server_config)
    assert again.negotiated.resumed


def test_resumed_session_keeps_the_client_certificate_identity():
    leaf = certs.client_leaf("ecdsa-p256")
    client_config = make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key)
    server_config = make_server_config(request_client_certificate=True, client_trust_anchors=(certs.root().certificate,))
    original_client, original_server = connected_pair(client_config, server_config)
    _, server, _, _ = resume(original_client.session_data(), make_client_config(), server_config)
    assert server.negotiated.resumed and server.peer_certificates == original_server.peer_certificates != ()


# --- HelloRetryRequest -------------------------------------------------------------------------------

def test_resumption_survives_a_hello_retry_request():
    server_config = make_server_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519))
    blob = first_session(server_config=server_config)
    client, server, cev, _ = resume(blob, server_config=server_config)      # the client shares x25519 first
    assert client.negotiated.hello_retry and client.negotiated.resumed and server.negotiated.resumed
    hellos = sent(cev, ClientHello)
    assert len(hellos) == 2 and hellos[0].extensions[-1].binders != hellos[1].extensions[-1].binders


def test_hello_retry_to_a_suite_with_another_hash_drops_the_session():
    server_config = make_server_config(cipher_suites=(0x1302, 0x1301),
                                       supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519))
    blob = first_session(make_client_config(cipher_suites=(0x1301,)), server_config)
    client, _, cev, _ = resume(blob, make_client_config(cipher_suites=(0x1301, 0x1302)), server_config)
    assert client.negotiated.hello_retry and not client.negotiated.resumed
    assert "hash differs" in refused_reason(cev)
    assert not isinstance(sent(cev, ClientHello)[1].extensions[-1], PreSharedKeyClientHello)


# --- a ticket key shared between servers, and its rotation -------------------------------------------

def test_ticket_from_one_server_resumes_on_another_sharing_the_key_file(tmp_path):
    path = tmp_path / "ticket.keys"
    first = make_server_config(tickets=TicketKeyRing.load_or_create(path))
    second = make_server_config(tickets=TicketKeyRing.load(path))     # another process would load it the same way
    blob = first_session(server_config=first)
    client, server, _, _ = resume(blob, server_config=second)
    assert client.negotiated.resumed and server.negotiated.resumed


def test_after_rotation_past_the_grace_period_the_ticket_gets_a_full_handshake(tmp_path):
    path = tmp_path / "ticket.keys"
    TicketKeyRing.generate(rotation_interval=3600, grace_period=600).save(path)
    clock = Clock()
    issuing = make_server_config(tickets=TicketKeyRing.load(path), clock=clock)
    blob = first_session(make_client_config(ticket_reuse=True), issuing)
    keys = TicketKeyRing.load(path)
    retired = keys.retired_at(keys.period(clock.now))
    later = Clock()
    later.now = retired - 1                     # still inside the grace period: resumes
    inside = make_server_config(tickets=TicketKeyRing.load(path), clock=later)
    client_config = make_client_config(ticket_reuse=True, clock=lambda: clock.now + 1)
    assert resume(blob, client_config, inside)[0].negotiated.resumed
    later.now = retired + 1                     # past it: a full handshake, and the reason
    client, _, _, sev = resume(blob, client_config, inside)
    assert not client.negotiated.resumed and "rotated out" in refused_reason(sev)


# --- TLS 1.2: session IDs and RFC 5077 tickets --------------------------------------------------------

TLS12 = 0x0303


def client12(**overrides):
    return make_client_config(versions=(TLS12,), **overrides)


def server12(**overrides):
    return make_server_config(versions=(TLS12,), **overrides)


def test_tls12_session_id_resumes_on_a_later_connection():
    server_config = server12()
    blob = first_session(client12(), server_config)
    session = decode(blob)
    assert (session.tls_version, session.ticket, len(session.session_id)) == (TLS12, b"", 32)
    assert session.extended_master_secret and len(session.secret) == 48
    client, server, cev, sev = resume(blob, client12(), server_config)
    for conn, evs in ((client, cev), (server, sev)):
        assert conn.negotiated.resumed and conn.session_flags() & SessionFlag.RESUMED
        assert SessionFlag.EXTENDED_MASTER_SECRET in conn.session_flags()
        assert [type(e).__name__ for e in evs if e.kind == "resumption"] == ["ResumptionOffered",
                                                                             "ResumptionAccepted"]
    assert not sent(sev, Certificate12) and client.negotiated.session_id == session.session_id
    client.send(b"resumed 1.2")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, events.ApplicationData)] == [b"resumed 1.2"]


def test_tls12_ticket_resumes_on_another_server_sharing_the_key():
    keys = TicketKeyRing.generate()
    issuing = server12(tickets=keys)
    blob = first_session(client12(session_ticket_extension=True), issuing)
    session = decode(blob)
    assert session.ticket and session.lifetime == 7200
    other = server12(tickets=keys)                        # its session ID cache is empty: the ticket resumes
    client, server, cev, sev = resume(blob, client12(session_ticket_extension=True), other)
    assert client.negotiated.resumed and server.negotiated.resumed
    assert of(sev, events.ResumptionAccepted)[0].ticket == session.ticket
    assert of(cev, events.TicketReceived)                 # a fresh ticket on resumption, too


def test_tls12_tickets_are_issued_only_to_clients_that_ask():
    _, server = connected_pair(client12(), server12())
    assert not of(drain(server), events.TicketIssued)
    client, server = connected_pair(client12(session_ticket_extension=True), server12())
    (issued,) = of(drain(server), events.TicketIssued)
    (received,) = of(drain(client), events.TicketReceived)
    assert issued.ticket == received.ticket and issued.version == received.version == TLS12
    assert SessionFlag.SESSION_TICKET in client.session_flags()


def test_tls12_unknown_session_id_gets_a_full_handshake_with_the_reason():
    blob = first_session(client12(), server12())
    client, _, _, sev = resume(blob, client12(), server12())
    assert not client.negotiated.resumed and "session ID unknown" in refused_reason(sev)


def test_tls12_session_cache_is_bounded_and_expires():
    from workbench.tls.session_cache import SessionCache
    clock = Clock()
    server_config = server12(session_cache=SessionCache(1), clock=clock, ticket_lifetime=60)
    client_config = client12(clock=clock)
    first = first_session(client_config, server_config)
    second = first_session(client_config, server_config)           # evicts the first
    assert resume(second, client_config, server_config)[0].negotiated.resumed
    assert not resume(first, client_config, server_config)[0].negotiated.resumed    # and caches a third
    second = first_session(client_config, server_config)
    clock.now += 61
    client, _, _, sev = resume(second, client_config, server_config)
    assert not client.negotiated.resumed and "unknown" in refused_reason(sev)


def test_tls12_without_extended_master_secret_gives_no_session_data_and_is_not_cached():
    from workbench.tls.extensions import ExtendedMasterSecret
    from workbench.tls.session_data import NoSessionData
    server_config = server12()
    client = Connection(client12())
    rewrite_messages(client, lambda m: replace(m, extensions=tuple(
        e for e in m.extensions if not isinstance(e, ExtendedMasterSecret))) if isinstance(m, ClientHello) else None)
    server = Connection(server_config)
    client.start_handshake()
    pump(client, server)
    assert SessionFlag.EXTENDED_MASTER_SECRET not in client.session_flags()
    with pytest.raises(NoSessionData, match="extended master secret"):
        client.session_data()
    assert len(server_config.session_cache) == 0


def test_tls12_stateful_tickets_resume_once():
    server_config = server12(tickets=SessionTickets(stateful=True))
    client_config = client12(session_ticket_extension=True)
    blob = first_session(client_config, server_config)
    server_config.session_cache.purge(time.time() + 10**6)         # only the ticket can resume it
    assert resume(blob, client_config, server_config)[0].negotiated.resumed
    client, _, _, sev = resume(blob, client_config, server_config)
    assert not client.negotiated.resumed and "store" in refused_reason(sev)


def test_tls12_server_name_must_match():
    server_config = server12()
    blob = replace(decode(first_session(client12(), server_config)), server_name="other.test").encode()
    client, _, _, sev = resume(blob, client12(server_name="other.test", verify_peer=False), server_config)
    assert not client.negotiated.resumed and "server name" in refused_reason(sev)


def test_sessions_of_a_version_the_client_does_not_offer_are_refused():
    from workbench.tls.session_data import SessionDataError
    blob12 = first_session(client12(), server12())
    with pytest.raises(SessionDataError, match="TLS12 session"):
        Connection(make_client_config()).set_session_data(blob12)
    blob13 = first_session()
    with pytest.raises(SessionDataError, match="TLS13 session"):
        Connection(client12()).set_session_data(blob13)


def test_a_tls12_session_offered_by_a_client_of_both_versions_is_refused_with_the_reason():
    server_config = make_server_config(versions=(0x0304, TLS12))
    blob = first_session(client12(), server_config)
    client = Connection(make_client_config(versions=(0x0304, TLS12)))
    client.set_session_data(blob)
    client.start_handshake()
    assert "TLS 1.2 alone" in refused_reason(drain(client))

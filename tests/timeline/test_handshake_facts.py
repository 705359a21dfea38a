"""Facts read from handshake messages, parsed or raw."""
from __future__ import annotations

from workbench.tls import messages as m
from workbench.tls.extensions import (ALPN, EarlyData, PreSharedKeyClientHello, PreSharedKeyServerHello,
                                      PskIdentity, ServerName, SupportedVersionsClientHello,
                                      SupportedVersionsServerHello)
from workbench.timeline import handshake_facts as hf


def test_client_hello_offers():
    hello = m.ClientHello(b"\x01" * 32, b"\x02" * 32, (0x1301,), (
        ServerName("example.test"), SupportedVersionsClientHello((0x0304, 0x0303)), EarlyData(),
        PreSharedKeyClientHello((PskIdentity(b"ticket-a", 1), PskIdentity(b"ticket-b", 2)),
                                (b"\x00" * 32, b"\x00" * 32))))
    facts = hf.client_hello_facts(hf.decode(m.encode_handshake(hello)))
    assert facts.psk_identities == (b"ticket-a", b"ticket-b") and facts.early_data
    assert facts.versions == (0x0304, 0x0303) and facts.server_name == "example.test"
    assert facts.random == b"\x01" * 32 and facts.session_ticket == b""
    assert hf.client_hello_facts(m.Finished(b"")) is None


def test_server_hello_and_hello_retry():
    hello = m.ServerHello(b"\x03" * 32, b"", 0x1302, (SupportedVersionsServerHello(0x0304),
                                                      PreSharedKeyServerHello(1)))
    raw = m.encode_handshake(hello)
    facts = hf.server_hello_facts(hf.decode(raw))
    assert (facts.version, facts.cipher_suite, facts.selected_identity, facts.hello_retry) == (0x0304, 0x1302, 1,
                                                                                             False)
    retry = m.encode_handshake(m.ServerHello(m.HELLO_RETRY_REQUEST_RANDOM, b"", 0x1301,
                                             (SupportedVersionsServerHello(0x0304),)))
    assert hf.is_hello_retry(retry) and not hf.is_hello_retry(raw)
    assert not hf.is_hello_retry(retry[:20])


def test_tickets_of_both_versions_and_an_undecided_version():
    nst13 = m.NewSessionTicket(3600, 77, b"\x05", b"T" * 40, (EarlyData(16384),))
    nst12 = m.NewSessionTicket12(100, b"U" * 40)
    assert hf.ticket_facts(hf.decode(m.encode_handshake(nst13))) == hf.TicketFacts(0x0304, 3600, b"T" * 40, 77,
                                                                                  b"\x05", 16384)
    raw12 = m.encode_handshake(nst12)
    assert hf.decode(raw12, tls13=True) is None                 # not a valid TLS 1.3 ticket
    assert hf.ticket_facts(hf.decode(raw12, tls13=None)) == hf.TicketFacts(0x0303, 100, b"U" * 40, None, None,
                                                                           None)


def test_parsed_messages_are_used_as_given_and_extensions_read():
    ee = m.EncryptedExtensions((EarlyData(), ALPN((b"h2",))))
    assert hf.decode(b"garbage", ee) is ee
    assert hf.early_data_accepted(ee) is True and hf.alpn_selected(ee) == b"h2"
    assert hf.early_data_accepted(m.EncryptedExtensions(())) is False
    assert hf.key_update_requested(m.encode_handshake(m.KeyUpdate(1)))
    assert not hf.key_update_requested(m.encode_handshake(m.KeyUpdate(0)))

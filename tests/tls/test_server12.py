"""The TLS 1.2 server: Python's ssl module as its client for every suite, what its ServerHello says,
and the alert each broken ClientHello or client flight gets."""
from __future__ import annotations

import dataclasses

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, ContentType, NamedGroup, SignatureScheme
from workbench.tls.extensions import (ALPN, ECPointFormats, ExtendedMasterSecret, RenegotiationInfo, ServerName,
                                      SignatureAlgorithms, SupportedGroups)
from workbench.tls.handshake12 import DOWNGRADE_TLS12, SCSV_RENEGOTIATION
from workbench.tls.messages import CertificateVerify, ClientHello, ClientKeyExchangeECDHE, Finished, ServerHello
from workbench.tls.record import encode_record

from . import certs
from .pair import drain, pump, replace_extension, rewrite_messages
from .ssl_peer12 import ssl_client12
from .tls12_pairs import SUITES, TLS12, TLS13, app_data, client12, of_type, pair12, sent_messages, server12

AD = AlertDescription


def with_fields(message, **changes):
    return dataclasses.replace(message, **changes)


def on(cls, change):
    return lambda m: change(m) if isinstance(m, cls) else None


def server_fails_with(client: Connection, server: Connection, error: type, alert: AlertDescription):
    with pytest.raises(error) as info:
        pump(client, server)
    assert info.value.alert == alert
    sent = of_type(drain(server), events.AlertSent)
    assert sent and sent[-1].description == alert and sent[-1].level == 2
    return info.value


def broken_client(rewrite, client_overrides=None, **server_overrides):
    client = Connection(client12(**(client_overrides or {})))
    server = Connection(server12(**server_overrides))
    rewrite_messages(client, rewrite)
    client.start_handshake()
    return client, server


# --- handshakes that work --------------------------------------------------------------------------

@pytest.mark.parametrize("suite,key_type", SUITES)
def test_python_ssl_client_for_every_suite(tmp_path, suite, key_type):
    peer = ssl_client12(tmp_path, suite)
    server = Connection(server12(key_type))
    peer.exchange(server)
    assert peer.handshake_done and server.handshake_complete and server.cipher_suite == suite
    peer.sslobj.write(b"hello server")
    server.receive_data(peer.outgoing.read())
    assert app_data(drain(server)) == b"hello server"
    server.send(b"hello openssl")
    peer.incoming.write(server.data_to_send())
    assert peer.read(13) == b"hello openssl"
    label, random, secret = server.key_log_lines()[0].split()
    assert peer.master_secrets() == {random: secret}


def test_server_hello_of_a_full_handshake():
    client, server = Connection(client12(alpn_protocols=("h2",))), Connection(server12(alpn_protocols=("h2",)))
    client.start_handshake()
    pump(client, server)
    evs = drain(server)
    hello = sent_messages(evs, ServerHello)[0]
    assert hello.legacy_version == TLS12 and len(hello.legacy_session_id_echo) == 32
    assert hello.random[-8:] != DOWNGRADE_TLS12                   # a 1.2-only server marks nothing
    assert hello.get_extension(RenegotiationInfo) == RenegotiationInfo(b"")
    assert hello.get_extension(ExtendedMasterSecret) is not None
    assert hello.get_extension(ECPointFormats) == ECPointFormats((0,))
    assert hello.get_extension(ServerName) == ServerName(None)
    assert hello.get_extension(ALPN) == ALPN((b"h2",))
    assert [type(m).__name__ for m in sent_messages(evs, object)] == \
        ["ServerHello", "Certificate12", "ServerKeyExchangeECDHE", "ServerHelloDone", "Finished"]
    assert [(e.direction, e.epoch) for e in of_type(evs, events.KeysInstalled)] == \
        [("read", "application-0"), ("write", "application-0")]


def test_a_server_that_also_speaks_tls13_marks_its_random():
    client = Connection(client12())
    server = Connection(server12(versions=(TLS13, TLS12)))
    client.start_handshake()
    pump(client, server)
    assert sent_messages(drain(server), ServerHello)[0].random[-8:] == DOWNGRADE_TLS12
    assert client.handshake_complete           # a 1.2-only client does not look for it


def test_a_client_with_the_scsv_instead_of_the_extension():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, RenegotiationInfo),
        cipher_suites=m.cipher_suites + (SCSV_RENEGOTIATION,))))
    pump(client, server)
    assert server.handshake_complete and server.negotiated.secure_renegotiation


def test_a_client_without_supported_groups_gets_p256():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, SupportedGroups))))
    pump(client, server)
    assert server.group == NamedGroup.SECP256R1


# --- what a broken client gets ---------------------------------------------------------------------

def test_no_suite_in_common():
    client = Connection(client12(cipher_suites=(0xC02F,)))
    server = Connection(server12(cipher_suites=(0xC02B,)))
    client.start_handshake()
    server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


def test_no_suite_the_certificate_can_serve():
    # The client wants ECDSA suites only; the server has an RSA certificate.
    client = Connection(client12(cipher_suites=(0xC02B, 0xC02C)))
    server = Connection(server12("rsa-2048"))
    client.start_handshake()
    error = server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)
    assert "certificate" in str(error)


def test_no_signature_algorithms():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, SignatureAlgorithms))))
    server_fails_with(client, server, errors.MissingExtension, AD.missing_extension)


def test_no_usable_signature_algorithm():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(m, extensions=replace_extension(
        m.extensions, SignatureAlgorithms, SignatureAlgorithms((SignatureScheme.ED448,))))))
    server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


def test_no_group_in_common():
    client = Connection(client12(supported_groups=(NamedGroup.SECP521R1, NamedGroup.X25519)))
    server = Connection(server12(supported_groups=(NamedGroup.SECP384R1,)))
    client.start_handshake()
    server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


def test_point_formats_without_uncompressed():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(m, extensions=replace_extension(
        m.extensions, ECPointFormats, ECPointFormats((1, 2))))))
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_no_null_compression():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(m, legacy_compression_methods=b"\x01")))
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_a_duplicate_extension():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(
        m, extensions=m.extensions + (ExtendedMasterSecret(),))))
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_a_client_without_secure_renegotiation_is_refused():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, RenegotiationInfo))))
    error = server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)
    assert "RFC 5746" in str(error)


def test_a_non_empty_renegotiation_info_on_a_first_handshake():
    client, server = broken_client(on(ClientHello, lambda m: with_fields(m, extensions=replace_extension(
        m.extensions, RenegotiationInfo, RenegotiationInfo(bytes(12))))))
    server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


def test_a_point_off_the_curve():
    client, server = broken_client(on(ClientKeyExchangeECDHE, lambda m: ClientKeyExchangeECDHE(bytes(32))))
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_a_tampered_client_finished():
    client, server = broken_client(on(Finished, lambda m: Finished(bytes(12))))
    server_fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_application_data_before_the_client_finished():
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    with pytest.raises(errors.UnexpectedMessage):
        server.receive_data(encode_record(ContentType.APPLICATION_DATA, b"too early"))


def test_a_second_client_hello_before_the_handshake_ends():
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    hello = client.data_to_send()
    server.receive_data(hello)
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(hello)
    assert info.value.expected == "ClientKeyExchange" and info.value.received == "ClientHello"


# --- client certificates --------------------------------------------------------------------------

def client_with_certificate(key_type="ecdsa-p256"):
    leaf = certs.client_leaf(key_type)
    return dict(certificate_chain=leaf.chain, private_key=leaf.private_key)


def requesting_server(**overrides):
    return dict(request_client_certificate=True, client_trust_anchors=(certs.root().certificate,), **overrides)


def test_a_bad_certificate_verify():
    def corrupt(m):
        return CertificateVerify(m.algorithm, m.signature[:-1] + bytes((m.signature[-1] ^ 1,)))
    client, server = broken_client(on(CertificateVerify, corrupt), client_with_certificate(), **requesting_server())
    server_fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_a_certificate_verify_scheme_not_offered():
    client, server = broken_client(on(CertificateVerify, lambda m: with_fields(
        m, algorithm=SignatureScheme.ECDSA_SECP521R1_SHA512)), client_with_certificate(),
        **requesting_server(signature_schemes=(SignatureScheme.ECDSA_SECP256R1_SHA256,
                                               SignatureScheme.ECDSA_SECP384R1_SHA384)))
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_an_untrusted_client_certificate():
    leaf = certs.untrusted_leaf()
    client = Connection(client12(certificate_chain=leaf.chain, private_key=leaf.private_key))
    server = Connection(server12(**requesting_server()))
    client.start_handshake()
    with pytest.raises(errors.ProtocolError):
        pump(client, server)
    assert not server.handshake_complete and server.closed


def test_the_negotiated_state_after_a_client_certificate():
    client, server = pair12(client_with_certificate("ecdsa-p384"), requesting_server())
    assert server.peer_certificates and client.peer_certificates
    assert server.handshake.context.session.peer_certificates == server.peer_certificates

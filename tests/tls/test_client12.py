"""The TLS 1.2 client: every suite, group and key type against our server and Python's ssl module,
what it sends, the key material it logs, and the alert each broken server message gets."""
from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from workbench.tls import Connection, errors, events
from workbench.tls.cipher_suites import suite_info
from workbench.tls.enums import AlertDescription, ContentType, NamedGroup, SignatureScheme
from workbench.tls.extensions import (ALPN, ECPointFormats, ExtendedMasterSecret, RenegotiationInfo, SessionTicket,
                                      SupportedVersionsClientHello)
from workbench.tls.handshake12 import Session12
from workbench.tls.key_schedule import key_block12
from workbench.tls.messages import Certificate12, ClientHello, Finished, ServerHello, ServerKeyExchangeECDHE
from workbench.tls.record import RecordFramer, encode_record
from workbench.tls.record_protection import TLS12AEADProtection

from . import certs
from .pair import connected_pair, drain, make_client_config, pump, replace_extension, rewrite_messages
from .ssl_peer12 import ssl_server12
from .tls12_pairs import (SUITES, TLS12, app_data, app_data_epochs, client12, of_type, pair12, received_messages,
                          sent_messages, server12)

AD = AlertDescription



def with_fields(message, **changes):
    return dataclasses.replace(message, **changes)


def fails_with(client: Connection, server: Connection, error: type, alert: AlertDescription):
    with pytest.raises(error) as info:
        pump(client, server)
    assert info.value.alert == alert
    sent = of_type(drain(client), events.AlertSent)
    assert sent and sent[-1].description == alert and sent[-1].level == 2
    return info.value


# --- handshakes that work --------------------------------------------------------------------------

@pytest.mark.parametrize("suite,key_type", SUITES)
def test_every_suite_with_our_server(suite, key_type):
    client, server = pair12({"cipher_suites": (suite,)}, key_type=key_type)
    assert client.version == server.version == TLS12
    assert client.cipher_suite == server.cipher_suite == suite
    assert client.negotiated.extended_master_secret and client.negotiated.secure_renegotiation
    assert len(client.negotiated.session_id) == 32 and client.negotiated.session_id == server.negotiated.session_id
    client.send(b"ping")
    server.receive_data(client.data_to_send())
    assert app_data_epochs(drain(server)) == [(b"ping", "application-0")]
    server.send(b"pong" * 5000)
    client.receive_data(server.data_to_send())
    assert app_data(drain(client)) == b"pong" * 5000


@pytest.mark.parametrize("group", [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1])
def test_every_group(group):
    client, server = pair12({"supported_groups": (group,)})
    assert client.group == server.group == group


@pytest.mark.parametrize("suite,key_type", SUITES)
def test_against_python_ssl_server(tmp_path, suite, key_type):
    peer = ssl_server12(tmp_path, key_type, suite)
    client = Connection(client12(alpn_protocols=("http/1.1",)))
    client.start_handshake()
    peer.exchange(client)
    assert client.handshake_complete and peer.handshake_done
    assert client.cipher_suite == suite and peer.sslobj.version() == "TLSv1.2"
    client.send(b"to openssl")
    peer.exchange(client)
    assert peer.read(10) == b"to openssl"
    peer.write(client, b"from openssl")
    assert app_data(drain(client)) == b"from openssl"
    # Our key log line is OpenSSL's: same client random, same master secret.
    label, random, secret = client.key_log_lines()[0].split()
    assert label == "CLIENT_RANDOM" and peer.master_secrets() == {random: secret}


def test_the_messages_and_records_of_a_full_handshake():
    client, server = connected_pair(client12(), server12())
    evs = drain(client)
    assert [type(m).__name__ for m in sent_messages(evs, object)] == \
        ["ClientHello", "ClientKeyExchangeECDHE", "Finished"]
    assert [type(m).__name__ for m in received_messages(evs, object)] == \
        ["ServerHello", "Certificate12", "ServerKeyExchangeECDHE", "ServerHelloDone", "Finished"]
    hello = sent_messages(evs, ClientHello)[0]
    assert hello.get_extension(SupportedVersionsClientHello) is None     # a TLS 1.2-only ClientHello
    assert hello.get_extension(RenegotiationInfo) == RenegotiationInfo(b"")
    assert hello.get_extension(ExtendedMasterSecret) is not None
    assert hello.get_extension(ECPointFormats) == ECPointFormats((0,))
    assert all(suite_info(c).version == TLS12 for c in hello.cipher_suites)
    sent = [(e.content_type, e.inner_type, e.epoch, e.sequence) for e in of_type(evs, events.RecordSent)]
    assert sent == [(ContentType.HANDSHAKE, None, "plaintext", 0), (ContentType.HANDSHAKE, None, "plaintext", 1),
                    (ContentType.CHANGE_CIPHER_SPEC, None, "plaintext", 2),
                    (ContentType.HANDSHAKE, ContentType.HANDSHAKE, "application-0", 0)]
    assert [(e.direction, e.epoch, e.generation) for e in of_type(evs, events.KeysInstalled)] == \
        [("write", "application-0", 0), ("read", "application-0", 0)]
    assert len(of_type(evs, events.ChangeCipherSpecSent)) == len(of_type(evs, events.ChangeCipherSpecReceived)) == 1
    complete = of_type(evs, events.HandshakeComplete)
    assert len(complete) == 1 and complete[0].version == TLS12 and not complete[0].resumed


def test_the_key_log_opens_the_records():
    client, server = pair12()
    label, random, secret = client.key_log_lines()[0].split()
    assert client.key_log_lines() == server.key_log_lines() and label == "CLIENT_RANDOM"
    suite = suite_info(client.cipher_suite)
    hello = client.handshake.server_random
    client_key, _, client_iv, _ = key_block12(suite, bytes.fromhex(secret), bytes.fromhex(random), hello)
    opener = TLS12AEADProtection(suite, client_key, client_iv, "application-0")
    opener.sequence = 1                    # record 0 of the epoch was the client's Finished
    client.send(b"readable with the key log")
    framer = RecordFramer()
    framer.feed(client.data_to_send())
    assert opener.open(framer.pop()) == (ContentType.APPLICATION_DATA, b"readable with the key log")


def test_without_extended_master_secret_both_use_the_classic_one():
    client, server = Connection(client12()), Connection(server12())
    rewrite_messages(client, lambda m: with_fields(m, extensions=replace_extension(m.extensions, ExtendedMasterSecret))
                     if isinstance(m, ClientHello) else None)
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and not client.negotiated.extended_master_secret
    assert client.key_log_lines() == server.key_log_lines()
    assert of_type(drain(client), events.SecretDerived)[0].derived_from == ("pre-master secret", "randoms")


def test_alpn_and_server_name():
    client, server = pair12({"alpn_protocols": ("h2", "http/1.1")}, {"alpn_protocols": ("http/1.1",)})
    assert client.alpn == server.alpn == b"http/1.1"
    assert server.server_name == "localhost"


# --- client certificates ------------------------------------------------------------------------------

def test_client_certificate_when_asked():
    leaf = certs.client_leaf("ecdsa-p256")
    client, server = pair12({"certificate_chain": leaf.chain, "private_key": leaf.private_key},
                            {"request_client_certificate": True, "client_trust_anchors": (certs.root().certificate,)})
    assert server.peer_certificates == (leaf.chain[0].public_bytes(Encoding.DER),)
    assert client.negotiated.client_certificate_scheme == server.negotiated.client_certificate_scheme


def test_rsa_client_certificate_signs_with_pss_or_pkcs1():
    leaf = certs.client_leaf("rsa-2048")
    client, server = pair12({"certificate_chain": leaf.chain, "private_key": leaf.private_key},
                            {"request_client_certificate": True, "client_trust_anchors": (certs.root().certificate,)})
    assert server.negotiated.client_certificate_scheme in (SignatureScheme.RSA_PSS_RSAE_SHA256,
                                                          SignatureScheme.RSA_PKCS1_SHA256)


def test_no_client_certificate_sends_an_empty_one():
    client, server = connected_pair(client12(), server12(request_client_certificate=True,
                                                         client_trust_anchors=(certs.root().certificate,)))
    assert sent_messages(drain(client), Certificate12) == [Certificate12(())]
    assert server.peer_certificates == ()


def test_a_required_client_certificate_that_is_missing_fails():
    client = Connection(client12())
    server = Connection(server12(require_client_certificate=True, client_trust_anchors=(certs.root().certificate,)))
    client.start_handshake()
    with pytest.raises(errors.HandshakeFailure):
        pump(client, server)


# --- what a broken server gets ----------------------------------------------------------------------

def broken_server(rewrite, **server_overrides):
    client, server = Connection(client12()), Connection(server12(**server_overrides))
    rewrite_messages(server, rewrite)
    client.start_handshake()
    return client, server


def on(cls, change):
    return lambda m: change(m) if isinstance(m, cls) else None


def test_suite_not_offered():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, cipher_suite=0x1301)))
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_version_below_tls12():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, legacy_version=0x0302)))
    fails_with(client, server, errors.ProtocolVersionError, AD.protocol_version)


def test_compression():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, legacy_compression_method=1)))
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_extension_not_offered():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, extensions=m.extensions + (
        SessionTicket(b""),))))
    fails_with(client, server, errors.UnsupportedExtension, AD.unsupported_extension)


def test_point_formats_without_uncompressed():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, ECPointFormats) + (ECPointFormats((1,)),))))
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_bad_server_key_exchange_signature():
    def corrupt(m):
        sig = bytearray(m.signature)
        sig[-1] ^= 1
        return with_fields(m, signature=bytes(sig))
    client, server = broken_server(on(ServerKeyExchangeECDHE, corrupt))
    fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_server_key_exchange_group_not_offered():
    client = Connection(client12(supported_groups=(NamedGroup.X25519,)))
    server = Connection(server12())
    rewrite_messages(server, on(ServerKeyExchangeECDHE, lambda m: with_fields(m, named_group=NamedGroup.SECP384R1)))
    client.start_handshake()
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_server_key_exchange_scheme_not_offered():
    client = Connection(client12(signature_schemes=(SignatureScheme.ECDSA_SECP256R1_SHA256,)))
    server = Connection(server12())
    rewrite_messages(server, on(ServerKeyExchangeECDHE, lambda m: with_fields(
        m, algorithm=SignatureScheme.ECDSA_SECP384R1_SHA384)))
    client.start_handshake()
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_certificate_that_does_not_fit_the_suite():
    # An ECDSA suite announced, an RSA certificate presented.
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, cipher_suite=0xC02B)), key_type="rsa-2048")
    error = fails_with(client, server, errors.ProtocolError, AD.unsupported_certificate)
    assert "does not fit" in str(error)


def test_untrusted_certificate():
    leaf = certs.untrusted_leaf()
    client = Connection(client12())
    server = Connection(server12(certificate_chain=leaf.chain, private_key=leaf.private_key))
    client.start_handshake()
    with pytest.raises(errors.ProtocolError):
        pump(client, server)
    assert client.closed and not client.handshake_complete


def test_empty_server_certificate():
    client, server = broken_server(on(Certificate12, lambda m: Certificate12(())))
    fails_with(client, server, errors.DecodeError, AD.decode_error)


def test_tampered_server_finished():
    client, server = broken_server(on(Finished, lambda m: Finished(bytes(12))))
    fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_server_finished_of_the_wrong_length():
    client, server = broken_server(on(Finished, lambda m: Finished(m.verify_data + b"\x00")))
    fails_with(client, server, errors.DecodeError, AD.decode_error)


CCS = encode_record(ContentType.CHANGE_CIPHER_SPEC, b"\x01")


def server_flight_bytes() -> tuple[Connection, bytes]:
    """A 1.2 client that sent its ClientHello, and the handshake bytes of the server's first flight."""
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    wire = server.data_to_send()
    assert wire[0] == ContentType.HANDSHAKE and len(wire) == 5 + int.from_bytes(wire[3:5], "big")   # one record
    return client, wire[5:]


def test_change_cipher_spec_too_early():
    client, flight = server_flight_bytes()
    server_hello = flight[:4 + int.from_bytes(flight[1:4], "big")]
    with pytest.raises(errors.UnexpectedMessage) as info:
        client.receive_data(encode_record(ContentType.HANDSHAKE, server_hello) + CCS)
    assert info.value.received == "change_cipher_spec" and info.value.expected == "Certificate"


def test_change_cipher_spec_with_a_wrong_body():
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    wire = server.data_to_send()
    bad = wire.replace(encode_record(ContentType.CHANGE_CIPHER_SPEC, b"\x01"),
                       encode_record(ContentType.CHANGE_CIPHER_SPEC, b"\x02"))
    with pytest.raises(errors.DecodeError):
        client.receive_data(bad)


def test_change_cipher_spec_inside_a_handshake_message():
    client, flight = server_flight_bytes()
    hello_length = 4 + int.from_bytes(flight[1:4], "big")
    with pytest.raises(errors.UnexpectedMessage) as info:
        client.receive_data(encode_record(ContentType.HANDSHAKE, flight[:hello_length + 10]) + CCS)
    assert "middle of a handshake message" in str(info.value)


def test_server_echoing_a_compatibility_session_id_it_cannot_know():
    client = Connection(make_client_config(versions=(0x0304, TLS12), compatibility_mode=True))
    server = Connection(server12())
    rewrite_messages(server, on(ServerHello, lambda m: with_fields(
        m, legacy_session_id_echo=client.handshake.session_id)))
    client.start_handshake()
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_server_without_secure_renegotiation_is_refused():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, RenegotiationInfo))))
    error = fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)
    assert "RFC 5746" in str(error)


def test_server_with_a_non_empty_renegotiation_info_on_the_first_handshake():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(
        m, extensions=replace_extension(m.extensions, RenegotiationInfo, RenegotiationInfo(bytes(24))))))
    fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


def test_alpn_not_offered():
    client, server = broken_server(on(ServerHello, lambda m: with_fields(m, extensions=m.extensions + (
        ALPN((b"h2",)),))))
    fails_with(client, server, errors.UnsupportedExtension, AD.unsupported_extension)


def test_application_data_before_the_handshake_completes():
    client = Connection(client12())
    server = Connection(server12())
    client.start_handshake()
    with pytest.raises(errors.UnexpectedMessage):
        client.receive_data(encode_record(ContentType.APPLICATION_DATA, b"early"))


def test_session12_describes_the_session():
    client, server = pair12()
    session = client.handshake.context.session
    assert isinstance(session, Session12) and session.resumable
    assert session.session_id == client.negotiated.session_id and session.cipher_suite == client.cipher_suite
    assert session.master_secret.hex() == client.key_log_lines()[0].split()[2]
    theirs = server.handshake.context.session
    assert (theirs.session_id, theirs.cipher_suite, theirs.master_secret) == \
        (session.session_id, session.cipher_suite, session.master_secret)
    assert session.peer_certificates == client.peer_certificates and theirs.peer_certificates == ()


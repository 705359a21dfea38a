"""The TLS 1.3 client: every suite, group and certificate type; HelloRetryRequest; compatibility mode;
what the client must refuse from a server; the RFC 8448 traces; and Python's ssl module as a real server."""
from __future__ import annotations

import ssl

import pytest

from workbench.tls import ClientConfig, Connection, errors, events
from workbench.tls.enums import AlertDescription, CipherSuite, NamedGroup, SignatureScheme
from workbench.tls.extensions import (ALPN, Cookie, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest,
                                      KeyShareServerHello, Padding, PreSharedKeyServerHello, RecordSizeLimit, ServerName,
                                      SupportedVersionsServerHello)
from workbench.tls.messages import (HELLO_RETRY_REQUEST_RANDOM, Certificate, CertificateVerify, ClientHello,
                                    EncryptedExtensions, Finished, ServerHello, decode_handshake)

from . import certs
from .pair import (connected_pair, deliver, drain, drop_messages, make_client_config, make_server_config, pump,
                   replace_extension, rewrite_messages, split_records)
from .rfc8448_vectors import load_trace

AD = AlertDescription
SUITES = (0x1301, 0x1302, 0x1303)
GROUPS = (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1)


def sent_messages(evs, cls):
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageSent) and isinstance(e.message, cls)]


def received_messages(evs, cls):
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageReceived) and isinstance(e.message, cls)]


def fails_with(client: Connection, server: Connection, error: type, alert: AlertDescription) -> errors.ProtocolError:
    """Run the handshake until the client refuses; it must send `alert`, and the server must see it."""
    with pytest.raises(error) as info:
        pump(client, server)
    assert info.value.alert == alert
    assert info.value.expected is not None or info.value.received is not None or str(info.value)
    sent = [e for e in client.events() if isinstance(e, events.AlertSent)]
    assert [e.description for e in sent] == [alert]
    with pytest.raises(errors.AlertReceived) as peer:
        deliver(client, server)
    assert peer.value.description == alert
    return info.value


# --- the matrix -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key_type", certs.KEY_TYPES)
@pytest.mark.parametrize("group", GROUPS, ids=lambda g: NamedGroup(g).name)
@pytest.mark.parametrize("suite", SUITES, ids=lambda s: CipherSuite(s).name)
def test_handshake_for_every_suite_group_and_certificate(suite, group, key_type):
    client, server = connected_pair(
        make_client_config(cipher_suites=(suite,), supported_groups=(group,)),
        make_server_config(key_type))
    for conn in (client, server):
        assert conn.cipher_suite == suite and conn.group == group and conn.version == 0x0304
        assert not conn.negotiated.hello_retry
    expected_scheme = {"ecdsa-p256": SignatureScheme.ECDSA_SECP256R1_SHA256,
                       "ecdsa-p384": SignatureScheme.ECDSA_SECP384R1_SHA384,
                       "rsa-2048": SignatureScheme.RSA_PSS_RSAE_SHA256,
                       "ed25519": SignatureScheme.ED25519}[key_type]
    complete = [e for e in client.events() if isinstance(e, events.HandshakeComplete)]
    assert len(complete) == 1
    assert complete[0].signature_scheme == expected_scheme
    assert complete[0].peer_certificates == (certs.server_leaf(key_type).chain[0].public_bytes(
        certs.serialization.Encoding.DER),)
    client.send(b"request")
    pump(client, server)
    assert b"".join(e.data for e in server.events() if isinstance(e, events.ApplicationData)) == b"request"
    server.send(b"response" * 3000)
    pump(server, client)
    assert b"".join(e.data for e in client.events() if isinstance(e, events.ApplicationData)) == b"response" * 3000


def test_client_hello_offers_what_the_config_says():
    config = make_client_config(alpn_protocols=("h2", "http/1.1"), record_size_limit=4096,
                                key_share_groups=(NamedGroup.X25519, NamedGroup.SECP256R1))
    client = Connection(config)
    client.start_handshake()
    raw = client.data_to_send()
    assert raw[:3] == b"\x16\x03\x01"          # initial ClientHello record version
    hello = decode_handshake(raw[5:])
    assert isinstance(hello, ClientHello)
    assert hello.legacy_session_id == b""
    assert hello.cipher_suites == (0x1301, 0x1302, 0x1303)
    types = [type(e).__name__ for e in hello.extensions]
    assert types == ["ServerName", "SupportedGroups", "ALPN", "KeyShareClientHello", "SupportedVersionsClientHello",
                     "SignatureAlgorithms", "PskKeyExchangeModes", "RecordSizeLimit"]
    assert hello.get_extension(ServerName).host_name == "localhost"
    assert hello.get_extension(ALPN).protocols == (b"h2", b"http/1.1")
    assert [s.group for s in hello.get_extension(KeyShareClientHello).shares] == [0x1d, 0x17]


def test_no_sni_for_an_ip_address_but_the_certificate_is_checked_against_it():
    client, server = connected_pair(make_client_config(server_name="127.0.0.1"))
    assert server.server_name is None
    hello = received_messages(drain(server), ClientHello)[0]
    assert hello.get_extension(ServerName) is None
    bad = Connection(make_client_config(server_name="127.0.0.2"))
    server = Connection(make_server_config())
    bad.start_handshake()
    fails_with(bad, server, errors.ProtocolError, AD.bad_certificate)


def test_sni_and_its_acknowledgement():
    client, server = connected_pair()
    assert server.server_name == "localhost" and client.server_name == "localhost"
    ee = received_messages(drain(client), EncryptedExtensions)[0]
    assert ee.get_extension(ServerName) == ServerName(None)


# --- HelloRetryRequest and compatibility mode -----------------------------------------------------

def test_hello_retry_request_forced_by_server_preference():
    client, server = connected_pair(
        make_client_config(),                                       # one share: X25519
        make_server_config(supported_groups=(NamedGroup.SECP384R1, NamedGroup.X25519)))
    assert client.group == server.group == NamedGroup.SECP384R1
    assert client.negotiated.hello_retry and server.negotiated.hello_retry
    evs = drain(client)
    retry = [e for e in evs if isinstance(e, events.HelloRetryRequested)]
    assert retry == [events.HelloRetryRequested(NamedGroup.SECP384R1, True)]
    hellos = sent_messages(evs, ClientHello)
    assert len(hellos) == 2
    first, second = hellos
    assert first.random == second.random
    assert [s.group for s in second.get_extension(KeyShareClientHello).shares] == [NamedGroup.SECP384R1]
    hrr = received_messages(evs, ServerHello)[0]
    assert hrr.is_hello_retry_request
    assert second.get_extension(Cookie).cookie == hrr.get_extension(Cookie).cookie
    # The second ClientHello keeps the extension order, with the cookie after signature_algorithms.
    assert [type(e).__name__ for e in second.extensions] == [
        "ServerName", "SupportedGroups", "KeyShareClientHello", "SupportedVersionsClientHello",
        "SignatureAlgorithms", "Cookie", "PskKeyExchangeModes"]


@pytest.mark.parametrize("retry", [False, True])
def test_compatibility_mode_client(retry):
    server_groups = (NamedGroup.SECP256R1, NamedGroup.X25519) if retry else GROUPS
    client = Connection(make_client_config(compatibility_mode=True))
    server = Connection(make_server_config(supported_groups=server_groups))
    client.start_handshake()
    first = client.data_to_send()
    hello = decode_handshake(first[5:])
    assert len(hello.legacy_session_id) == 32
    server.receive_data(first)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    client_events, server_events = drain(client), drain(server)
    for evs in (client_events, server_events):
        assert len([e for e in evs if isinstance(e, events.ChangeCipherSpecSent)]) == 1
        assert len([e for e in evs if isinstance(e, events.ChangeCipherSpecReceived)]) == 1
    echo = received_messages(client_events, ServerHello)
    assert all(sh.legacy_session_id_echo == hello.legacy_session_id for sh in echo)
    # The client's change_cipher_spec precedes its first protected record (or its second ClientHello).
    sent = [e for e in client_events if isinstance(e, (events.RecordSent, events.ChangeCipherSpecSent))]
    ccs_index = next(i for i, e in enumerate(sent) if isinstance(e, events.ChangeCipherSpecSent))
    after = sent[ccs_index + 1:]
    before = sent[:ccs_index]
    assert all(e.epoch == "plaintext" for e in before)
    if retry:
        assert after[1].content_type == 22 and after[1].epoch == "plaintext"     # the second ClientHello


def test_compatibility_mode_off_sends_no_change_cipher_spec():
    client, server = connected_pair()
    for conn in (client, server):
        assert not any(isinstance(e, (events.ChangeCipherSpecSent, events.ChangeCipherSpecReceived))
                       for e in drain(conn))


def _retry_pair(**server_kw):
    client = Connection(make_client_config())
    server = Connection(make_server_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519), **server_kw))
    client.start_handshake()
    return client, server


def test_second_hello_retry_request_is_unexpected_message():
    client, server = _retry_pair()

    def second_retry(message):
        if isinstance(message, ServerHello) and not message.is_hello_retry_request:
            return ServerHello(HELLO_RETRY_REQUEST_RANDOM, message.legacy_session_id_echo, message.cipher_suite,
                               (KeyShareHelloRetryRequest(NamedGroup.SECP384R1), SupportedVersionsServerHello(0x0304)))
        return None

    rewrite_messages(server, second_retry)
    error = fails_with(client, server, errors.UnexpectedMessage, AD.unexpected_message)
    assert error.expected == "ServerHello" and error.received == "HelloRetryRequest"


def test_hello_retry_for_a_group_already_shared_is_illegal_parameter():
    client, server = _retry_pair()
    rewrite_messages(server, lambda m: ServerHello(m.random, m.legacy_session_id_echo, m.cipher_suite,
                                                   replace_extension(m.extensions, KeyShareHelloRetryRequest,
                                                                     KeyShareHelloRetryRequest(NamedGroup.X25519)))
                     if isinstance(m, ServerHello) and m.is_hello_retry_request else None)
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_hello_retry_for_a_group_not_offered_is_illegal_parameter():
    client, server = _retry_pair()
    rewrite_messages(server, lambda m: ServerHello(m.random, m.legacy_session_id_echo, m.cipher_suite,
                                                   replace_extension(m.extensions, KeyShareHelloRetryRequest,
                                                                     KeyShareHelloRetryRequest(NamedGroup.X448)))
                     if isinstance(m, ServerHello) and m.is_hello_retry_request else None)
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_hello_retry_that_changes_nothing_is_illegal_parameter():
    client, server = _retry_pair(hello_retry_cookie=False)
    rewrite_messages(server, lambda m: ServerHello(m.random, m.legacy_session_id_echo, m.cipher_suite,
                                                   replace_extension(m.extensions, KeyShareHelloRetryRequest))
                     if isinstance(m, ServerHello) and m.is_hello_retry_request else None)
    error = fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)
    assert "would not change" in str(error)


def test_server_hello_after_retry_with_another_group_is_illegal_parameter():
    client, server = _retry_pair()

    def other_group(message):
        if isinstance(message, ServerHello) and not message.is_hello_retry_request:
            share = message.get_extension(KeyShareServerHello).share
            wrong = KeyShareServerHello(KeyShareEntry(NamedGroup.X25519, share.key_exchange[:32]))
            return ServerHello(message.random, message.legacy_session_id_echo, message.cipher_suite,
                               replace_extension(message.extensions, KeyShareServerHello, wrong))
        return None

    rewrite_messages(server, other_group)
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


# --- what the client refuses in a ServerHello ------------------------------------------------------

def _rewrite_server_hello(server, **changes):
    def rewrite(message):
        if isinstance(message, ServerHello) and not message.is_hello_retry_request:
            fields = dict(random=message.random, legacy_session_id_echo=message.legacy_session_id_echo,
                          cipher_suite=message.cipher_suite, extensions=message.extensions,
                          legacy_compression_method=message.legacy_compression_method)
            fields.update(changes)
            if callable(fields["extensions"]):
                fields["extensions"] = fields["extensions"](message.extensions)
            return ServerHello(**fields)
        return None
    rewrite_messages(server, rewrite)


@pytest.mark.parametrize("changes, error, alert", [
    (dict(legacy_session_id_echo=b"\x01" * 32), errors.IllegalParameter, AD.illegal_parameter),
    (dict(cipher_suite=0x1304), errors.IllegalParameter, AD.illegal_parameter),
    (dict(legacy_compression_method=1), errors.IllegalParameter, AD.illegal_parameter),
    (dict(extensions=lambda exts: replace_extension(exts, SupportedVersionsServerHello)),
     errors.ProtocolVersionError, AD.protocol_version),
    (dict(extensions=lambda exts: replace_extension(exts, SupportedVersionsServerHello,
                                                    SupportedVersionsServerHello(0x0305))),
     errors.IllegalParameter, AD.illegal_parameter),
    (dict(extensions=lambda exts: exts + (PreSharedKeyServerHello(0),)),
     errors.UnsupportedExtension, AD.unsupported_extension),
    (dict(extensions=lambda exts: exts + (SupportedVersionsServerHello(0x0304),)),
     errors.IllegalParameter, AD.illegal_parameter),
    (dict(extensions=lambda exts: replace_extension(exts, KeyShareServerHello)),
     errors.MissingExtension, AD.missing_extension),
], ids=["session-id", "suite", "compression", "no-supported-versions", "bad-version", "psk-not-offered",
        "duplicate", "no-key-share"])
def test_server_hello_checks(changes, error, alert):
    client = Connection(make_client_config(cipher_suites=(0x1301, 0x1302)))
    server = Connection(make_server_config())
    client.start_handshake()
    _rewrite_server_hello(server, **changes)
    fails_with(client, server, error, alert)


def test_invalid_server_key_share_is_illegal_parameter():
    client = Connection(make_client_config(supported_groups=(NamedGroup.SECP256R1,)))
    server = Connection(make_server_config())
    client.start_handshake()
    bad_point = KeyShareServerHello(KeyShareEntry(NamedGroup.SECP256R1, b"\x04" + bytes(64)))
    _rewrite_server_hello(server, extensions=lambda exts: replace_extension(exts, KeyShareServerHello, bad_point))
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


# --- EncryptedExtensions and ALPN ------------------------------------------------------------------

def _rewrite_ee(server, extensions):
    rewrite_messages(server, lambda m: EncryptedExtensions(extensions(m.extensions))
                     if isinstance(m, EncryptedExtensions) else None)


def test_alpn_agreed():
    client, server = connected_pair(make_client_config(alpn_protocols=("h2", "http/1.1")),
                                    make_server_config(alpn_protocols=(b"http/1.1", b"h2")))
    assert client.alpn == server.alpn == b"http/1.1"
    assert [e.alpn for e in drain(client) if isinstance(e, events.HandshakeComplete)] == [b"http/1.1"]


def test_alpn_without_server_support_is_no_alpn():
    client, server = connected_pair(make_client_config(alpn_protocols=("h2",)), make_server_config())
    assert client.alpn is None and server.alpn is None


@pytest.mark.parametrize("extensions, error, alert", [
    (lambda exts: exts + (ALPN((b"h3",)),), errors.IllegalParameter, AD.illegal_parameter),
    (lambda exts: exts + (ALPN((b"h2", b"h2c")),), errors.IllegalParameter, AD.illegal_parameter),
    (lambda exts: exts + (Cookie(b"x"),), errors.UnsupportedExtension, AD.unsupported_extension),
    (lambda exts: exts + (SupportedVersionsServerHello(0x0304),), errors.IllegalParameter, AD.illegal_parameter),
    (lambda exts: exts + (ServerName("other"),), errors.IllegalParameter, AD.illegal_parameter),
    (lambda exts: exts + (RecordSizeLimit(4096),), errors.UnsupportedExtension, AD.unsupported_extension),
], ids=["alpn-not-offered", "alpn-two", "cookie-not-offered", "forbidden-in-ee", "server-name-not-empty",
        "record-size-limit-not-offered"])
def test_encrypted_extensions_checks(extensions, error, alert):
    client = Connection(make_client_config(alpn_protocols=("h2",)))
    server = Connection(make_server_config())
    client.start_handshake()
    _rewrite_ee(server, extensions)
    fails_with(client, server, error, alert)


# --- the server's certificate ---------------------------------------------------------------------

def test_wrong_host_name_is_bad_certificate_sent_by_the_client():
    client = Connection(make_client_config(server_name="www.example.com"))
    server = Connection(make_server_config())
    client.start_handshake()
    error = fails_with(client, server, errors.ProtocolError, AD.bad_certificate)
    assert "www.example.com" in str(error)
    assert not client.handshake_complete


def test_untrusted_certificate_is_unknown_ca():
    leaf = certs.untrusted_leaf()
    client = Connection(make_client_config())
    server = Connection(make_server_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    client.start_handshake()
    fails_with(client, server, errors.ProtocolError, AD.unknown_ca)


def test_expired_certificate_is_certificate_expired():
    leaf = certs.expired_leaf()
    client = Connection(make_client_config())
    server = Connection(make_server_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    client.start_handshake()
    fails_with(client, server, errors.ProtocolError, AD.certificate_expired)


def test_the_injected_clock_decides_validity():
    leaf = certs.expired_leaf()
    in_validity = leaf.certificate.not_valid_before_utc.timestamp() + 3600
    client, server = connected_pair(
        make_client_config(clock=lambda: in_validity),
        make_server_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    assert client.handshake_complete


def test_verify_peer_off_accepts_an_untrusted_certificate():
    leaf = certs.untrusted_leaf()
    client, server = connected_pair(
        ClientConfig(server_name="localhost", verify_peer=False),
        make_server_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    assert client.handshake_complete


def test_empty_server_certificate_is_decode_error():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(server, lambda m: Certificate(b"", ()) if isinstance(m, Certificate) else None)
    fails_with(client, server, errors.DecodeError, AD.decode_error)


def test_bad_certificate_verify_signature_is_decrypt_error():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(server, lambda m: CertificateVerify(m.algorithm, m.signature[:-1] + bytes([m.signature[-1] ^ 1]))
                     if isinstance(m, CertificateVerify) else None)
    fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_certificate_verify_with_a_scheme_not_offered_is_illegal_parameter():
    client = Connection(make_client_config(signature_schemes=(SignatureScheme.ECDSA_SECP256R1_SHA256,
                                                              SignatureScheme.RSA_PSS_RSAE_SHA256)))
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(server, lambda m: CertificateVerify(SignatureScheme.ED25519, m.signature)
                     if isinstance(m, CertificateVerify) else None)
    error = fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)
    assert error.received == "ED25519"


def test_certificate_verify_scheme_that_does_not_fit_the_key_is_illegal_parameter():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(server, lambda m: CertificateVerify(SignatureScheme.RSA_PSS_RSAE_SHA256, m.signature)
                     if isinstance(m, CertificateVerify) else None)
    fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_bad_server_finished_is_decrypt_error():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(server, lambda m: Finished(bytes(len(m.verify_data))) if isinstance(m, Finished) else None)
    fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_missing_certificate_is_unexpected_message_with_expected_and_received():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    drop_messages(server, Certificate)
    error = fails_with(client, server, errors.UnexpectedMessage, AD.unexpected_message)
    assert error.expected == "CertificateRequest or Certificate"
    assert error.received == "CertificateVerify"
    assert "ExpectCertificateOrCertificateRequest" in str(error)


def test_missing_certificate_verify_is_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    drop_messages(server, CertificateVerify)
    error = fails_with(client, server, errors.UnexpectedMessage, AD.unexpected_message)
    assert (error.expected, error.received) == ("CertificateVerify", "Finished")


def test_server_messages_out_of_order_are_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    deliver(client, server)
    records = split_records(server.data_to_send())
    # Deliver the protected flight before the ServerHello.
    with pytest.raises(errors.UnexpectedMessage) as info:
        client.receive_data(records[1])
    assert info.value.alert == AD.unexpected_message


def test_new_session_ticket_after_the_handshake_is_accepted_but_other_messages_are_not():
    client, server = connected_pair()
    drain(client)
    from workbench.tls.messages import NewSessionTicket, encode_handshake
    ticket = encode_handshake(NewSessionTicket(7200, 1, b"\x00", b"ticket"))
    client.receive_data(server._write.seal(22, ticket))
    assert received_messages(drain(client), NewSessionTicket)
    with pytest.raises(errors.UnexpectedMessage) as info:
        client.receive_data(server._write.seal(22, encode_handshake(Finished(bytes(32)))))
    assert info.value.expected == "NewSessionTicket or KeyUpdate" and info.value.received == "Finished"


# --- client authentication (client side) ----------------------------------------------------------

def test_client_without_a_certificate_answers_with_an_empty_one():
    client, server = connected_pair(make_client_config(),
                                    make_server_config(request_client_certificate=True,
                                                       client_trust_anchors=(certs.root().certificate,)))
    sent = sent_messages(drain(client), Certificate)
    assert sent == [Certificate(b"", ())]
    assert server.peer_certificates == ()


# --- RFC 8448: the client reproduces the traces byte for byte ---------------------------------------

TRACE_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
                 0x0402, 0x0502, 0x0602, 0x0202)
TRACE_GROUPS = (0x1d, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104)


def injected(*chunks: bytes):
    """An rng that hands out exactly these values, in this order, and checks the sizes asked for."""
    queue = list(chunks)

    def rng(n: int) -> bytes:
        assert queue, f"unexpected draw of {n} bytes"
        value = queue.pop(0)
        assert len(value) == n, f"drew {n} bytes where the trace has {len(value)}"
        return value
    rng.queue = queue
    return rng


def trace_client(section: int, rng, **overrides) -> Connection:
    kw = dict(server_name="server", cipher_suites=(0x1301, 0x1303, 0x1302), supported_groups=TRACE_GROUPS,
              signature_schemes=TRACE_SCHEMES, renegotiation_info=True, session_ticket_extension=True,
              record_size_limit=0x4001, verify_peer=False, rng=rng)
    kw.update(overrides)
    return Connection(ClientConfig(**kw))


def record(trace, section, actor, kind, index=0) -> bytes:
    return trace.value(section, actor, f"send {kind} record", "complete record", index)


def test_rfc8448_simple_1rtt_client():
    trace = load_trace()
    hello = trace.handshake_messages(3)[0][2]
    private = trace.value(3, "client", "create an ephemeral x25519 key pair", "private key")
    rng = injected(hello[6:38], private)
    client = trace_client(3, rng)
    client.start_handshake()
    assert client.data_to_send() == record(trace, 3, "client", "handshake")
    client.receive_data(record(trace, 3, "server", "handshake", 0) + record(trace, 3, "server", "handshake", 1))
    assert client.handshake_complete
    assert client.data_to_send() == record(trace, 3, "client", "handshake", 1)       # the client Finished
    assert not rng.queue
    secrets = {e.name: e.value for e in client.events() if isinstance(e, events.SecretDerived)}
    assert secrets["c hs traffic"] == trace.value(3, "server", 'derive secret "tls13 c hs traffic"', "expanded")
    assert secrets["s ap traffic"] == trace.value(3, "server", 'derive secret "tls13 s ap traffic"', "expanded")
    assert secrets["res master"] == trace.value(3, "client", 'derive secret "tls13 res master"', "expanded")
    # NewSessionTicket, then application data both ways, then close_notify both ways.
    client.receive_data(record(trace, 3, "server", "handshake", 2))
    client.send(bytes(range(50)))
    assert client.data_to_send() == record(trace, 3, "client", "application_data")
    client.receive_data(record(trace, 3, "server", "application_data"))
    data = [e.data for e in client.events() if isinstance(e, events.ApplicationData)]
    assert data == [bytes(range(50))]
    client.close()
    assert client.data_to_send() == record(trace, 3, "client", "alert")
    client.receive_data(record(trace, 3, "server", "alert"))
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in client.events())


def test_rfc8448_hello_retry_request_client():
    trace = load_trace()
    messages = trace.handshake_messages(5)
    hello = messages[0][2]
    x25519 = trace.value(5, "client", "create an ephemeral x25519 key pair", "private key")
    p256 = int.from_bytes(trace.value(5, "client", "create an ephemeral P-256 key pair", "private key"), "big")
    # key_exchange draws 40 bytes for P-256 and reduces them: k - 1 comes back as k.
    rng = injected(hello[6:38], x25519, (p256 - 1).to_bytes(40, "big"))
    client = trace_client(5, rng, supported_groups=(0x1d, 0x17, 0x18), session_ticket_extension=False,
                          client_hello_padding=True)
    client.start_handshake()
    assert client.data_to_send() == record(trace, 5, "client", "handshake", 0)
    client.receive_data(record(trace, 5, "server", "handshake", 0))
    second = client.data_to_send()
    assert second == record(trace, 5, "client", "handshake", 1)            # padded to 512, cookie echoed
    assert isinstance(decode_handshake(second[5:]).extensions[-1], Padding)
    client.receive_data(record(trace, 5, "server", "handshake", 1) + record(trace, 5, "server", "handshake", 2))
    assert client.handshake_complete
    assert client.data_to_send() == record(trace, 5, "client", "handshake", 2)
    assert not rng.queue
    client.close()
    assert client.data_to_send() == record(trace, 5, "client", "alert")


def test_rfc8448_compatibility_mode_client():
    trace = load_trace()
    hello = trace.handshake_messages(7)[0][2]
    private = trace.value(7, "client", "create an ephemeral x25519 key pair", "private key")
    session_id = hello[39:71]
    rng = injected(hello[6:38], private, session_id)
    client = trace_client(7, rng, session_ticket_extension=False, compatibility_mode=True)
    client.start_handshake()
    assert client.data_to_send() == record(trace, 7, "client", "handshake")
    client.receive_data(record(trace, 7, "server", "handshake", 0) + record(trace, 7, "server", "change_cipher_spec")
                        + record(trace, 7, "server", "handshake", 1))
    assert client.handshake_complete
    assert client.data_to_send() == (record(trace, 7, "client", "change_cipher_spec")
                                     + record(trace, 7, "client", "handshake", 1))
    client.close()
    assert client.data_to_send() == record(trace, 7, "client", "alert")


# --- a real peer: Python's ssl module (OpenSSL) as the server ----------------------------------------

def ssl_server(tmp_path, key_type="ecdsa-p256", *, alpn=None, require_client_cert=False):
    leaf = certs.server_leaf(key_type)
    cert_file, key_file = leaf.pem_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert_file, key_file)
    if alpn:
        context.set_alpn_protocols(alpn)
    if require_client_cert:
        ca_file = tmp_path / "ca.pem"
        ca_file.write_bytes(certs.root().pem())
        context.load_verify_locations(str(ca_file))
        context.verify_mode = ssl.CERT_REQUIRED
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing


def handshake_with_ssl_server(client: Connection, server, incoming, outgoing) -> None:
    client.start_handshake()
    done = False
    for _ in range(10):
        incoming.write(client.data_to_send())
        if not done:
            try:
                server.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                pass
        data = outgoing.read()
        if data:
            client.receive_data(data)
        if done and client.handshake_complete and not outgoing.pending:
            incoming.write(client.data_to_send())
            return
    raise AssertionError("handshake with the ssl server did not complete")


@pytest.mark.parametrize("key_type", certs.KEY_TYPES)
@pytest.mark.parametrize("retry", [False, True], ids=["direct", "hello-retry"])
def test_against_python_ssl_server(tmp_path, key_type, retry):
    server, incoming, outgoing = ssl_server(tmp_path, key_type, alpn=["h2", "http/1.1"])
    # No key share at all makes OpenSSL answer with a HelloRetryRequest.
    client = Connection(make_client_config(alpn_protocols=("http/1.1",), compatibility_mode=True,
                                           key_share_groups=() if retry else None))
    handshake_with_ssl_server(client, server, incoming, outgoing)
    assert client.negotiated.hello_retry == retry
    assert server.version() == "TLSv1.3"
    assert server.selected_alpn_protocol() == "http/1.1" and client.alpn == b"http/1.1"
    assert client.cipher_suite == CipherSuite[server.cipher()[0]]
    client.send(b"hello from the engine" * 2000)
    incoming.write(client.data_to_send())
    received = b""
    while len(received) < 42000:
        received += server.read(65536)
    assert received == b"hello from the engine" * 2000
    server.write(b"hello from OpenSSL" * 3000)
    client.receive_data(outgoing.read())
    evs = drain(client)
    assert b"".join(e.data for e in evs if isinstance(e, events.ApplicationData)) == b"hello from OpenSSL" * 3000
    from workbench.tls.messages import NewSessionTicket
    assert received_messages(evs, NewSessionTicket)          # OpenSSL issues tickets; they are accepted
    client.close()
    incoming.write(client.data_to_send())
    assert server.read(10) == b""               # OpenSSL saw our close_notify
    server.unwrap()
    client.receive_data(outgoing.read())
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in drain(client))


def test_against_python_ssl_server_with_client_certificate(tmp_path):
    server, incoming, outgoing = ssl_server(tmp_path, require_client_cert=True)
    leaf = certs.client_leaf("rsa-2048")
    client = Connection(make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    handshake_with_ssl_server(client, server, incoming, outgoing)
    client.send(b"authenticated")
    incoming.write(client.data_to_send())
    assert server.read(100) == b"authenticated"
    assert server.getpeercert()["subject"][-1][0][1] == "client.test"
    assert client.negotiated.client_certificate_scheme in (SignatureScheme.RSA_PSS_RSAE_SHA256,
                                                           SignatureScheme.RSA_PSS_RSAE_SHA384,
                                                           SignatureScheme.RSA_PSS_RSAE_SHA512)


def test_python_ssl_server_refusing_our_certificate_is_reported(tmp_path):
    server, incoming, outgoing = ssl_server(tmp_path, require_client_cert=True)
    client = Connection(make_client_config())          # no client certificate
    client.start_handshake()
    incoming.write(client.data_to_send())
    with pytest.raises(ssl.SSLWantReadError):
        server.do_handshake()
    client.receive_data(outgoing.read())
    incoming.write(client.data_to_send())
    with pytest.raises(ssl.SSLError):
        server.do_handshake()
    with pytest.raises(errors.AlertReceived) as info:
        client.receive_data(outgoing.read())
    assert info.value.description == AD.certificate_required


def test_response_extension_rules_in_order():
    """A repeated extension is reported before one that was not offered, and one not offered
    before one the message may not carry, whatever their positions."""
    from workbench.tls.enums import ExtensionType as ET
    from workbench.tls.handshake13 import ALLOWED_IN_ENCRYPTED_EXTENSIONS, check_no_duplicates, check_response_extensions
    name, alpn = ServerName(None), ALPN((b"h2",))
    assert list(check_no_duplicates((alpn, name), "EncryptedExtensions")) == [ET.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
                                                                            ET.SERVER_NAME]
    offered = {ET.SERVER_NAME, ET.KEY_SHARE}
    with pytest.raises(errors.IllegalParameter, match="twice"):
        check_response_extensions((alpn, name, name), "EncryptedExtensions", ALLOWED_IN_ENCRYPTED_EXTENSIONS, offered)
    with pytest.raises(errors.UnsupportedExtension, match="not offered"):
        check_response_extensions((name, alpn), "EncryptedExtensions", ALLOWED_IN_ENCRYPTED_EXTENSIONS, offered)
    share = KeyShareServerHello(KeyShareEntry(NamedGroup.X25519, bytes(32)))
    with pytest.raises(errors.IllegalParameter, match="must not carry"):
        check_response_extensions((name, share, alpn), "EncryptedExtensions", ALLOWED_IN_ENCRYPTED_EXTENSIONS,
                                  offered)
    check_response_extensions((name,), "EncryptedExtensions", ALLOWED_IN_ENCRYPTED_EXTENSIONS, offered)

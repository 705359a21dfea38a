"""The TLS 1.3 server: HelloRetryRequest with cookie, ClientHello checks, ALPN, SNI, client authentication,
certificate choice, determinism, the RFC 8448 trace, and Python's ssl module as a real client."""
from __future__ import annotations

import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from workbench.tls import ClientConfig, Connection, ServerConfig, errors, events
from workbench.tls.enums import AlertDescription, NamedGroup, SignatureScheme
from workbench.tls.extensions import (ALPN, Cookie, EarlyData, KeyShareClientHello, KeyShareEntry,
                                      PreSharedKeyClientHello, PskIdentity, RecordSizeLimit,
                                      SignatureAlgorithms, SupportedGroups, SupportedVersionsClientHello)
from workbench.tls.messages import (Certificate, CertificateRequest, CertificateVerify, ClientHello,
                                    EncryptedExtensions, Finished, ServerHello, decode_handshake)

from . import certs
from .pair import (connected_pair, deliver, drain, make_client_config, make_server_config, pump, replace_extension,
                   rewrite_messages, seeded_rng, split_records)
from .rfc8448_vectors import load_trace
from .test_client13 import TRACE_GROUPS, TRACE_SCHEMES, injected, record, sent_messages

AD = AlertDescription
ROOT = certs.root().certificate


def server_fails_with(client: Connection, server: Connection, error: type, alert: AlertDescription):
    """Run the handshake until the server refuses; it sends `alert`, and the client sees it."""
    with pytest.raises(error) as info:
        pump(client, server)
    assert info.value.alert == alert
    sent = [e for e in server.events() if isinstance(e, events.AlertSent)]
    assert [e.description for e in sent] == [alert]
    with pytest.raises(errors.AlertReceived) as peer:
        deliver(server, client)
    assert peer.value.description == alert
    return info.value


def rewrite_client_hello(client: Connection, change, *, which: int | None = None) -> None:
    """Rewrite the client's ClientHello (the `which`-th one, or all) with change(hello) -> hello."""
    count = [0]

    def rewrite(message):
        if not isinstance(message, ClientHello):
            return None
        index = count[0]
        count[0] += 1
        return change(message) if which is None or which == index else None

    rewrite_messages(client, rewrite)


def with_fields(hello: ClientHello, **changes) -> ClientHello:
    fields = dict(random=hello.random, legacy_session_id=hello.legacy_session_id, cipher_suites=hello.cipher_suites,
                  extensions=hello.extensions, legacy_version=hello.legacy_version,
                  legacy_compression_methods=hello.legacy_compression_methods)
    fields.update(changes)
    return ClientHello(**fields)


# --- HelloRetryRequest -----------------------------------------------------------------------------

def test_hello_retry_request_with_cookie():
    client, server = connected_pair(make_client_config(),
                                    make_server_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519)))
    assert server.group == NamedGroup.SECP256R1
    evs = drain(server)
    assert [e for e in evs if isinstance(e, events.HelloRetryRequested)] == [
        events.HelloRetryRequested(NamedGroup.SECP256R1, True)]
    retry, hello = sent_messages(evs, ServerHello)
    assert retry.is_hello_retry_request and not hello.is_hello_retry_request
    assert [type(e).__name__ for e in retry.extensions] == ["KeyShareHelloRetryRequest", "Cookie",
                                                           "SupportedVersionsServerHello"]
    assert len(retry.get_extension(Cookie).cookie) == 32
    assert not any(isinstance(e, events.ChangeCipherSpecSent) for e in evs)    # the client did not ask for it


def test_hello_retry_request_without_cookie():
    client, server = connected_pair(make_client_config(),
                                    make_server_config(supported_groups=(NamedGroup.SECP384R1,),
                                                       hello_retry_cookie=False))
    retry = sent_messages(drain(server), ServerHello)[0]
    assert retry.is_hello_retry_request and retry.get_extension(Cookie) is None
    assert client.group == NamedGroup.SECP384R1


def test_no_retry_when_the_preferred_group_is_shared():
    client, server = connected_pair(make_client_config(key_share_groups=(NamedGroup.X25519, NamedGroup.SECP384R1)),
                                    make_server_config(supported_groups=(NamedGroup.SECP384R1, NamedGroup.X25519)))
    assert server.group == NamedGroup.SECP384R1 and not server.negotiated.hello_retry


def test_compatibility_mode_server_sends_one_change_cipher_spec_after_the_retry():
    client, server = connected_pair(make_client_config(compatibility_mode=True),
                                    make_server_config(supported_groups=(NamedGroup.SECP256R1,)))
    evs = drain(server)
    kinds = [type(e).__name__ for e in evs if isinstance(e, (events.HandshakeMessageSent, events.ChangeCipherSpecSent))]
    assert kinds[:3] == ["HandshakeMessageSent", "ChangeCipherSpecSent", "HandshakeMessageSent"]
    assert kinds.count("ChangeCipherSpecSent") == 1


def _retry_pair(**server_kw):
    client = Connection(make_client_config())
    server = Connection(make_server_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519), **server_kw))
    return client, server


@pytest.mark.parametrize("change, fragment", [
    (lambda h: with_fields(h, extensions=replace_extension(h.extensions, Cookie)), "cookie"),
    (lambda h: with_fields(h, extensions=replace_extension(h.extensions, Cookie, Cookie(b"\x00" * 32))), "cookie"),
    (lambda h: with_fields(h, random=bytes(32)), "random"),
    (lambda h: with_fields(h, cipher_suites=(0x1301,)), "cipher_suites"),
    (lambda h: with_fields(h, extensions=replace_extension(
        h.extensions, KeyShareClientHello,
        KeyShareClientHello((KeyShareEntry(NamedGroup.X25519, bytes(range(1, 33))),)))), "key share"),
    (lambda h: with_fields(h, extensions=h.extensions + (EarlyData(),)), "early_data"),
], ids=["no-cookie", "wrong-cookie", "random", "suites", "wrong-group", "early-data"])
def test_second_client_hello_checks(change, fragment):
    client, server = _retry_pair()
    rewrite_client_hello(client, change, which=1)
    client.start_handshake()
    error = server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)
    assert fragment in str(error)


def test_cookie_that_was_never_sent_is_illegal_parameter():
    client, server = _retry_pair(hello_retry_cookie=False)
    rewrite_client_hello(client, lambda h: with_fields(h, extensions=h.extensions + (Cookie(b"made up"),)), which=1)
    client.start_handshake()
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


def test_third_client_hello_is_unexpected_message():
    client, server = connected_pair()
    hello = sent_messages(drain(client), ClientHello)[0]
    from workbench.tls.messages import encode_handshake
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(client._write.seal(22, encode_handshake(hello)))
    assert info.value.expected == "KeyUpdate" and info.value.received == "ClientHello"


# --- ClientHello checks ----------------------------------------------------------------------------

def _without(cls):
    return lambda h: with_fields(h, extensions=replace_extension(h.extensions, cls))


def _replace(cls, new):
    return lambda h: with_fields(h, extensions=replace_extension(h.extensions, cls, new))


@pytest.mark.parametrize("change, error, alert", [
    (_without(SupportedVersionsClientHello), errors.ProtocolVersionError, AD.protocol_version),
    (_replace(SupportedVersionsClientHello, SupportedVersionsClientHello((0x0303, 0x0302))),
     errors.ProtocolVersionError, AD.protocol_version),
    (lambda h: with_fields(h, legacy_compression_methods=b"\x01\x00"), errors.IllegalParameter,
     AD.illegal_parameter),
    (lambda h: with_fields(h, extensions=h.extensions + (h.extensions[1],)), errors.IllegalParameter,
     AD.illegal_parameter),
    (_without(SignatureAlgorithms), errors.MissingExtension, AD.missing_extension),
    (_without(KeyShareClientHello), errors.MissingExtension, AD.missing_extension),
    (_without(SupportedGroups), errors.MissingExtension, AD.missing_extension),
    (_replace(SupportedGroups, SupportedGroups((NamedGroup.SECP256R1,))), errors.IllegalParameter,
     AD.illegal_parameter),
    (lambda h: with_fields(h, cipher_suites=(0x1304, 0x00FF)), errors.HandshakeFailure, AD.handshake_failure),
    (_replace(SupportedGroups, SupportedGroups((NamedGroup.X448, NamedGroup.X25519))), None, None),
    (_replace(KeyShareClientHello, KeyShareClientHello((KeyShareEntry(NamedGroup.X25519, bytes(32)),))),
     errors.IllegalParameter, AD.illegal_parameter),
    (_replace(KeyShareClientHello, KeyShareClientHello((KeyShareEntry(NamedGroup.X25519, bytes(31)),))),
     errors.IllegalParameter, AD.illegal_parameter),
    (lambda h: with_fields(h, extensions=(PreSharedKeyClientHello((PskIdentity(b"id", 0),), (bytes(32),)),)
                           + h.extensions), errors.IllegalParameter, AD.illegal_parameter),
    (lambda h: with_fields(h, extensions=h.extensions + (RecordSizeLimit(10),)), errors.IllegalParameter,
     AD.illegal_parameter),
    (lambda h: with_fields(h, legacy_session_id=bytes(33)), errors.IllegalParameter, AD.illegal_parameter),
], ids=["no-supported-versions", "only-tls12", "compression", "duplicate-extension", "no-signature-algorithms",
        "no-key-share", "no-supported-groups", "share-not-in-groups", "no-common-suite", "unknown-group-ignored",
        "zero-x25519-share", "short-x25519-share", "psk-not-last", "record-size-limit-too-small",
        "long-session-id"])
def test_client_hello_checks(change, error, alert):
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    rewrite_client_hello(client, change)
    client.start_handshake()
    if error is None:
        pump(client, server)
        assert server.handshake_complete
    else:
        server_fails_with(client, server, error, alert)


def test_extension_lookups_find_the_first_of_each_class():
    from workbench.tls.server13 import _first_of_each_class
    first, second = SupportedGroups((NamedGroup.X25519,)), SupportedGroups((NamedGroup.SECP256R1,))
    alpn = ALPN((b"h2",))
    hello = ClientHello(bytes(32), b"", (0x1301,), (first, alpn, second))
    found = _first_of_each_class(hello.extensions)
    assert found == {SupportedGroups: first, ALPN: alpn}
    assert all(found[cls] is hello.get_extension(cls) for cls in found)      # what get_extension answers
    assert _first_of_each_class(()) == {}


def test_no_common_group_is_handshake_failure():
    client = Connection(make_client_config(supported_groups=(NamedGroup.X25519,)))
    server = Connection(make_server_config(supported_groups=(NamedGroup.SECP384R1,)))
    client.start_handshake()
    error = server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)
    assert error.expected == "SECP384R1" and error.received == "X25519"


def test_no_common_suite_says_what_each_side_offers():
    client = Connection(make_client_config(cipher_suites=(0x1303,)))
    server = Connection(make_server_config(cipher_suites=(0x1301, 0x1302)))
    client.start_handshake()
    error = server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)
    assert "0x1303" in error.received and "0x1301" in error.expected


def test_client_hello_that_is_not_tls_at_all():
    server = Connection(make_server_config())
    with pytest.raises(errors.ProtocolError):
        server.receive_data(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")


def test_malformed_client_hello_is_decode_error():
    server = Connection(make_server_config())
    with pytest.raises(errors.DecodeError) as info:
        server.receive_data(b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00")
    assert info.value.alert == AD.decode_error
    assert any(isinstance(e, events.AlertSent) and e.description == AD.decode_error for e in drain(server))


def test_wrong_first_message_is_unexpected_message():
    server = Connection(make_server_config())
    from workbench.tls.messages import encode_handshake
    from workbench.tls.record import encode_record
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(encode_record(22, encode_handshake(Finished(bytes(32)))))
    assert (info.value.expected, info.value.received) == ("ClientHello", "Finished")


# --- ALPN and SNI -----------------------------------------------------------------------------------

def test_alpn_no_overlap_is_no_application_protocol():
    client = Connection(make_client_config(alpn_protocols=("h2",)))
    server = Connection(make_server_config(alpn_protocols=("http/1.1",)))
    client.start_handshake()
    error = server_fails_with(client, server, errors.NoApplicationProtocol, AD.no_application_protocol)
    assert error.expected == "http/1.1" and error.received == "h2"


def test_alpn_server_preference_wins():
    client, server = connected_pair(make_client_config(alpn_protocols=("h2", "http/1.1")),
                                    make_server_config(alpn_protocols=("http/1.1", "h2")))
    assert server.alpn == client.alpn == b"http/1.1"
    ee = sent_messages(drain(server), EncryptedExtensions)[0]
    assert ee.get_extension(ALPN) == ALPN((b"http/1.1",))


def test_sni_is_recorded_and_acknowledged():
    client, server = connected_pair()
    evs = drain(server)
    ee = sent_messages(evs, EncryptedExtensions)[0]
    assert [type(e).__name__ for e in ee.extensions] == ["SupportedGroups", "ServerName"]
    assert [e.server_name for e in evs if isinstance(e, events.HandshakeComplete)] == ["localhost"]


def test_no_sni_no_acknowledgement_and_no_supported_groups_when_disabled():
    client, server = connected_pair(ClientConfig(trust_anchors=(ROOT,), check_hostname=False),
                                    make_server_config(send_supported_groups_in_ee=False))
    ee = sent_messages(drain(server), EncryptedExtensions)[0]
    assert ee.extensions == ()
    assert server.server_name is None


# --- client authentication ------------------------------------------------------------------------

def client_auth_server(**kw):
    return make_server_config(request_client_certificate=True, client_trust_anchors=(ROOT,), **kw)


@pytest.mark.parametrize("key_type", certs.KEY_TYPES)
def test_client_authentication(key_type):
    leaf = certs.client_leaf(key_type)
    client, server = connected_pair(
        make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key),
        client_auth_server(require_client_certificate=True))
    assert server.peer_certificates == (leaf.certificate.public_bytes(certs.serialization.Encoding.DER),)
    evs = drain(server)
    request = sent_messages(evs, CertificateRequest)[0]
    assert request.certificate_request_context == b""
    assert request.get_extension(SignatureAlgorithms) is not None
    complete = [e for e in evs if isinstance(e, events.HandshakeComplete)][0]
    assert complete.peer_certificates == server.peer_certificates
    client.send(b"as " + key_type.encode())
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, events.ApplicationData)] == [b"as " + key_type.encode()]


def test_missing_client_certificate_when_required_is_certificate_required():
    client = Connection(make_client_config())
    server = Connection(client_auth_server(require_client_certificate=True))
    client.start_handshake()
    error = server_fails_with(client, server, errors.CertificateRequired, AD.certificate_required)
    assert error.received == "empty Certificate"
    assert not server.handshake_complete


def test_missing_client_certificate_when_optional_is_fine():
    client, server = connected_pair(make_client_config(), client_auth_server())
    assert server.handshake_complete and server.peer_certificates == ()


def test_untrusted_client_certificate_is_unknown_ca():
    leaf = certs.untrusted_leaf()
    client = Connection(make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    server = Connection(client_auth_server())
    client.start_handshake()
    server_fails_with(client, server, errors.ProtocolError, AD.unknown_ca)


def test_bad_client_certificate_verify_is_decrypt_error():
    leaf = certs.client_leaf()
    client = Connection(make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    server = Connection(client_auth_server())
    client.start_handshake()
    rewrite_messages(client, lambda m: CertificateVerify(m.algorithm, m.signature[:-2] + b"\x00\x00")
                     if isinstance(m, CertificateVerify) else None)
    server_fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_client_certificate_without_certificate_verify_is_unexpected_message():
    leaf = certs.client_leaf()
    client = Connection(make_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key))
    server = Connection(client_auth_server())
    client.start_handshake()
    from .pair import drop_messages
    drop_messages(client, CertificateVerify)
    error = server_fails_with(client, server, errors.UnexpectedMessage, AD.unexpected_message)
    assert (error.expected, error.received) == ("CertificateVerify", "Finished")


def test_bad_client_finished_is_decrypt_error():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    rewrite_messages(client, lambda m: Finished(b"\xff" * 32) if isinstance(m, Finished) else None)
    server_fails_with(client, server, errors.DecryptError, AD.decrypt_error)


def test_client_certificate_with_a_request_context_is_illegal_parameter():
    client = Connection(make_client_config())
    server = Connection(client_auth_server())
    client.start_handshake()
    rewrite_messages(client, lambda m: Certificate(b"\x01", ()) if isinstance(m, Certificate) else None)
    server_fails_with(client, server, errors.IllegalParameter, AD.illegal_parameter)


# --- certificate choice -----------------------------------------------------------------------------

def two_certificate_server():
    ecdsa, rsa_leaf = certs.server_leaf("ecdsa-p256"), certs.server_leaf("rsa-2048")
    return make_server_config(certificates=((rsa_leaf.chain, rsa_leaf.private_key),),
                              certificate_chain=ecdsa.chain, private_key=ecdsa.private_key)


@pytest.mark.parametrize("client_schemes, expected", [
    ((SignatureScheme.RSA_PSS_RSAE_SHA256,), SignatureScheme.RSA_PSS_RSAE_SHA256),
    ((SignatureScheme.RSA_PSS_RSAE_SHA384, SignatureScheme.ECDSA_SECP256R1_SHA256),
     SignatureScheme.RSA_PSS_RSAE_SHA384),
    ((SignatureScheme.ECDSA_SECP256R1_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA256),
     SignatureScheme.ECDSA_SECP256R1_SHA256),
])
def test_certificate_chosen_by_signature_algorithms(client_schemes, expected):
    client, server = connected_pair(make_client_config(signature_schemes=client_schemes), two_certificate_server())
    assert client.negotiated.signature_scheme == expected
    cv = sent_messages(drain(server), CertificateVerify)[0]
    assert cv.algorithm == expected


def test_no_certificate_fits_is_handshake_failure():
    client = Connection(make_client_config(signature_schemes=(SignatureScheme.ED25519,)))
    server = Connection(make_server_config("ecdsa-p256"))
    client.start_handshake()
    server_fails_with(client, server, errors.HandshakeFailure, AD.handshake_failure)


# --- reproducibility ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_server_output_depends_only_on_config_and_transcript(key_type):
    def run():
        client = Connection(make_client_config(rng=seeded_rng(1), clock=lambda: certs.NOW.timestamp()))
        server = Connection(make_server_config(key_type, rng=seeded_rng(2), clock=lambda: certs.NOW.timestamp()))
        client.start_handshake()
        wire = []
        for _ in range(4):
            for a, b in ((client, server), (server, client)):
                data = a.data_to_send()
                wire.append(data)
                if data:
                    b.receive_data(data)
        assert client.handshake_complete and server.handshake_complete
        return wire, client.key_log_lines()
    assert run() == run()


def test_early_data_is_skipped_when_not_accepted():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    rewrite_client_hello(client, lambda h: with_fields(h, extensions=h.extensions + (EarlyData(),)))
    client.start_handshake()
    hello = client.data_to_send()
    assert hello          # the rewritten ClientHello went out
    fake_early = b"\x17\x03\x03\x00\x20" + bytes(32)
    server.receive_data(hello + fake_early)
    client.receive_data(server.data_to_send())
    server.receive_data(fake_early + client.data_to_send())
    assert server.handshake_complete


# --- RFC 8448 section 3: the server side up to its signature ------------------------------------------

def trace_rsa_key(trace) -> rsa.RSAPrivateKey:
    f = trace.private_key_field
    public = rsa.RSAPublicNumbers(f("public exponent"), f("modulus"))
    return rsa.RSAPrivateNumbers(f("prime1"), f("prime2"), f("private exponent"), f("exponent1"), f("exponent2"),
                                 f("coefficient"), public).private_key()


def test_rfc8448_simple_1rtt_server():
    trace = load_trace()
    messages = {name: raw for actor, name, raw in trace.handshake_messages(3) if actor == "server"}
    certificate = decode_handshake(messages["Certificate"]).certificate_list[0].cert_data
    server_hello = messages["ServerHello"]
    private = trace.value(3, "server", "create an ephemeral x25519 key pair", "private key")
    rng = injected(server_hello[6:38], private)
    config = ServerConfig(certificate_chain=(x509.load_der_x509_certificate(certificate),),
                          private_key=trace_rsa_key(trace), supported_groups=TRACE_GROUPS,
                          signature_schemes=TRACE_SCHEMES, record_size_limit=0x4001, rng=rng)
    server = Connection(config)
    server.receive_data(record(trace, 3, "client", "handshake"))
    flight = split_records(server.data_to_send())
    assert flight[0] == record(trace, 3, "server", "handshake", 0)
    assert not rng.queue
    evs = drain(server)
    sent = {type(e.message).__name__: e.raw for e in evs if isinstance(e, events.HandshakeMessageSent)}
    assert sent["EncryptedExtensions"] == messages["EncryptedExtensions"]
    assert sent["Certificate"] == messages["Certificate"]
    assert sent["CertificateVerify"][:8] == messages["CertificateVerify"][:8]     # RSA-PSS is randomized
    secrets = {e.name: e.value for e in evs if isinstance(e, events.SecretDerived)}
    assert secrets["s hs traffic"] == trace.value(3, "server", 'derive secret "tls13 s hs traffic"', "expanded")
    # One protected record carries EncryptedExtensions..Finished, as in the trace.
    assert len(flight) == 2 and len(flight[1]) == len(record(trace, 3, "server", "handshake", 1))


def test_rfc8448_compatibility_mode_server():
    trace = load_trace()
    messages = {name: raw for actor, name, raw in trace.handshake_messages(7) if actor == "server"}
    certificate = decode_handshake(messages["Certificate"]).certificate_list[0].cert_data
    private = trace.value(7, "server", "create an ephemeral x25519 key pair", "private key")
    rng = injected(messages["ServerHello"][6:38], private)
    server = Connection(ServerConfig(certificate_chain=(x509.load_der_x509_certificate(certificate),),
                                     private_key=trace_rsa_key(trace), supported_groups=TRACE_GROUPS,
                                     record_size_limit=0x4001, rng=rng))
    server.receive_data(record(trace, 7, "client", "handshake"))
    wire = server.data_to_send()
    expected = record(trace, 7, "server", "handshake", 0) + record(trace, 7, "server", "change_cipher_spec")
    assert wire[:len(expected)] == expected


# --- a real peer: Python's ssl module (OpenSSL) as the client ----------------------------------------

def ssl_client(tmp_path, *, alpn=None, client_leaf=None):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(certs.root().pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(str(ca_file))
    if alpn:
        context.set_alpn_protocols(alpn)
    if client_leaf is not None:
        context.load_cert_chain(*client_leaf.pem_files(tmp_path))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_hostname="localhost"), incoming, outgoing


def handshake_with_ssl_client(server: Connection, client, incoming, outgoing) -> None:
    done = False
    for _ in range(10):
        if not done:
            try:
                client.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                pass
        data = outgoing.read()
        if data:
            server.receive_data(data)
        incoming.write(server.data_to_send())
        if done and server.handshake_complete:
            return
    raise AssertionError("handshake with the ssl client did not complete")


@pytest.mark.parametrize("key_type", certs.KEY_TYPES)
@pytest.mark.parametrize("retry", [False, True], ids=["direct", "hello-retry"])
def test_against_python_ssl_client(tmp_path, key_type, retry):
    groups = (NamedGroup.SECP384R1, NamedGroup.X25519) if retry else (NamedGroup.X25519,)
    server = Connection(make_server_config(key_type, alpn_protocols=("h2",), supported_groups=groups))
    client, incoming, outgoing = ssl_client(tmp_path, alpn=["http/1.1", "h2"])
    handshake_with_ssl_client(server, client, incoming, outgoing)
    assert client.version() == "TLSv1.3" and client.selected_alpn_protocol() == "h2"
    assert server.negotiated.hello_retry == retry
    assert server.group == groups[0]
    assert server.server_name == "localhost"
    evs = drain(server)
    # OpenSSL uses middlebox compatibility mode: a session id and one change_cipher_spec each way.
    assert any(isinstance(e, events.ChangeCipherSpecReceived) for e in evs)
    assert len([e for e in evs if isinstance(e, events.ChangeCipherSpecSent)]) == 1
    client.write(b"q" * 50000)
    server.receive_data(outgoing.read())
    assert b"".join(e.data for e in drain(server) if isinstance(e, events.ApplicationData)) == b"q" * 50000
    server.send(b"r" * 40000)
    incoming.write(server.data_to_send())
    got = b""
    while len(got) < 40000:
        got += client.read(65536)
    assert got == b"r" * 40000
    server.close()
    incoming.write(server.data_to_send())
    assert client.read(10) == b""
    client.unwrap()
    server.receive_data(outgoing.read())
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in drain(server))


def test_against_python_ssl_client_with_client_certificate(tmp_path):
    leaf = certs.client_leaf("ecdsa-p384")
    server = Connection(client_auth_server(require_client_certificate=True))
    client, incoming, outgoing = ssl_client(tmp_path, client_leaf=leaf)
    handshake_with_ssl_client(server, client, incoming, outgoing)
    client.write(b"hello")
    server.receive_data(outgoing.read())
    assert server.peer_certificates[0] == leaf.certificate.public_bytes(certs.serialization.Encoding.DER)
    assert server.negotiated.client_certificate_scheme == SignatureScheme.ECDSA_SECP384R1_SHA384


def test_python_ssl_client_without_certificate_gets_certificate_required(tmp_path):
    server = Connection(client_auth_server(require_client_certificate=True))
    client, incoming, outgoing = ssl_client(tmp_path)
    with pytest.raises(errors.CertificateRequired):
        handshake_with_ssl_client(server, client, incoming, outgoing)
    incoming.write(server.data_to_send())
    with pytest.raises(ssl.SSLError) as info:
        client.read(10)
    assert "CERTIFICATE_REQUIRED" in str(info.value).upper()

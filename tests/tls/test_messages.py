import dataclasses

import pytest
from cryptography import x509

from tests.rfc8448 import trace_bytes
from tests.tls.capture_streams import CAPTURES, tcp_streams
from workbench.tls.enums import CipherSuite, ContentType, HandshakeType, NamedGroup, SignatureScheme
from workbench.tls.errors import DecodeError, UsageError
from workbench.tls.extensions import (
    ALPN,
    Cookie,
    EarlyData,
    ExtendedMasterSecret,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SignatureAlgorithms,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from workbench.tls.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    Certificate12,
    CertificateEntry,
    CertificateRequest,
    CertificateRequest12,
    CertificateVerify,
    ClientHello,
    ClientKeyExchangeECDHE,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeReassembler,
    HelloRequest,
    KeyUpdate,
    MessageHash,
    NewSessionTicket,
    NewSessionTicket12,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
    UnknownHandshake,
    decode_handshake,
    encode_handshake,
)
from workbench.tls.record import RecordFramer

# ----- RFC 8448 ---------------------------------------------------------------------------------

RFC8448_MESSAGES = [
    ("Simple 1-RTT", "ClientHello", 0, ClientHello),
    ("Simple 1-RTT", "ServerHello", 0, ServerHello),
    ("Simple 1-RTT", "EncryptedExtensions", 0, EncryptedExtensions),
    ("Simple 1-RTT", "Certificate", 0, Certificate),
    ("Simple 1-RTT", "CertificateVerify", 0, CertificateVerify),
    ("Simple 1-RTT", "Finished", 0, Finished),
    ("Simple 1-RTT", "Finished", 1, Finished),
    ("Simple 1-RTT", "NewSessionTicket", 0, NewSessionTicket),
    ("Resumed 0-RTT", "payload", 0, ClientHello),          # full ClientHello with pre_shared_key + early_data
    ("Resumed 0-RTT", "ServerHello", 0, ServerHello),
    ("Resumed 0-RTT", "EncryptedExtensions", 0, EncryptedExtensions),
    ("Resumed 0-RTT", "Finished", 0, Finished),
    ("Resumed 0-RTT", "EndOfEarlyData", 0, EndOfEarlyData),
    ("HelloRetryRequest", "ClientHello", 0, ClientHello),
    ("HelloRetryRequest", "ServerHello", 0, ServerHello),  # the HelloRetryRequest
    ("HelloRetryRequest", "ClientHello", 1, ClientHello),
    ("HelloRetryRequest", "ServerHello", 1, ServerHello),
    ("HelloRetryRequest", "EncryptedExtensions", 0, EncryptedExtensions),
    ("HelloRetryRequest", "Certificate", 0, Certificate),
    ("Client Authentication", "ClientHello", 0, ClientHello),
    ("Client Authentication", "CertificateRequest", 0, CertificateRequest),
    ("Client Authentication", "Certificate", 0, Certificate),
    ("Client Authentication", "CertificateVerify", 0, CertificateVerify),
    ("Client Authentication", "Certificate", 1, Certificate),      # the client's
    ("Client Authentication", "CertificateVerify", 1, CertificateVerify),
    ("Client Authentication", "Finished", 1, Finished),
    ("Compatibility Mode", "ClientHello", 0, ClientHello),
    ("Compatibility Mode", "ServerHello", 0, ServerHello),
]


def rfc_id(case):
    return f"{case[0].split()[0]}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("section, label, occurrence, cls", RFC8448_MESSAGES, ids=map(rfc_id, RFC8448_MESSAGES))
def test_rfc8448_message_round_trips_byte_for_byte(section, label, occurrence, cls):
    raw = trace_bytes(section, label, occurrence)
    msg = decode_handshake(raw)
    assert type(msg) is cls
    assert encode_handshake(msg) == raw
    assert decode_handshake(encode_handshake(msg)) == msg


def test_rfc8448_simple_handshake_fields():
    hello = decode_handshake(trace_bytes("Simple 1-RTT", "ClientHello"))
    assert hello.cipher_suites == (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                                   CipherSuite.TLS_AES_256_GCM_SHA384)
    assert hello.get_extension(ServerName) == ServerName("server")
    assert hello.get_extension(SupportedVersionsClientHello) == SupportedVersionsClientHello((0x0304,))
    client_public = trace_bytes("Simple 1-RTT", "public key", 0)
    assert hello.get_extension(KeyShareClientHello).shares == (KeyShareEntry(NamedGroup.X25519, client_public),)
    assert hello.get_extension(ALPN) is None

    server_hello = decode_handshake(trace_bytes("Simple 1-RTT", "ServerHello"))
    assert not server_hello.is_hello_retry_request
    assert server_hello.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    server_public = trace_bytes("Simple 1-RTT", "public key", 1)
    assert server_hello.get_extension(KeyShareServerHello).share == KeyShareEntry(NamedGroup.X25519, server_public)
    assert server_hello.get_extension(SupportedVersionsServerHello) == SupportedVersionsServerHello(0x0304)

    ee = decode_handshake(trace_bytes("Simple 1-RTT", "EncryptedExtensions"))
    assert ee.get_extension(RecordSizeLimit) == RecordSizeLimit(16385)
    assert ee.get_extension(ServerName) == ServerName(None)

    certificate = decode_handshake(trace_bytes("Simple 1-RTT", "Certificate"))
    [entry] = certificate.certificate_list
    assert entry.extensions == ()
    cert = x509.load_der_x509_certificate(entry.cert_data)
    assert cert.subject.rfc4514_string() == "CN=rsa"

    verify = decode_handshake(trace_bytes("Simple 1-RTT", "CertificateVerify"))
    assert verify.algorithm == SignatureScheme.RSA_PSS_RSAE_SHA256 and len(verify.signature) == 128

    finished = decode_handshake(trace_bytes("Simple 1-RTT", "Finished"))
    assert finished.verify_data == trace_bytes("Simple 1-RTT", "finished", 0)

    ticket = decode_handshake(trace_bytes("Simple 1-RTT", "NewSessionTicket"))
    assert (ticket.ticket_lifetime, ticket.ticket_nonce, len(ticket.ticket)) == (30, b"\x00\x00", 178)
    assert ticket.extensions == (EarlyData(1024),)


def test_rfc8448_hello_retry_request_fields():
    hrr = decode_handshake(trace_bytes("HelloRetryRequest", "ServerHello", 0))
    assert hrr.is_hello_retry_request
    assert hrr.get_extension(KeyShareHelloRetryRequest) == KeyShareHelloRetryRequest(NamedGroup.SECP256R1)
    assert hrr.get_extension(SupportedVersionsServerHello) == SupportedVersionsServerHello(0x0304)
    second_hello = decode_handshake(trace_bytes("HelloRetryRequest", "ClientHello", 1))
    assert second_hello.get_extension(Cookie) == hrr.get_extension(Cookie)
    assert [share.group for share in second_hello.get_extension(KeyShareClientHello).shares] == [NamedGroup.SECP256R1]
    server_hello = decode_handshake(trace_bytes("HelloRetryRequest", "ServerHello", 1))
    assert not server_hello.is_hello_retry_request
    assert server_hello.get_extension(KeyShareServerHello).share.group == NamedGroup.SECP256R1


def test_rfc8448_resumption_and_client_auth_fields():
    resumed = decode_handshake(trace_bytes("Resumed 0-RTT", "ServerHello"))
    assert resumed.get_extension(PreSharedKeyServerHello) == PreSharedKeyServerHello(0)
    assert decode_handshake(trace_bytes("Resumed 0-RTT", "EncryptedExtensions")).get_extension(EarlyData) == EarlyData()
    hello = decode_handshake(trace_bytes("Resumed 0-RTT", "payload", 0))
    assert isinstance(hello.extensions[-1], PreSharedKeyClientHello)

    request = decode_handshake(trace_bytes("Client Authentication", "CertificateRequest"))
    assert request.certificate_request_context == b""
    assert SignatureScheme.RSA_PSS_RSAE_SHA256 in request.get_extension(SignatureAlgorithms).schemes
    client_cert = decode_handshake(trace_bytes("Client Authentication", "Certificate", 1))
    cert = x509.load_der_x509_certificate(client_cert.certificate_list[0].cert_data)
    assert cert.subject.rfc4514_string() == "CN=client"

    compat_hello = decode_handshake(trace_bytes("Compatibility Mode", "ClientHello"))
    compat_server = decode_handshake(trace_bytes("Compatibility Mode", "ServerHello"))
    assert len(compat_hello.legacy_session_id) == 32
    assert compat_server.legacy_session_id_echo == compat_hello.legacy_session_id


def test_hello_retry_request_random_is_the_rfc8446_value():
    assert HELLO_RETRY_REQUEST_RANDOM == bytes.fromhex(
        "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


# ----- hand-built messages of every class -----------------------------------------------------

RANDOM = bytes(range(32))
PUBLIC_P256 = b"\x04" + bytes(range(64))

TLS13_MESSAGES = [
    ClientHello(RANDOM, b"", (0x1301,), (SupportedVersionsClientHello((0x0304,)),
                                         KeyShareClientHello((KeyShareEntry(0x1D, bytes(32)),)))),
    ClientHello(RANDOM, bytes(32), (0x1301, 0x1302, 0x00FF), (ServerName("example.com"), ALPN((b"h2",))),
                legacy_version=0x0301, legacy_compression_methods=b"\x01\x00"),
    ServerHello(RANDOM, b"\x01" * 32, 0x1302, (SupportedVersionsServerHello(0x0304),
                                              KeyShareServerHello(KeyShareEntry(0x17, PUBLIC_P256)))),
    ServerHello(HELLO_RETRY_REQUEST_RANDOM, b"", 0x1301, (SupportedVersionsServerHello(0x0304),
                                                         KeyShareHelloRetryRequest(0x18), Cookie(b"c" * 40))),
    EncryptedExtensions(),
    EncryptedExtensions((ALPN((b"http/1.1",)), EarlyData(), UnknownExtension(0x4469, b"x"))),
    CertificateRequest(b"\x07\x08", (SignatureAlgorithms((0x0804, 0x0403)),)),
    Certificate(b"", (CertificateEntry(b"leaf-der", (UnknownExtension(5, b"\x01ocsp"),)), CertificateEntry(b"ca-der"))),
    Certificate(b"\x01\x02", ()),
    CertificateVerify(0x0807, b"s" * 64),
    Finished(b"f" * 48),
    NewSessionTicket(7200, 0xFFFFFFFF, b"\x00", b"ticket", (EarlyData(0xFFFFFFFF),)),
    NewSessionTicket(0, 0, b"", b"", ()),
    EndOfEarlyData(),
    KeyUpdate(0),
    KeyUpdate(1),
    MessageHash(b"h" * 32),
    UnknownHandshake(HandshakeType.SERVER_HELLO_DONE, b""),   # a TLS 1.2-only type
    UnknownHandshake(99, b"anything"),
]

TLS12_MESSAGES = [
    HelloRequest(),
    ClientHello(RANDOM, b"", (0xC02F, 0x00FF)),            # no extension block at all
    ClientHello(RANDOM, b"s" * 32, (0xC02B,), (RenegotiationInfo(), ExtendedMasterSecret())),
    ServerHello(RANDOM, b"s" * 32, 0xC02B),
    ServerHello(RANDOM, b"", 0xC02F, (RenegotiationInfo(b"\x01" * 24), ExtendedMasterSecret(),
                                      UnknownExtension(0x33, b"\x00\x1d"))),
    Certificate12((b"leaf-der", b"intermediate-der")),
    Certificate12(()),
    ServerKeyExchangeECDHE(3, NamedGroup.SECP256R1, PUBLIC_P256, SignatureScheme.ECDSA_SECP256R1_SHA256, b"sig"),
    CertificateRequest12(b"\x01\x40", (0x0401, 0x0403), (b"\x30\x00",)),
    CertificateRequest12(b"", (), ()),
    ServerHelloDone(),
    ClientKeyExchangeECDHE(PUBLIC_P256),
    CertificateVerify(0x0401, b"v" * 256),
    Finished(b"F" * 12),
    NewSessionTicket12(7200, b"t" * 100),
    UnknownHandshake(HandshakeType.ENCRYPTED_EXTENSIONS, b"\x00\x00"),   # a TLS 1.3-only type
    UnknownHandshake(HandshakeType.CERTIFICATE_STATUS, b"\x01\x00\x00\x01\x00"),
]


def msg_id(msg):
    return type(msg).__name__


@pytest.mark.parametrize("msg", TLS13_MESSAGES, ids=map(msg_id, TLS13_MESSAGES))
def test_tls13_message_round_trip(msg):
    raw = encode_handshake(msg)
    assert decode_handshake(raw, tls13=True) == msg
    assert encode_handshake(decode_handshake(raw)) == raw


def test_repeating_messages_are_decoded_once_per_distinct_encoding():
    from workbench.tls import messages
    raw = encode_handshake(Certificate(b"", (CertificateEntry(b"leaf-der-for-the-cache-test"),)))
    first = decode_handshake(raw)
    assert decode_handshake(raw[:2] + raw[2:]) is first                # an equal encoding: the same object
    assert decode_handshake(bytearray(raw)) == first                    # not cached, still decoded
    with pytest.raises(DecodeError):
        decode_handshake(raw, tls13=False)              # the TLS 1.2 rules are kept apart: not the cached one
    raw12 = encode_handshake(Certificate12((b"leaf-der-for-the-cache-test",)))
    assert decode_handshake(raw12, tls13=False) is decode_handshake(raw12, tls13=False)
    finished = encode_handshake(Finished(bytes(32)))
    assert decode_handshake(finished) is not decode_handshake(finished)     # not a repeating type
    bad = raw[:-1] + b"\x01"                        # the entry's extension block announces a byte that is not there
    for _ in range(2):
        with pytest.raises(DecodeError):
            decode_handshake(bad)
    for n in range(messages._DECODED_LIMIT + 10):                         # the cache stays bounded
        decode_handshake(encode_handshake(Certificate(b"", (CertificateEntry(n.to_bytes(4, "big")),))))
    assert len(messages._DECODED) <= messages._DECODED_LIMIT


def test_a_message_that_does_not_fit_its_header_is_a_usage_error():
    assert encode_handshake(UnknownHandshake(0xFF, b"x")) == b"\xff\x00\x00\x01x"
    for msg in (UnknownHandshake(0x100, b""), UnknownHandshake(-1, b""), UnknownHandshake(99, bytes(0x1000000))):
        with pytest.raises(UsageError):
            encode_handshake(msg)


@pytest.mark.parametrize("msg", TLS12_MESSAGES, ids=map(msg_id, TLS12_MESSAGES))
def test_tls12_message_round_trip(msg):
    raw = encode_handshake(msg)
    assert decode_handshake(raw, tls13=False) == msg
    assert encode_handshake(decode_handshake(raw, tls13=False)) == raw


@pytest.mark.parametrize("msg, wire", [
    (HelloRequest(), "00 000000"),
    (EndOfEarlyData(), "05 000000"),
    (ServerHelloDone(), "0e 000000"),
    (KeyUpdate(1), "18 000001 01"),
    (Finished(b"\xaa" * 12), "14 00000c" + "aa" * 12),
    (MessageHash(b"\x11" * 32), "fe 000020" + "11" * 32),
    (ClientKeyExchangeECDHE(b"\x04\x01\x02"), "10 000004 03 040102"),
    (NewSessionTicket12(7200, b"t"), "04 000007 00001c20 0001 74"),
    (CertificateVerify(0x0403, b"sig"), "0f 000007 0403 0003 736967"),
    (Certificate12((b"ab",)), "0b 000008 000005 000002 6162"),
    (Certificate(b"", (CertificateEntry(b"ab"),)), "0b 00000b 00 000007 000002 6162 0000"),
    (CertificateRequest12(b"\x40", (0x0403,), ()), "0d 000008 01 40 0002 0403 0000"),
    (ServerKeyExchangeECDHE(3, 0x17, b"\x04", 0x0403, b"s"), "0c 00000a 03 0017 01 04 0403 0001 73"),
    (UnknownHandshake(0x63, b"\x01"), "63 000001 01"),
])
def test_exact_wire_form(msg, wire):
    assert encode_handshake(msg) == bytes.fromhex(wire)


def test_version_decides_the_body_of_shared_types():
    t12 = NewSessionTicket12(300, b"ticket")
    raw = encode_handshake(t12)
    assert decode_handshake(raw, tls13=False) == t12
    with pytest.raises(DecodeError, match="NewSessionTicket"):
        decode_handshake(raw, tls13=True)

    cert12 = encode_handshake(Certificate12((b"x",)))
    assert isinstance(decode_handshake(cert12, tls13=False), Certificate12)
    with pytest.raises(DecodeError):
        decode_handshake(cert12, tls13=True)

    for msg in (ServerHelloDone(), ClientKeyExchangeECDHE(b"\x04"), HelloRequest()):
        raw = encode_handshake(msg)
        assert decode_handshake(raw, tls13=True) == UnknownHandshake(msg.TYPE, raw[4:])
    for msg in (EncryptedExtensions(), KeyUpdate(0), EndOfEarlyData(), MessageHash(b"d")):
        raw = encode_handshake(msg)
        assert decode_handshake(raw, tls13=False) == UnknownHandshake(msg.TYPE, raw[4:])


def test_server_hello_extension_context_follows_supported_versions():
    key_share_body = bytes.fromhex("001d 0002 abcd")
    raw_key_share = UnknownExtension(0x33, key_share_body)
    tls13 = ServerHello(RANDOM, b"", 0x1301, (raw_key_share, SupportedVersionsServerHello(0x0304)))
    decoded = decode_handshake(encode_handshake(tls13))
    assert decoded.extensions[0] == KeyShareServerHello(KeyShareEntry(0x1D, b"\xab\xcd"))

    for extensions in ((raw_key_share,), (raw_key_share, SupportedVersionsServerHello(0x0303))):
        tls12 = ServerHello(RANDOM, b"", 0xC02F, extensions)
        assert decode_handshake(encode_handshake(tls12), tls13=False) == tls12   # kept as UnknownExtension


def test_client_and_server_hello_without_extensions_omit_the_block():
    hello = ClientHello(RANDOM, b"", (0xC02F,))
    raw = encode_handshake(hello)
    assert raw.endswith(b"\xc0\x2f\x01\x00")
    # an explicit empty block decodes to the same message (and so re-encodes without it)
    assert decode_handshake(raw[:3] + bytes([raw[3] + 2]) + raw[4:] + b"\x00\x00") == hello


def test_server_key_exchange_params_bytes():
    ske = ServerKeyExchangeECDHE(3, NamedGroup.X25519, b"\x09" * 32, SignatureScheme.ED25519, b"sig")
    assert ske.params_bytes == bytes.fromhex("03 001d 20") + b"\x09" * 32
    assert encode_handshake(ske)[4:].startswith(ske.params_bytes)
    explicit_prime = bytes.fromhex("0c 000004 01 000000")
    with pytest.raises(DecodeError, match="named_curve"):
        decode_handshake(explicit_prime, tls13=False)


def test_get_extension():
    hello = TLS13_MESSAGES[0]
    assert hello.get_extension(SupportedVersionsClientHello) == SupportedVersionsClientHello((0x0304,))
    assert hello.get_extension(ALPN) is None
    assert Finished(b"x").get_extension(ALPN) is None


def test_get_extension_finds_the_first_instance_in_every_message_with_extensions():
    exts = (UnknownExtension(0x0A0A, b""), ServerName("a"), ServerName("b"))
    for msg in (ClientHello(bytes(32), b"", (0x1301,), exts), ServerHello(bytes(32), b"", 0x1301, exts),
                EncryptedExtensions(exts), CertificateRequest(b"", exts), CertificateEntry(b"der", exts),
                NewSessionTicket(1, 2, b"", b"t", exts)):
        assert msg.get_extension(ServerName) is exts[1]
        assert msg.get_extension((ALPN, ServerName)) is exts[1]     # isinstance semantics: a tuple of classes
        assert msg.get_extension(object) is exts[0]
        assert msg.get_extension(ALPN) is None
    for msg in (Certificate(b"", ()), CertificateVerify(0x0403, b"sig"), KeyUpdate(0), UnknownHandshake(99, b"")):
        assert msg.get_extension(ServerName) is None


def test_messages_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Finished(b"x").verify_data = b"y"


# ----- real TLS 1.2 and 1.3 captures ------------------------------------------------------------

CAPTURE_FILES = [
    (CAPTURES / "hotplace/tls12_tls12_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.pcapng", 9000, False),
    (CAPTURES / "hotplace/tls12_tls12etm_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng", 9000, False),
    (CAPTURES / "hotplace/tls12_tls12renogotiation.pcapng", 9000, False),
    (CAPTURES / "illustrated-tls12/capture.pcap", 8443, False),
    (CAPTURES / "hotplace/tls13_tls13_TLS_AES_256_GCM_SHA384.pcapng", 9000, True),
    (CAPTURES / "hotplace/tls13_handshake_failure.pcapng", 9000, True),
]


def plaintext_handshake_messages(stream: bytes) -> list[bytes]:
    """Handshake messages before the first ChangeCipherSpec (after it, records are encrypted)."""
    framer = RecordFramer()
    framer.feed(stream)
    reassembler = HandshakeReassembler()
    messages = []
    while (record := framer.pop()) is not None and record.content_type != ContentType.CHANGE_CIPHER_SPEC:
        if record.content_type == ContentType.HANDSHAKE:
            reassembler.feed(record.fragment)
            while (raw := reassembler.pop()) is not None:
                messages.append(raw)
    return messages


def capture_messages():
    out = []
    for path, port, tls13 in CAPTURE_FILES:
        client, server = tcp_streams(path, port)
        for side, stream in (("client", client), ("server", server)):
            for raw in plaintext_handshake_messages(stream):
                out.append(pytest.param(raw, tls13, id=f"{path.stem[:28]}-{side}-{raw[0]}"))
    return out


CAPTURE_MESSAGES = capture_messages()


@pytest.mark.parametrize("raw, tls13", CAPTURE_MESSAGES)
def test_captured_message_round_trips(raw, tls13):
    msg = decode_handshake(raw, tls13=tls13)
    assert not isinstance(msg, UnknownHandshake)
    assert encode_handshake(msg) == raw


def test_captured_tls12_flight_has_the_expected_messages():
    client, server = tcp_streams(CAPTURE_FILES[0][0], 9000)
    server_types = [type(decode_handshake(raw, tls13=False)) for raw in plaintext_handshake_messages(server)]
    assert server_types == [ServerHello, Certificate12, ServerKeyExchangeECDHE, ServerHelloDone, NewSessionTicket12]
    client_types = [type(decode_handshake(raw, tls13=False)) for raw in plaintext_handshake_messages(client)]
    assert client_types == [ClientHello, ClientKeyExchangeECDHE]
    server_hello = decode_handshake(plaintext_handshake_messages(server)[0], tls13=False)
    assert server_hello.get_extension(RenegotiationInfo) == RenegotiationInfo(b"")
    assert server_hello.get_extension(ExtendedMasterSecret) == ExtendedMasterSecret()


# ----- truncation and trailing bytes ----------------------------------------------------------------

def corpus():
    items = [(trace_bytes(s, label, n), True) for s, label, n, _ in RFC8448_MESSAGES]
    items += [(encode_handshake(m), True) for m in TLS13_MESSAGES]
    items += [(encode_handshake(m), False) for m in TLS12_MESSAGES]
    items += [param.values for param in CAPTURE_MESSAGES]
    return items


CORPUS = corpus()
FREE_FORM_BODIES = (Finished, MessageHash, UnknownHandshake)


def reheader(raw: bytes, body: bytes) -> bytes:
    return raw[:1] + len(body).to_bytes(3, "big") + body


def legal_cut(msg) -> int | None:
    """The one body length shorter than the message that is itself a valid message, if any."""
    if isinstance(msg, (ClientHello, ServerHello)) and msg.extensions:
        return len(encode_handshake(dataclasses.replace(msg, extensions=()))) - 4
    return None


def test_every_truncation_fails_with_decode_error():
    checked = 0
    for raw, tls13 in CORPUS:
        msg = decode_handshake(raw, tls13=tls13)
        for cut in range(len(raw)):
            with pytest.raises(DecodeError):
                decode_handshake(raw[:cut], tls13=tls13)
        if isinstance(msg, FREE_FORM_BODIES):
            continue
        body = raw[4:]
        allowed = legal_cut(msg)
        for cut in range(len(body)):
            shortened = reheader(raw, body[:cut])
            if cut == allowed:
                assert encode_handshake(decode_handshake(shortened, tls13=tls13)) == shortened
                continue
            with pytest.raises(DecodeError):
                decode_handshake(shortened, tls13=tls13)
            checked += 1
    assert checked > 10000


def test_trailing_bytes_fail_with_decode_error():
    for raw, tls13 in CORPUS:
        msg = decode_handshake(raw, tls13=tls13)
        with pytest.raises(DecodeError, match="announces"):
            decode_handshake(raw + b"\x00", tls13=tls13)
        if isinstance(msg, FREE_FORM_BODIES):
            continue
        for extra in (b"\x00", b"\x00\x00", b"\xff\xff\xff"):
            padded = reheader(raw, raw[4:] + extra)
            if extra == b"\x00\x00" and isinstance(msg, (ClientHello, ServerHello)) and not msg.extensions:
                assert decode_handshake(padded, tls13=tls13) == msg    # an explicit empty extension block
                continue
            with pytest.raises(DecodeError):
                decode_handshake(padded, tls13=tls13)


def test_decode_error_names_the_message():
    raw = trace_bytes("Simple 1-RTT", "ClientHello")
    with pytest.raises(DecodeError, match="^ClientHello: "):
        decode_handshake(reheader(raw, raw[4:50]))
    with pytest.raises(DecodeError, match="shorter than its 4-byte header"):
        decode_handshake(b"\x01\x00")


# ----- HandshakeReassembler ----------------------------------------------------------------------

SERVER_FLIGHT = [trace_bytes("Simple 1-RTT", label) for label in
                 ("EncryptedExtensions", "Certificate", "CertificateVerify", "Finished")]


def drain(reassembler: HandshakeReassembler) -> list[bytes]:
    out = []
    while (raw := reassembler.pop()) is not None:
        out.append(raw)
    return out


def test_several_messages_in_one_record():
    record_payload = trace_bytes("Simple 1-RTT", "payload", 2)   # the server's encrypted flight, decrypted
    assert record_payload == b"".join(SERVER_FLIGHT)
    reassembler = HandshakeReassembler()
    reassembler.feed(record_payload)
    assert not reassembler.has_partial
    assert reassembler.pending_bytes == len(record_payload)
    assert drain(reassembler) == SERVER_FLIGHT
    assert reassembler.pending_bytes == 0


def test_message_spanning_records():
    certificate = SERVER_FLIGHT[1]
    reassembler = HandshakeReassembler()
    for piece in (certificate[:2], certificate[2:100], certificate[100:-1]):
        reassembler.feed(piece)
        assert reassembler.pop() is None
        assert reassembler.has_partial
    reassembler.feed(certificate[-1:] + SERVER_FLIGHT[2][:10])
    assert reassembler.pop() == certificate
    assert reassembler.has_partial       # the CertificateVerify started in the same record
    assert reassembler.pending_bytes == 10
    reassembler.feed(SERVER_FLIGHT[2][10:])
    assert drain(reassembler) == [SERVER_FLIGHT[2]]
    assert not reassembler.has_partial


def test_byte_at_a_time_gives_the_same_messages():
    stream = b"".join(SERVER_FLIGHT) + encode_handshake(EndOfEarlyData()) * 3 + encode_handshake(KeyUpdate(1))
    boundaries = set()
    position = 0
    for raw in SERVER_FLIGHT + [encode_handshake(EndOfEarlyData())] * 3 + [encode_handshake(KeyUpdate(1))]:
        position += len(raw)
        boundaries.add(position)
    reassembler = HandshakeReassembler()
    out = []
    for i in range(len(stream)):
        reassembler.feed(stream[i:i + 1])
        assert reassembler.has_partial == (i + 1 not in boundaries)
        out += drain(reassembler)
    assert b"".join(out) == stream
    assert out[:4] == SERVER_FLIGHT and out[4:7] == [b"\x05\x00\x00\x00"] * 3


def test_size_limit_is_checked_as_soon_as_the_header_is_known():
    reassembler = HandshakeReassembler(max_message_size=1000)
    reassembler.feed(b"\x0b\x00\x03")
    with pytest.raises(DecodeError, match="1005 bytes.*limit of 1000"):
        reassembler.feed(b"\xe9")        # 4 + 1001 bytes announced


def test_size_limit_exact_fit_is_accepted_and_limit_applies_to_later_messages():
    reassembler = HandshakeReassembler(max_message_size=1000)
    fits = encode_handshake(Finished(bytes(996)))
    reassembler.feed(fits)
    assert reassembler.pop() == fits
    with pytest.raises(DecodeError, match="limit"):
        reassembler.feed(encode_handshake(Finished(b"x")) + encode_handshake(Finished(bytes(997)))[:4])


def test_default_limit():
    reassembler = HandshakeReassembler()
    reassembler.feed(b"\x0b" + (65536).to_bytes(3, "big"))
    with pytest.raises(DecodeError):
        HandshakeReassembler().feed(b"\x0b" + (65537).to_bytes(3, "big"))


def test_many_messages_through_compaction():
    messages = [encode_handshake(Finished(bytes([i % 256]) * (i % 300))) for i in range(3000)]
    stream = b"".join(messages)
    reassembler = HandshakeReassembler()
    out = []
    for start in range(0, len(stream), 7777):
        reassembler.feed(stream[start:start + 7777])
        out += drain(reassembler)
    assert out == messages
    assert reassembler.pending_bytes == 0 and not reassembler.has_partial


def test_whole_and_split_fragments_mixed_give_bytes_messages():
    # Whole messages are sliced out of the fragment itself; a split one goes through the buffer.
    certificate, verify_message, finished = SERVER_FLIGHT[1], SERVER_FLIGHT[2], SERVER_FLIGHT[3]
    reassembler = HandshakeReassembler()
    out = []
    for fragment in (SERVER_FLIGHT[0], certificate + verify_message[:7], bytearray(verify_message[7:]),
                     memoryview(finished + SERVER_FLIGHT[0]), SERVER_FLIGHT[0][:0] + finished):
        reassembler.feed(fragment)
        out += drain(reassembler)
    assert out == [SERVER_FLIGHT[0], certificate, verify_message, finished, SERVER_FLIGHT[0], finished]
    assert all(type(raw) is bytes for raw in out)
    assert reassembler.pending_bytes == 0 and not reassembler.has_partial

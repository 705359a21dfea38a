import pytest

from tests.rfc8448 import trace_bytes
from workbench.tls.buffer import Buffer
from workbench.tls.enums import ExtensionType, NamedGroup, SignatureScheme
from workbench.tls.errors import DecodeError, UsageError
from workbench.tls.extensions import (
    ALPN,
    CertificateAuthorities,
    Cookie,
    EarlyData,
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    ExtensionContext as C,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
    decode_extensions,
    encode_extension,
    encode_extensions,
    extension_type,
    find_extension,
    peek_extension_body,
    push_extensions,
)
from workbench.tls.messages import decode_handshake

X25519_PUBLIC = bytes.fromhex("4cfdfcd178b784bf328cae793b136f2aedce005ff183d7bb1495207236647037")
BINDER = bytes(range(32))


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# (extension, context it is decoded in, its exact wire form: type + length + body)
WIRE_CASES = [
    (ServerName("server"), C.CLIENT_HELLO, h("0000 000b 0009 00 0006") + b"server"),
    (ServerName(None), C.ENCRYPTED_EXTENSIONS, h("0000 0000")),
    (ServerName(None), C.SERVER_HELLO_TLS12, h("0000 0000")),
    (SupportedGroups((NamedGroup.X25519, NamedGroup.SECP256R1, 0x0A0A)), C.CLIENT_HELLO,
     h("000a 0008 0006 001d 0017 0a0a")),
    (SupportedGroups(()), C.ENCRYPTED_EXTENSIONS, h("000a 0002 0000")),
    (ECPointFormats((0,)), C.CLIENT_HELLO, h("000b 0002 01 00")),
    (ECPointFormats((0, 1, 2)), C.SERVER_HELLO_TLS12, h("000b 0004 03 000102")),
    (SignatureAlgorithms((SignatureScheme.ECDSA_SECP256R1_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA256)),
     C.CLIENT_HELLO, h("000d 0006 0004 0403 0804")),
    (SignatureAlgorithms((SignatureScheme.ED25519,)), C.CERTIFICATE_REQUEST, h("000d 0004 0002 0807")),
    (SignatureAlgorithmsCert((SignatureScheme.RSA_PKCS1_SHA256,)), C.CLIENT_HELLO, h("0032 0004 0002 0401")),
    (ALPN((b"h2", b"http/1.1")), C.CLIENT_HELLO, h("0010 000e 000c 02") + b"h2" + b"\x08http/1.1"),
    (ALPN((b"h2",)), C.ENCRYPTED_EXTENSIONS, h("0010 0005 0003 02") + b"h2"),
    (EncryptThenMac(), C.SERVER_HELLO_TLS12, h("0016 0000")),
    (ExtendedMasterSecret(), C.CLIENT_HELLO, h("0017 0000")),
    (RecordSizeLimit(0x4001), C.ENCRYPTED_EXTENSIONS, h("001c 0002 4001")),
    (SessionTicket(b""), C.CLIENT_HELLO, h("0023 0000")),
    (SessionTicket(b"\x01\x02\x03"), C.CLIENT_HELLO, h("0023 0003 010203")),
    (KeyShareClientHello((KeyShareEntry(NamedGroup.X25519, X25519_PUBLIC),)), C.CLIENT_HELLO,
     h("0033 0026 0024 001d 0020") + X25519_PUBLIC),
    (KeyShareClientHello(()), C.CLIENT_HELLO, h("0033 0002 0000")),
    (KeyShareServerHello(KeyShareEntry(NamedGroup.X25519, X25519_PUBLIC)), C.SERVER_HELLO,
     h("0033 0024 001d 0020") + X25519_PUBLIC),
    (KeyShareHelloRetryRequest(NamedGroup.SECP256R1), C.HELLO_RETRY_REQUEST, h("0033 0002 0017")),
    (SupportedVersionsClientHello((0x0304, 0x0303)), C.CLIENT_HELLO, h("002b 0005 04 0304 0303")),
    (SupportedVersionsServerHello(0x0304), C.SERVER_HELLO, h("002b 0002 0304")),
    (SupportedVersionsServerHello(0x0304), C.HELLO_RETRY_REQUEST, h("002b 0002 0304")),
    (Cookie(b"abc"), C.HELLO_RETRY_REQUEST, h("002c 0005 0003 616263")),
    (Cookie(b"abc"), C.CLIENT_HELLO, h("002c 0005 0003 616263")),
    (PskKeyExchangeModes((1,)), C.CLIENT_HELLO, h("002d 0002 01 01")),
    (PreSharedKeyClientHello((PskIdentity(b"id", 0x01020304),), (BINDER,)), C.CLIENT_HELLO,
     h("0029 002d 0008 0002 6964 01020304 0021 20") + BINDER),
    (PreSharedKeyServerHello(0), C.SERVER_HELLO, h("0029 0002 0000")),
    (EarlyData(), C.CLIENT_HELLO, h("002a 0000")),
    (EarlyData(), C.ENCRYPTED_EXTENSIONS, h("002a 0000")),
    (EarlyData(0x4000), C.NEW_SESSION_TICKET, h("002a 0004 00004000")),
    (PostHandshakeAuth(), C.CLIENT_HELLO, h("0031 0000")),
    (CertificateAuthorities((b"\x30\x00", b"\x30\x03\x31\x01\x00")), C.CERTIFICATE_REQUEST,
     h("002f 000d 000b 0002 3000 0005 3003310100")),
    (RenegotiationInfo(b""), C.CLIENT_HELLO, h("ff01 0001 00")),
    (RenegotiationInfo(b"\x01" * 12), C.SERVER_HELLO_TLS12, h("ff01 000d 0c") + b"\x01" * 12),
    (Padding(5), C.CLIENT_HELLO, h("0015 0005 0000000000")),
    (Padding(0), C.CLIENT_HELLO, h("0015 0000")),
    (UnknownExtension(0x0A0A, b""), C.CLIENT_HELLO, h("0a0a 0000")),
    (UnknownExtension(ExtensionType.STATUS_REQUEST, h("0100000000")), C.CLIENT_HELLO, h("0005 0005 0100000000")),
    (UnknownExtension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP, b"sct"), C.CERTIFICATE, h("0012 0003") + b"sct"),
]

# Bodies that are free-form bytes: any prefix or extension of them is another valid body.
FREE_FORM = (SessionTicket, Padding, UnknownExtension)


def case_id(case):
    ext, context, _ = case
    return f"{type(ext).__name__}-{context.name}"


def block(wire: bytes) -> bytes:
    return len(wire).to_bytes(2, "big") + wire


@pytest.mark.parametrize("ext, context, wire", WIRE_CASES, ids=[case_id(c) for c in WIRE_CASES])
def test_extension_wire_form(ext, context, wire):
    assert encode_extension(ext) == wire
    assert extension_type(ext) == int.from_bytes(wire[:2], "big")
    buf = Buffer(block(wire))
    assert decode_extensions(buf, context) == (ext,)
    assert buf.eof()


@pytest.mark.parametrize("ext, context, wire", WIRE_CASES, ids=[case_id(c) for c in WIRE_CASES])
def test_every_truncated_extension_block_fails(ext, context, wire):
    for cut in range(1, len(wire)):
        # the block length agrees with what is there, so the extension header is what lies
        with pytest.raises(DecodeError):
            decode_extensions(Buffer(block(wire[:cut])), context)
        # the block length still claims the whole extension
        with pytest.raises(DecodeError):
            decode_extensions(Buffer(block(wire)[:cut + 2]), context)


STRUCTURED_CASES = [case for case in WIRE_CASES if not isinstance(case[0], FREE_FORM)]


@pytest.mark.parametrize("ext, context, wire", STRUCTURED_CASES, ids=[case_id(c) for c in STRUCTURED_CASES])
def test_truncated_or_padded_body_fails(ext, context, wire):
    """The extension length agrees with a body that was cut short or has a byte too many."""
    ext_type, body = wire[:2], wire[4:]
    for cut in range(len(body)):
        if cut == 0 and isinstance(ext, ServerName):
            continue   # an empty server_name body is the server's acknowledgement
        mangled = ext_type + cut.to_bytes(2, "big") + body[:cut]
        with pytest.raises(DecodeError):
            decode_extensions(Buffer(block(mangled)), context)
    padded = ext_type + (len(body) + 1).to_bytes(2, "big") + body + b"\x00"
    with pytest.raises(DecodeError):
        decode_extensions(Buffer(block(padded)), context)


def test_block_round_trip_keeps_order_duplicates_and_unknowns():
    extensions = tuple(ext for ext, context, _ in WIRE_CASES if context is C.CLIENT_HELLO)
    extensions += (ServerName("again"),)   # a duplicate: legality is the state machine's call
    wire = encode_extensions(extensions)
    assert decode_extensions(Buffer(wire), C.CLIENT_HELLO) == extensions
    buf = Buffer()
    push_extensions(buf, extensions)
    assert buf.data == wire


def test_empty_block():
    assert encode_extensions(()) == b"\x00\x00"
    assert decode_extensions(Buffer(b"\x00\x00"), C.ENCRYPTED_EXTENSIONS) == ()


def test_decode_stops_at_the_block_end():
    buf = Buffer(h("0004 0017 0000 ffff"))
    assert decode_extensions(buf, C.CLIENT_HELLO) == (ExtendedMasterSecret(),)
    assert buf.pull_uint16() == 0xFFFF


# ----- context decides the body -------------------------------------------------------------

@pytest.mark.parametrize("context, expected", [
    (C.CLIENT_HELLO, KeyShareClientHello((KeyShareEntry(0x0017, b"\x00\x1d"),))),
    (C.SERVER_HELLO, DecodeError),                 # an entry, and then 2 unread bytes
    (C.HELLO_RETRY_REQUEST, DecodeError),          # a single group, and then 4 unread bytes
    (C.ENCRYPTED_EXTENSIONS, UnknownExtension(ExtensionType.KEY_SHARE, h("0006 0017 0002 001d"))),
    (C.SERVER_HELLO_TLS12, UnknownExtension(ExtensionType.KEY_SHARE, h("0006 0017 0002 001d"))),
])
def test_key_share_body_depends_on_context(context, expected):
    wire = block(h("0033 0008 0006 0017 0002 001d"))
    if expected is DecodeError:
        with pytest.raises(DecodeError):
            decode_extensions(Buffer(wire), context)
    else:
        assert decode_extensions(Buffer(wire), context) == (expected,)


def test_key_share_entry_in_server_hello_and_group_in_hello_retry_request():
    wire = block(h("0033 0002 0017"))
    assert decode_extensions(Buffer(wire), C.HELLO_RETRY_REQUEST) == (KeyShareHelloRetryRequest(0x17),)
    with pytest.raises(DecodeError):
        decode_extensions(Buffer(wire), C.SERVER_HELLO)


def test_supported_versions_by_context():
    ch = block(h("002b 0003 02 0304"))
    assert decode_extensions(Buffer(ch), C.CLIENT_HELLO) == (SupportedVersionsClientHello((0x0304,)),)
    sh = block(h("002b 0002 0304"))
    assert decode_extensions(Buffer(sh), C.SERVER_HELLO_TLS12) == (SupportedVersionsServerHello(0x0304),)
    assert decode_extensions(Buffer(sh), C.ENCRYPTED_EXTENSIONS) == (
        UnknownExtension(ExtensionType.SUPPORTED_VERSIONS, h("0304")),)
    with pytest.raises(DecodeError, match="odd length"):
        decode_extensions(Buffer(block(h("002b 0002 01 03"))), C.CLIENT_HELLO)


def test_pre_shared_key_outside_hellos_is_unknown():
    wire = block(h("0029 0002 0000"))
    assert decode_extensions(Buffer(wire), C.ENCRYPTED_EXTENSIONS) == (
        UnknownExtension(ExtensionType.PRE_SHARED_KEY, h("0000")),)


def test_early_data_by_context():
    with pytest.raises(DecodeError):
        decode_extensions(Buffer(block(h("002a 0004 00004000"))), C.ENCRYPTED_EXTENSIONS)
    with pytest.raises(DecodeError):
        decode_extensions(Buffer(block(h("002a 0000"))), C.NEW_SESSION_TICKET)
    assert decode_extensions(Buffer(block(h("002a 0000"))), C.CERTIFICATE) == (
        UnknownExtension(ExtensionType.EARLY_DATA, b""),)


# ----- server_name, padding and empty extensions ----------------------------------------------

def test_server_name_keeps_the_first_host_name():
    names = h("01 0003") + b"abc" + h("00 0001") + b"a" + h("00 0001") + b"b"
    wire = block(h("0000") + block(block(names)))
    assert decode_extensions(Buffer(wire), C.CLIENT_HELLO) == (ServerName("a"),)


@pytest.mark.parametrize("names, reason", [
    (b"", "no host_name"),
    (h("01 0003") + b"abc", "no host_name"),
    (h("00 0002") + "é".encode(), "not ASCII"),
])
def test_bad_server_name_lists(names, reason):
    wire = block(h("0000") + block(block(names)))
    with pytest.raises(DecodeError, match=reason):
        decode_extensions(Buffer(wire), C.CLIENT_HELLO)


def _server_name_with_the_generic_reader(wire: bytes) -> ServerName:
    """The reference for ServerName's one-name shortcut: every body read as a list of (type, name)."""
    buf = Buffer(wire)
    with buf.pull_block(2):
        buf.pull_uint16()
        with buf.pull_block(2):
            names = buf.pull_list(2, lambda b: (b.pull_uint8(), b.pull_opaque(2)))
    host_names = [name for name_type, name in names if name_type == ServerName.HOST_NAME]
    if not host_names:
        raise DecodeError("server_name list holds no host_name")
    try:
        return ServerName(host_names[0].decode("ascii"))
    except UnicodeDecodeError:
        raise DecodeError(f"server_name host_name is not ASCII: {host_names[0][:64]!r}") from None


@pytest.mark.parametrize("body", [
    h("0004 00 0001") + b"a",
    h("0003 00 0000"),                          # an empty name
    h("0005 00 0002") + "é".encode(),
    h("0004 01 0001") + b"a",                   # one name of another type
    h("0008 00 0001") + b"a" + h("00 0001") + b"b",
    h("0005 00 0001") + b"a" + h("00"),         # the list longer than its one name
    h("0004 00 0002") + b"ab",                  # the name longer than the list
    h("0005 00 0001") + b"a",                   # the list longer than the body
    h("0003 00 0001") + b"a",                   # the list shorter than the body
    h("0004 00 0000") + b"a",                   # the name shorter than the list
    h("0002 00 00"), h("00"), h("0001 00"),
])
def test_server_name_shortcut_reads_and_fails_as_the_generic_reader(body):
    wire = block(h("0000") + block(body))
    try:
        expected = _server_name_with_the_generic_reader(wire)
    except DecodeError as exc:
        with pytest.raises(DecodeError) as info:
            decode_extensions(Buffer(wire), C.CLIENT_HELLO)
        assert str(info.value) == str(exc)
    else:
        assert decode_extensions(Buffer(wire), C.CLIENT_HELLO) == (expected,)


def test_non_ascii_host_name_cannot_be_encoded():
    with pytest.raises(UsageError, match="A-label"):
        encode_extension(ServerName("bücher.example"))
    assert encode_extension(ServerName("xn--bcher-kva.example")).endswith(b"xn--bcher-kva.example")


def test_host_name_too_long_for_its_list_is_a_usage_error():
    longest = Buffer()
    ServerName("a" * (0xFFFF - 3)).push_body(longest)
    assert longest.data[:5] == h("ffff 00 fffc")
    with pytest.raises(UsageError, match="65536 does not fit uint16"):
        ServerName("a" * (0xFFFF - 2)).push_body(Buffer())


def test_padding_with_non_zero_bytes_is_kept_verbatim():
    wire = block(h("0015 0003 000100"))
    decoded = decode_extensions(Buffer(wire), C.CLIENT_HELLO)
    assert decoded == (UnknownExtension(ExtensionType.PADDING, h("000100")),)
    assert encode_extensions(decoded) == wire


@pytest.mark.parametrize("ext_type", [0x0016, 0x0017, 0x0031])
def test_empty_extensions_with_a_body_fail(ext_type):
    wire = block(ext_type.to_bytes(2, "big") + h("0001 00"))
    with pytest.raises(DecodeError, match="empty body"):
        decode_extensions(Buffer(wire), C.CLIENT_HELLO)


# ----- helpers ---------------------------------------------------------------------------------

def test_find_extension():
    extensions = (UnknownExtension(0x0A0A, b""), ServerName("a"), ServerName("b"))
    assert find_extension(extensions, ServerName) == ServerName("a")
    assert find_extension(extensions, ALPN) is None
    assert find_extension((), ServerName) is None


def test_peek_extension_body_does_not_move():
    buf = Buffer(encode_extensions((ServerName(None), SupportedVersionsServerHello(0x0304))) + b"tail")
    assert peek_extension_body(buf, ExtensionType.SUPPORTED_VERSIONS) == h("0304")
    assert peek_extension_body(buf, ExtensionType.KEY_SHARE) is None
    assert buf.tell() == 0
    assert peek_extension_body(Buffer(h("0010 002b")), ExtensionType.SUPPORTED_VERSIONS) is None


def test_extensions_are_frozen_and_hashable():
    ext = SupportedGroups((29,))
    with pytest.raises(AttributeError):
        ext.groups = (23,)
    assert len({ext, SupportedGroups((29,))}) == 1


# ----- RFC 8448: the 0-RTT ClientHello and its binder ----------------------------------------------

def test_binders_length_gives_the_truncated_client_hello_of_rfc8448():
    raw = trace_bytes("Resumed 0-RTT", "payload", 0)    # the ClientHello with pre_shared_key and early_data
    hello = decode_handshake(raw)
    psk = hello.extensions[-1]
    assert isinstance(psk, PreSharedKeyClientHello)
    assert hello.get_extension(EarlyData) == EarlyData(None)
    ticket = decode_handshake(trace_bytes("Simple 1-RTT", "NewSessionTicket"))
    [identity] = psk.identities
    assert identity.identity == ticket.ticket
    # the trace resumes 5 ms after the ticket: obfuscated age = age + ticket_age_add (mod 2^32)
    assert (identity.obfuscated_ticket_age - ticket.ticket_age_add) % 2 ** 32 == 5
    assert [len(binder) for binder in psk.binders] == [32]
    assert psk.binders[0] == trace_bytes("Resumed 0-RTT", "finished", 0)
    assert psk.binders_length() == 35
    assert raw[:-psk.binders_length()] == trace_bytes("Resumed 0-RTT", "ClientHello prefix")

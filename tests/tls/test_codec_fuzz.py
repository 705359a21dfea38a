"""Property tests: whatever bytes arrive, the codec answers with a message or a ProtocolError.

Arbitrary bytes rarely get past a length check, so most inputs start from valid messages
(RFC 8448 and hand-built ones) and mutate them, with and without fixing the header length.
Anything that decodes must also encode, and decode again to an equal object.
"""
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.rfc8448 import trace_bytes
from tests.tls.test_messages import RFC8448_MESSAGES, TLS12_MESSAGES, TLS13_MESSAGES
from workbench.tls.buffer import Buffer
from workbench.tls.errors import ProtocolError
from workbench.tls.extensions import (ExtensionContext, UnknownExtension, _PARSERS_IN, decode_extensions,
                                      encode_extensions)
from workbench.tls.messages import HandshakeReassembler, decode_handshake, encode_handshake
from workbench.tls.record import RecordFramer

FUZZ = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALID_MESSAGES = (
    [trace_bytes(section, label, n) for section, label, n, _ in RFC8448_MESSAGES]
    + [encode_handshake(m) for m in TLS13_MESSAGES + TLS12_MESSAGES]
)
HANDSHAKE_TYPES = sorted({raw[0] for raw in VALID_MESSAGES})


@st.composite
def mutated(draw, originals):
    """A valid input with a few point mutations: flip, overwrite, insert, delete, truncate."""
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[position] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and data:
            del data[position:position + draw(st.integers(1, 4))]
        elif kind == "truncate":
            del data[position:]
    return bytes(data)


def fix_header(raw: bytes) -> bytes:
    """Make the handshake header agree with the body, so decoding reaches the body parser."""
    if len(raw) < 4:
        return raw
    return raw[:1] + (len(raw) - 4).to_bytes(3, "big") + raw[4:]


def check_decode(raw: bytes, tls13: bool) -> None:
    try:
        msg = decode_handshake(raw, tls13=tls13)
    except ProtocolError:
        return
    again = encode_handshake(msg)
    assert decode_handshake(again, tls13=tls13) == msg


# ----- decode_handshake -------------------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes(raw, tls13):
    check_decode(raw, tls13)


@FUZZ
@given(st.sampled_from(HANDSHAKE_TYPES + [0, 3, 22, 254, 255]), st.binary(max_size=400), st.booleans())
def test_arbitrary_body_with_a_consistent_header(msg_type, body, tls13):
    check_decode(bytes([msg_type]) + len(body).to_bytes(3, "big") + body, tls13)


@FUZZ
@given(mutated(VALID_MESSAGES), st.booleans(), st.booleans())
def test_mutated_valid_messages(raw, header_fixed, tls13):
    check_decode(fix_header(raw) if header_fixed else raw, tls13)


# ----- decode_extensions -------------------------------------------------------------------------

def extension_blocks():
    blocks = []
    for msg in TLS13_MESSAGES + TLS12_MESSAGES:
        if getattr(msg, "extensions", ()):
            blocks.append(encode_extensions(msg.extensions))
    for section, label, n, _ in RFC8448_MESSAGES:
        if label == "ClientHello" or label == "payload":
            hello = decode_handshake(trace_bytes(section, label, n))
            blocks.append(encode_extensions(hello.extensions))
    return blocks


EXTENSION_BLOCKS = extension_blocks()


def check_extensions(data: bytes, context: ExtensionContext) -> None:
    try:
        extensions = decode_extensions(Buffer(data), context)
    except ProtocolError:
        return
    assert decode_extensions(Buffer(encode_extensions(extensions)), context) == extensions


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(list(ExtensionContext)))
def test_arbitrary_extension_blocks(data, context):
    check_extensions(data, context)
    check_extensions(len(data).to_bytes(2, "big") + data, context)


@FUZZ
@given(mutated(EXTENSION_BLOCKS), st.sampled_from(list(ExtensionContext)), st.booleans())
def test_mutated_extension_blocks(data, context, length_fixed):
    if length_fixed and len(data) >= 2:
        data = (len(data) - 2).to_bytes(2, "big") + data[2:]
    check_extensions(data, context)


def decode_entry_by_entry(data: bytes, context: ExtensionContext) -> tuple:
    """The reference for the one-call block walk: pull_block around pull_uint16 and pull_block per entry."""
    parsers = _PARSERS_IN[context.value]
    buf = Buffer(data)
    out = []
    with buf.pull_block(2):
        while not buf.eof():
            ext_type = buf.pull_uint16()
            with buf.pull_block(2) as length:
                parser = parsers.get(ext_type)
                out.append(UnknownExtension(ext_type, buf.pull_bytes(length)) if parser is None
                           else parser(buf, length))
    return tuple(out), buf.tell()


def outcome(decode) -> tuple:
    try:
        return decode()
    except ProtocolError as exc:
        return type(exc), str(exc)


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(EXTENSION_BLOCKS)), st.sampled_from(list(ExtensionContext)))
def test_extension_blocks_decode_as_read_entry_by_entry(data, context):
    def in_one_call():
        buf = Buffer(data)
        return decode_extensions(buf, context), buf.tell()

    assert outcome(in_one_call) == outcome(lambda: decode_entry_by_entry(data, context))


# ----- RecordFramer and HandshakeReassembler ------------------------------------------------------

RECORD_STREAMS = [b"".join(trace_bytes("Simple 1-RTT", "complete record", n) for n in range(9))]


@FUZZ
@given(st.one_of(st.binary(max_size=800), mutated(RECORD_STREAMS)), st.lists(st.integers(1, 200), max_size=20),
       st.integers(0, 20000))
def test_record_framer_on_arbitrary_streams(stream, chunk_sizes, max_fragment):
    framer = RecordFramer(max_fragment)
    popped = 0
    position = 0
    try:
        for size in chunk_sizes + [len(stream)]:
            framer.feed(stream[position:position + size])
            position += size
            while (record := framer.pop()) is not None:
                assert len(record.fragment) <= max_fragment
                assert stream[popped:popped + 5 + len(record.fragment)] == record.header + record.fragment
                popped += 5 + len(record.fragment)
    except ProtocolError:
        return
    assert popped + framer.buffered == len(stream)


@FUZZ
@given(st.one_of(st.binary(max_size=800), mutated([b"".join(VALID_MESSAGES[:12])])),
       st.lists(st.integers(0, 300), max_size=20), st.integers(4, 3000))
def test_handshake_reassembler_on_arbitrary_fragments(stream, fragment_sizes, limit):
    reassembler = HandshakeReassembler(max_message_size=limit)
    out = []
    position = 0
    try:
        for size in fragment_sizes + [len(stream)]:
            reassembler.feed(stream[position:position + size])
            position += size
            while (raw := reassembler.pop()) is not None:
                assert len(raw) <= limit
                out.append(raw)
                check_decode(raw, tls13=True)
    except ProtocolError:
        return
    joined = b"".join(out)
    assert stream.startswith(joined)
    assert len(joined) + reassembler.pending_bytes == len(stream)
    assert reassembler.has_partial == (reassembler.pending_bytes > 0)


def test_fuzz_corpus_is_not_empty():
    assert len(VALID_MESSAGES) > 40 and len(EXTENSION_BLOCKS) > 10

import pytest

from tests.rfc8448 import trace_bytes
from tests.tls.capture_streams import CAPTURES, tcp_streams
from workbench.tls.enums import ContentType
from workbench.tls.errors import RecordOverflow, UnexpectedMessage, UsageError
from workbench.tls.record import (
    MAX_CIPHERTEXT_12,
    MAX_CIPHERTEXT_13,
    MAX_PLAINTEXT,
    Record,
    RecordFramer,
    encode_record,
    record_of,
)

# The records of the RFC 8448 1-RTT handshake as they crossed the wire, client and server mixed.
RFC8448_RECORDS = [trace_bytes("Simple 1-RTT", "complete record", n) for n in range(9)]


def drain(framer: RecordFramer) -> list[Record]:
    out = []
    while (record := framer.pop()) is not None:
        out.append(record)
    return out


def test_constants():
    assert (MAX_PLAINTEXT, MAX_CIPHERTEXT_13, MAX_CIPHERTEXT_12) == (16384, 16640, 18432)


def test_encode_record_and_header():
    wire = encode_record(ContentType.HANDSHAKE, b"\x01\x02\x03", version=0x0301)
    assert wire == bytes.fromhex("16 0301 0003 010203")
    record = Record(ContentType.HANDSHAKE, 0x0301, b"\x01\x02\x03")
    assert record.header == wire[:5]
    assert encode_record(ContentType.APPLICATION_DATA, b"") == bytes.fromhex("17 0303 0000")
    with pytest.raises(UsageError):
        encode_record(ContentType.APPLICATION_DATA, bytes(0x10000))


def test_rfc8448_records_frame_and_re_encode():
    assert len(RFC8448_RECORDS) == 9
    framer = RecordFramer()
    framer.feed(b"".join(RFC8448_RECORDS))
    records = drain(framer)
    assert [r.header + r.fragment for r in records] == RFC8448_RECORDS
    assert [encode_record(r.content_type, r.fragment, r.version) for r in records] == RFC8448_RECORDS
    assert records[0] == Record(ContentType.HANDSHAKE, 0x0301, trace_bytes("Simple 1-RTT", "ClientHello"))
    assert records[1].fragment == trace_bytes("Simple 1-RTT", "ServerHello")
    assert [r.content_type for r in records] == [22, 22, 23, 23, 23, 23, 23, 23, 23]
    assert framer.buffered == 0


def test_split_at_every_byte_boundary_gives_the_same_records():
    stream = b"".join(RFC8448_RECORDS[:4])
    framer = RecordFramer()
    framer.feed(stream)
    expected = drain(framer)
    for split in range(len(stream) + 1):
        framer = RecordFramer()
        framer.feed(stream[:split])
        got = drain(framer)
        framer.feed(stream[split:])
        got += drain(framer)
        assert got == expected, split
        assert framer.buffered == 0


def test_byte_at_a_time_gives_the_same_records():
    stream = b"".join(RFC8448_RECORDS)
    framer = RecordFramer()
    got = []
    fed = 0
    for i in range(len(stream)):
        framer.feed(stream[i:i + 1])
        fed += 1
        got += drain(framer)
        assert framer.buffered == fed - sum(5 + len(r.fragment) for r in got)
    assert [r.header + r.fragment for r in got] == RFC8448_RECORDS


def test_accepts_bytearray_and_memoryview():
    stream = b"".join(RFC8448_RECORDS[:2])
    for source in (bytearray(stream), memoryview(stream)):
        framer = RecordFramer()
        framer.feed(source[:7])
        framer.feed(source[7:])
        records = drain(framer)
        assert [r.header + r.fragment for r in records] == RFC8448_RECORDS[:2]
        assert all(type(r.fragment) is bytes for r in records)


def test_zero_length_record_passes_through():
    # whether an empty handshake or application_data record is legal is the record layer's call
    framer = RecordFramer()
    framer.feed(encode_record(ContentType.APPLICATION_DATA, b"") + encode_record(ContentType.ALERT, b"\x01\x00"))
    assert drain(framer) == [Record(23, 0x0303, b""), Record(21, 0x0303, b"\x01\x00")]


@pytest.mark.parametrize("limit", [MAX_CIPHERTEXT_12, MAX_CIPHERTEXT_13, MAX_PLAINTEXT])
def test_oversized_record_raises_record_overflow_from_the_header(limit):
    framer = RecordFramer()
    framer.max_fragment = limit
    fits = encode_record(ContentType.APPLICATION_DATA, bytes(limit))
    framer.feed(fits)
    assert drain(framer) == [Record(23, 0x0303, bytes(limit))]
    framer.feed(bytes.fromhex("17 0303") + (limit + 1).to_bytes(2, "big"))   # the header alone is enough
    with pytest.raises(RecordOverflow) as info:
        framer.pop()
    assert info.value.alert == 22
    assert str(limit + 1) in str(info.value)


def test_default_limit_is_tls12_ciphertext():
    framer = RecordFramer()
    assert framer.max_fragment == MAX_CIPHERTEXT_12
    framer.feed(b"\x17\x03\x03" + (MAX_CIPHERTEXT_12 + 1).to_bytes(2, "big"))
    with pytest.raises(RecordOverflow):
        framer.pop()


@pytest.mark.parametrize("first_byte", [0, 19, 25, 0x47, 0x80, 0xFF])
def test_bad_content_type_raises_unexpected_message_on_its_first_byte(first_byte):
    framer = RecordFramer()
    framer.feed(bytes([first_byte]))
    with pytest.raises(UnexpectedMessage) as info:
        framer.pop()
    assert info.value.alert == 10
    assert info.value.received == str(first_byte)


def test_plain_http_is_not_tls():
    framer = RecordFramer()
    framer.feed(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    with pytest.raises(UnexpectedMessage):
        framer.pop()


def test_bad_content_type_after_good_records():
    framer = RecordFramer()
    framer.feed(RFC8448_RECORDS[0] + b"\x63\x03\x03\x00\x00")
    assert framer.pop().content_type == ContentType.HANDSHAKE
    with pytest.raises(UnexpectedMessage):
        framer.pop()


@pytest.mark.parametrize("content_type", [20, 21, 22, 23, 24])
def test_every_tls_content_type_is_framed(content_type):
    framer = RecordFramer()
    framer.feed(encode_record(content_type, b"x"))
    assert framer.pop() == Record(content_type, 0x0303, b"x")


def test_partial_header_waits():
    framer = RecordFramer()
    framer.feed(b"\x16\x03")
    assert framer.pop() is None
    assert framer.buffered == 2
    framer.feed(b"\x01\x00\x01")
    assert framer.pop() is None
    framer.feed(b"\x01")
    assert framer.pop() == Record(22, 0x0301, b"\x01")


def test_bulk_stream_in_uneven_chunks():
    """Many full-size records through the accumulation and compaction path."""
    records = [encode_record(23, bytes([i]) * MAX_CIPHERTEXT_13) for i in range(40)]
    stream = b"".join(records)
    framer = RecordFramer(MAX_CIPHERTEXT_13)
    got = []
    for start in range(0, len(stream), 10007):
        framer.feed(stream[start:start + 10007])
        got += drain(framer)
    assert [r.header + r.fragment for r in got] == records
    assert framer.buffered == 0


@pytest.mark.parametrize("path, port", [
    (CAPTURES / "hotplace/tls12_tls12renogotiation.pcapng", 9000),
    (CAPTURES / "hotplace/tls13_tls13_TLS_AES_128_GCM_SHA256.pcapng", 9000),
    (CAPTURES / "illustrated-tls12/capture.pcap", 8443),
])
def test_real_streams_frame_completely(path, port):
    for stream in tcp_streams(path, port):
        framer = RecordFramer()
        # TCP segment-sized pieces
        for start in range(0, len(stream), 1448):
            framer.feed(stream[start:start + 1448])
        records = drain(framer)
        assert framer.buffered == 0
        assert b"".join(r.header + r.fragment for r in records) == stream
        assert records[0].content_type == ContentType.HANDSHAKE


# ----- pop_raw: the bulk path's form of pop() ---------------------------------------------------

def test_pop_raw_gives_header_and_fragment_of_each_record():
    framer = RecordFramer()
    framer.feed(b"".join(RFC8448_RECORDS))
    pairs = []
    while (raw := framer.pop_raw()) is not None:
        pairs.append(raw)
    assert [bytes(header) + bytes(fragment) for header, fragment in pairs] == RFC8448_RECORDS
    assert all(type(header) is bytes and len(header) == 5 for header, _ in pairs)
    assert [record_of(*raw) for raw in pairs] == [Record(r[0], int.from_bytes(r[1:3], "big"), r[5:])
                                                  for r in RFC8448_RECORDS]


def test_pop_raw_views_the_fed_bytes_and_the_views_outlive_later_feeds():
    first, second = RFC8448_RECORDS[0], RFC8448_RECORDS[1]
    framer = RecordFramer()
    framer.feed(first)
    header, fragment = framer.pop_raw()
    assert type(fragment) is memoryview and fragment.readonly      # no copy of whole records fed as bytes
    framer.feed(second + second[:3])                               # a new buffer, then an accumulating one
    framer.pop_raw()
    framer.feed(second[3:])
    assert bytes(fragment) == first[5:]
    header2, fragment2 = framer.pop_raw()
    assert type(fragment2) is bytes                                # copied out of the accumulation buffer
    assert header2 + fragment2 == second


def test_pop_raw_keeps_the_framing_checks():
    framer = RecordFramer(MAX_CIPHERTEXT_13)
    framer.feed(b"\x17\x03\x03" + (MAX_CIPHERTEXT_13 + 1).to_bytes(2, "big"))
    with pytest.raises(RecordOverflow):
        framer.pop_raw()
    framer = RecordFramer()
    framer.feed(b"\x63")
    with pytest.raises(UnexpectedMessage):
        framer.pop_raw()


def test_whole_record_takes_a_read_of_exactly_one_record():
    record = RFC8448_RECORDS[3]
    framer = RecordFramer()
    header, fragment = framer.whole_record(record)
    assert header == record[:5] and type(fragment) is memoryview and bytes(fragment) == record[5:]
    assert framer.buffered == 0 and framer.pop_raw() is None      # nothing was buffered


@pytest.mark.parametrize("data", [
    RFC8448_RECORDS[3][:-1],                                  # short of a whole record
    RFC8448_RECORDS[3] + RFC8448_RECORDS[4],                  # more than one
    RFC8448_RECORDS[3][:4],                                   # not even a header
    b"\x63" + RFC8448_RECORDS[3][1:],                         # not a TLS content type
    b"\x17\x03\x03" + (MAX_CIPHERTEXT_13 + 1).to_bytes(2, "big") + bytes(MAX_CIPHERTEXT_13 + 1),   # over the limit
], ids=["partial", "two records", "header cut", "bad type", "oversized"])
def test_whole_record_leaves_everything_else_to_feed_and_its_checks(data):
    framer = RecordFramer(MAX_CIPHERTEXT_13)
    assert framer.whole_record(data) is None
    framer.feed(data)
    if data[0] == 0x63:
        with pytest.raises(UnexpectedMessage):
            framer.pop_raw()
    elif len(data) > MAX_CIPHERTEXT_13:
        with pytest.raises(RecordOverflow):
            framer.pop_raw()
    else:
        assert framer.buffered == len(data)


def test_whole_record_waits_for_buffered_bytes():
    framer = RecordFramer()
    framer.feed(RFC8448_RECORDS[3][:2])                      # a record begun in an earlier read
    assert framer.whole_record(RFC8448_RECORDS[4]) is None   # must not jump the queue
    framer.feed(RFC8448_RECORDS[3][2:] + RFC8448_RECORDS[4])
    assert [bytes(h) + bytes(f) for h, f in iter(framer.pop_raw, None)] == RFC8448_RECORDS[3:5]


def test_records_stay_frozen():
    record = Record(23, 0x0303, b"x")
    with pytest.raises(AttributeError):
        record.fragment = b"y"

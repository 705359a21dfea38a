import pytest

from workbench.tls.buffer import Buffer
from workbench.tls.errors import DecodeError, UsageError


# ----- integers --------------------------------------------------------------------------

def test_pull_integers_are_big_endian():
    buf = Buffer(bytes.fromhex("01 0203 040506 0708090a"))
    assert buf.pull_uint8() == 0x01
    assert buf.pull_uint16() == 0x0203
    assert buf.pull_uint24() == 0x040506
    assert buf.pull_uint32() == 0x0708090A
    assert buf.eof()


def test_push_integers_are_big_endian():
    buf = Buffer()
    buf.push_uint8(0xFF)
    buf.push_uint16(0xABCD)
    buf.push_uint24(0x123456)
    buf.push_uint32(0xDEADBEEF)
    assert buf.data == bytes.fromhex("ff abcd 123456 deadbeef")


@pytest.mark.parametrize("push, too_big", [
    ("push_uint8", 0x100), ("push_uint16", 0x10000), ("push_uint24", 0x1000000), ("push_uint32", 0x100000000),
])
def test_push_out_of_range_is_a_usage_error(push, too_big):
    buf = Buffer()
    with pytest.raises(UsageError):
        getattr(buf, push)(too_big)
    with pytest.raises(UsageError):
        getattr(buf, push)(-1)
    assert buf.data == b""


@pytest.mark.parametrize("pull, size", [
    ("pull_uint8", 1), ("pull_uint16", 2), ("pull_uint24", 3), ("pull_uint32", 4),
])
def test_short_integer_read_raises_decode_error_with_offset(pull, size):
    for available in range(size):
        buf = Buffer(b"\x00" * (2 + available))
        buf.pull_uint16()
        with pytest.raises(DecodeError, match=f"offset 2.*needs {size} bytes, {available} left"):
            getattr(buf, pull)()


# ----- opaque vectors ---------------------------------------------------------------------

@pytest.mark.parametrize("length_size", [1, 2, 3])
def test_opaque_round_trip(length_size):
    value = bytes(range(200))
    buf = Buffer()
    buf.push_opaque(length_size, value)
    assert buf.data == len(value).to_bytes(length_size, "big") + value
    reader = Buffer(buf.data)
    assert reader.pull_opaque(length_size) == value
    assert reader.eof()


@pytest.mark.parametrize("length_size", [1, 2, 3])
def test_every_truncated_opaque_fails(length_size):
    buf = Buffer()
    buf.push_opaque(length_size, b"abcdef")
    wire = buf.data
    for cut in range(len(wire)):
        with pytest.raises(DecodeError):
            Buffer(wire[:cut]).pull_opaque(length_size)


def test_opaque_too_long_for_its_prefix_is_a_usage_error():
    with pytest.raises(UsageError, match="256 bytes"):
        Buffer().push_opaque(1, bytes(256))
    Buffer().push_opaque(1, bytes(255))


def test_bad_length_size_is_a_usage_error():
    with pytest.raises(UsageError):
        Buffer().push_opaque(4, b"")
    with pytest.raises(UsageError):
        Buffer(b"\x00\x00\x00\x00").pull_opaque(4)
    with pytest.raises(UsageError):
        Buffer().push_block(0)


def test_pull_bytes():
    buf = Buffer(b"abcdef")
    assert buf.pull_bytes(0) == b""
    assert buf.pull_bytes(4) == b"abcd"
    assert buf.remaining == 2
    with pytest.raises(DecodeError):
        buf.pull_bytes(3)
    assert buf.tell() == 4   # a failed read does not move the position


# ----- blocks -----------------------------------------------------------------------------

def test_pull_block_yields_length_and_bounds_reads():
    buf = Buffer(b"\x00\x02\xaa\xbb\xcc\xdd")
    with buf.pull_block(2) as length:
        assert length == 2
        assert buf.remaining == 2
        assert buf.pull_uint16() == 0xAABB
        assert buf.eof()
        with pytest.raises(DecodeError):
            buf.pull_uint8()     # the outer data is out of reach inside the block
    assert buf.remaining == 2
    assert buf.pull_uint16() == 0xCCDD


def test_pull_block_not_read_to_the_end_fails():
    buf = Buffer(b"\x03\x01\x02\x03")
    with pytest.raises(DecodeError, match="1 unread bytes"):
        with buf.pull_block(1):
            buf.pull_uint16()


def test_pull_block_longer_than_the_data_fails_on_entry():
    buf = Buffer(b"\x00\x05\x01\x02")
    with pytest.raises(DecodeError, match="announces 5 bytes, only 2 left"):
        with buf.pull_block(2):
            pytest.fail("entered a block that does not fit")


def test_nested_blocks_cannot_exceed_their_parent():
    # outer block of 3 bytes holding an inner block that claims 4
    buf = Buffer(b"\x03\x04\x01\x02\x03\x04")
    with pytest.raises(DecodeError):
        with buf.pull_block(1):
            with buf.pull_block(1):
                pass


def test_exception_inside_pull_block_propagates_unchanged():
    buf = Buffer(b"\x02\x01\x02\x09")
    with pytest.raises(KeyError):
        with buf.pull_block(1):
            raise KeyError("mine")
    # the outer bound is restored, so the rest of the input stays readable
    buf.seek(3)
    assert buf.pull_uint8() == 9


def test_push_block_backfills_the_length_nested():
    buf = Buffer()
    with buf.push_block(2):
        buf.push_uint8(7)
        with buf.push_block(3):
            buf.push_bytes(b"xyz")
    assert buf.data == bytes.fromhex("0007 07 000003") + b"xyz"


def test_push_block_overflow_is_a_usage_error():
    buf = Buffer()
    with pytest.raises(UsageError, match="256 bytes"):
        with buf.push_block(1):
            buf.push_bytes(bytes(256))


# ----- lists ------------------------------------------------------------------------------

def test_list_round_trip():
    items = [b"h2", b"http/1.1", b""]
    buf = Buffer()
    buf.push_list(2, lambda b, item: b.push_opaque(1, item), items)
    assert buf.data == bytes.fromhex("000d 02") + b"h2" + b"\x08http/1.1" + b"\x00"
    assert Buffer(buf.data).pull_list(2, lambda b: b.pull_opaque(1)) == items


def test_empty_list():
    assert Buffer(b"\x00\x00").pull_list(2, Buffer.pull_uint16) == []


def test_list_item_overrunning_the_list_fails():
    # list of 3 bytes, items are uint16: the second item would cross the list end
    with pytest.raises(DecodeError):
        Buffer(b"\x00\x03\x00\x01\x00\x02").pull_list(2, Buffer.pull_uint16)


def test_list_announcing_more_than_available_fails():
    with pytest.raises(DecodeError, match="announces 8 bytes"):
        Buffer(b"\x00\x08\x00\x01").pull_list(2, Buffer.pull_uint16)


def test_uint16_tuple_round_trip_and_odd_length():
    buf = Buffer()
    buf.push_uint16_tuple(2, (0x1301, 0x1302, 0xC02B))
    assert buf.data == bytes.fromhex("0006 1301 1302 c02b")
    assert Buffer(buf.data).pull_uint16_tuple(2) == (0x1301, 0x1302, 0xC02B)
    with pytest.raises(DecodeError, match="odd length"):
        Buffer(b"\x03\x03\x04\x00").pull_uint16_tuple(1)
    with pytest.raises(UsageError):
        Buffer().push_uint16_tuple(2, (0x10000,))


def test_uint8_tuple_round_trip():
    buf = Buffer()
    buf.push_uint8_tuple(1, (0, 1, 2))
    assert buf.data == b"\x03\x00\x01\x02"
    assert Buffer(buf.data).pull_uint8_tuple(1) == (0, 1, 2)
    with pytest.raises(UsageError):
        Buffer().push_uint8_tuple(1, (256,))


# ----- position ---------------------------------------------------------------------------

def test_tell_seek_remaining_eof():
    buf = Buffer(b"\x01\x02\x03")
    assert (buf.tell(), buf.remaining, buf.eof()) == (0, 3, False)
    buf.pull_uint16()
    assert (buf.tell(), buf.remaining) == (2, 1)
    buf.seek(0)
    assert buf.pull_uint8() == 1
    with pytest.raises(UsageError):
        buf.seek(4)
    buf.seek(3)
    assert buf.eof()


def test_reading_a_bytearray_or_memoryview_gives_bytes():
    for source in (bytearray(b"\x00\x02ab"), memoryview(b"\x00\x02ab")):
        value = Buffer(source).pull_opaque(2)
        assert value == b"ab" and type(value) is bytes


def test_data_is_what_was_pushed():
    buf = Buffer()
    assert buf.data == b""
    buf.push_bytes(b"ab")
    buf.push_bytes(bytearray(b"cd"))
    assert buf.data == b"abcd" and type(buf.data) is bytes


# ----- block helpers without a context manager (the codec's inner loops) ---------------------

def _decode_error(fn) -> str:
    with pytest.raises(DecodeError) as info:
        fn()
    return str(info.value)


def test_reserve_and_fill_length_match_push_block():
    with_block, with_helpers = Buffer(), Buffer()
    with with_block.push_block(2):
        with with_block.push_block(1):
            with_block.push_bytes(b"abc")
        with_block.push_uint8(7)
    outer = with_helpers.reserve_length(2)
    inner = with_helpers.reserve_length(1)
    with_helpers.push_bytes(b"abc")
    with_helpers.fill_length(inner, 1)
    with_helpers.push_uint8(7)
    with_helpers.fill_length(outer, 2)
    assert with_helpers.data == with_block.data == bytes.fromhex("0005 03 616263 07")


def test_fill_length_overflow_and_bad_size_are_usage_errors():
    buf = Buffer()
    start = buf.reserve_length(1)
    buf.push_bytes(bytes(256))
    with pytest.raises(UsageError):
        buf.fill_length(start, 1)
    with pytest.raises(UsageError):
        Buffer().reserve_length(4)


def _typed_entries_with_contexts(data: bytes, parsers: dict) -> tuple:
    """The reference: an extension block read with pull_block and pull_uint16, entry by entry."""
    buf = Buffer(data)
    out = []
    with buf.pull_block(2):
        while not buf.eof():
            entry_type = buf.pull_uint16()
            with buf.pull_block(2) as length:
                parser = parsers.get(entry_type)
                out.append((entry_type, buf.pull_bytes(length)) if parser is None else parser(buf, length))
    return tuple(out), buf.tell()


def _typed_entries_in_one_call(data: bytes, parsers: dict) -> tuple:
    buf = Buffer(data)
    return buf.pull_typed_blocks(parsers, lambda entry_type, body: (entry_type, body)), buf.tell()


_PARSERS = {
    0x000A: lambda b, length: ("uint16 list", b.pull_uint16_tuple(2)),
    0x002B: lambda b, length: ("version", b.pull_uint16()),
}


@pytest.mark.parametrize("hex_data", [
    "0000",
    "0008 0000 0000 ff01 0000",
    "0014 0a0a 0002 abcd 000a 0004 0002 001d 002b 0002 0304 ff01 0001 00",
    "0006 002b 0002 0304 77",                  # the block ends before the trailing byte
])
def test_pull_typed_blocks_reads_what_pull_block_reads(hex_data):
    data = bytes.fromhex(hex_data)
    assert _typed_entries_in_one_call(data, _PARSERS) == _typed_entries_with_contexts(data, _PARSERS)


@pytest.mark.parametrize("hex_data", [
    "",                          # no block length
    "00",                        # half a block length
    "0005 0000",                 # a block longer than the data
    "0001 00",                   # half a type
    "0002 000a",                 # a type and no length
    "0003 000a 00",              # half a length
    "0006 000a 0005 0102",       # a body longer than the block
    "0008 0a0a 0000 0a0a 00",    # a second entry cut in its type (the block is shorter than the data)
    "0007 002b 0002 0304 0a",    # a second entry cut in its type
    "0007 002b 0003 030400",     # a parser that leaves a byte of its body
    "0005 002b 0001 03",         # a parser that needs more than the body
    "0007 000a 0003 0001 ff",    # a parser's own error (an odd uint16 list)
])
def test_pull_typed_blocks_errors_are_those_of_pull_block(hex_data):
    data = bytes.fromhex(hex_data)
    assert _decode_error(lambda: _typed_entries_in_one_call(data, _PARSERS)) == \
        _decode_error(lambda: _typed_entries_with_contexts(data, _PARSERS))


def test_pull_typed_blocks_bounds_parsers_to_their_body_and_restores_the_outer_bound():
    seen = []

    def parser(b, length):
        seen.append((length, b.remaining))
        return b.pull_bytes(length)

    buf = Buffer(bytes.fromhex("0005 0001 0001 ab 99"))
    assert buf.pull_typed_blocks({1: parser}, None) == (b"\xab",)
    assert seen == [(1, 1)]
    assert buf.pull_uint8() == 0x99 and buf.eof()

    def failing(b, length):
        raise RuntimeError("parser failed")

    buf = Buffer(bytes.fromhex("0005 0001 0001 ab 99"))
    with pytest.raises(RuntimeError):
        buf.pull_typed_blocks({1: failing}, None)
    assert buf.remaining == 2          # reads bounded by the data again, not by the body


def test_pull_typed_blocks_of_an_empty_block_calls_nothing():
    buf = Buffer(bytes.fromhex("0000 ff"))
    assert buf.pull_typed_blocks({}, None) == ()
    assert buf.tell() == 2


def test_uint16_tuples_of_every_small_count_round_trip():
    for count in range(0, 40):
        values = tuple(range(1000, 1000 + count))
        buf = Buffer()
        buf.push_uint16_tuple(2, values)
        assert Buffer(buf.data).pull_uint16_tuple(2) == values


def test_reading_may_start_after_a_header():
    buf = Buffer(bytes.fromhex("01000002 abcd"), 4)
    assert buf.tell() == 4 and buf.remaining == 2
    assert buf.pull_uint16() == 0xABCD and buf.eof()
    assert Buffer(b"ab", 2).eof()
    for start in (-1, 3):
        with pytest.raises(UsageError):
            Buffer(b"ab", start)


@pytest.mark.parametrize("hex_data, entry_type, expected", [
    ("000a 000a 0002 abcd 002b 0000", 0x2B, ""),
    ("000a 000a 0002 abcd 002b 0000", 0x0A, "abcd"),
    ("000a 000a 0000 000a 0002 abcd", 0x0A, ""),           # the first of two
    ("000a 000a 0002 abcd 002b 0000", 0x33, None),         # absent
    ("0000", 0x0A, None),
    ("", 0x0A, None),
    ("00", 0x0A, None),                                   # malformed: half a length
    ("0009 000a 0002 abcd 002b 00", 0x0A, None),          # malformed: an entry cut short
    ("0006 000a 0003 abcd", 0x0A, None),                  # malformed: a body past the block
    ("0010 000a 0002 abcd", 0x0A, None),                  # malformed: a block past the data
])
def test_peek_typed_block_finds_the_first_body_without_reading(hex_data, entry_type, expected):
    buf = Buffer(bytes.fromhex(hex_data))
    found = buf.peek_typed_block(entry_type)
    assert found == (None if expected is None else bytes.fromhex(expected))
    assert buf.tell() == 0


def test_push_typed_block_matches_type_and_reserved_length():
    def body(b):
        b.push_uint8(1)
        b.push_opaque(1, b"xy")

    with_helpers, in_one_call = Buffer(), Buffer()
    with_helpers.push_uint16(0x002B)
    start = with_helpers.reserve_length(2)
    body(with_helpers)
    with_helpers.fill_length(start, 2)
    in_one_call.push_typed_block(0x002B, body)
    assert in_one_call.data == with_helpers.data == bytes.fromhex("002b 0004 01 02 7879")


def test_push_typed_block_overflows_are_usage_errors():
    with pytest.raises(UsageError):
        Buffer().push_typed_block(0x10000, lambda b: None)
    with pytest.raises(UsageError):
        Buffer().push_typed_block(1, lambda b: b.push_bytes(bytes(0x10000)))


class _Entry:
    """What push_typed_blocks expects: a class constant TYPE (None: the entry's own `type`) and push_body."""
    TYPE = None

    def __init__(self, entry_type, body):
        self.type, self.body = entry_type, body

    def push_body(self, b):
        b.push_bytes(self.body)


class _ConstantEntry(_Entry):
    TYPE = 0x002B


def test_push_typed_blocks_matches_reserve_and_push_typed_block():
    entries = [_Entry(0x0A0A, b""), _ConstantEntry(None, bytes.fromhex("0304")), _Entry(0xFF01, b"\x00" * 300)]
    with_helpers, in_one_call = Buffer(), Buffer()
    start = with_helpers.reserve_length(2)
    for entry in entries:
        with_helpers.push_typed_block(entry.TYPE if entry.TYPE is not None else entry.type, entry.push_body)
    with_helpers.fill_length(start, 2)
    in_one_call.push_typed_blocks(iter(entries))
    assert in_one_call.data == with_helpers.data
    assert in_one_call.data[:12] == bytes.fromhex("013a 0a0a 0000 002b 0002 0304")
    empty = Buffer()
    empty.push_typed_blocks(())
    assert empty.data == b"\x00\x00"


def test_push_typed_blocks_overflows_are_usage_errors():
    for entry_type in (0x10000, -1):
        with pytest.raises(UsageError, match="does not fit uint16"):
            Buffer().push_typed_blocks([_Entry(entry_type, b"")])
    with pytest.raises(UsageError, match="65536 bytes does not fit a 2-byte length prefix"):
        Buffer().push_typed_blocks([_Entry(1, bytes(0x10000))])
    with pytest.raises(UsageError, match="65544 bytes does not fit a 2-byte length prefix"):
        Buffer().push_typed_blocks([_Entry(1, bytes(0x8000)), _Entry(2, bytes(0x8000))])


def test_fill_length_of_every_size_matches_push_block():
    for size in (1, 2, 3):
        for content_length in (0, 1, 200, 255):
            with_block, with_helpers = Buffer(), Buffer()
            with with_block.push_block(size):
                with_block.push_bytes(bytes(content_length))
            start = with_helpers.reserve_length(size)
            with_helpers.push_bytes(bytes(content_length))
            with_helpers.fill_length(start, size)
            assert with_helpers.data == with_block.data == content_length.to_bytes(size, "big") + bytes(content_length)
    big = Buffer()
    start = big.reserve_length(3)
    big.push_bytes(bytes(70000))
    big.fill_length(start, 3)
    assert big.data[:3] == (70000).to_bytes(3, "big")


def test_pushed_and_prefixed_data():
    buf = Buffer()
    assert buf.pushed == 0 and buf.prefixed_data(b"hd") == b"hd"
    buf.push_bytes(b"body")
    assert buf.pushed == 4
    data = buf.prefixed_data(b"\x14\x00\x00\x04")
    assert data == b"\x14\x00\x00\x04body" and type(data) is bytes


@pytest.mark.parametrize("length_size, hex_data", [
    (2, ""), (2, "00"), (1, ""), (3, "0000"),      # short prefixes
    (2, "0004 0001"), (1, "04 0001"),              # vectors longer than the data
    (2, "0003 000102"), (1, "01 00"),              # odd lengths
    (2, "0004 0001 0002"), (1, "02 0304"), (3, "000002 abcd"), (2, "0000"),
])
def test_pull_uint16_tuple_reads_and_fails_as_pull_opaque_does(length_size, hex_data):
    data = bytes.fromhex(hex_data)

    def reference():
        buf = Buffer(data)
        start = buf.tell()
        raw = buf.pull_opaque(length_size)
        if len(raw) & 1:
            raise DecodeError(f"list of uint16 at offset {start} has an odd length {len(raw)}")
        return tuple(int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)), buf.tell()

    def in_one_call():
        buf = Buffer(data)
        return buf.pull_uint16_tuple(length_size), buf.tell()

    try:
        expected = reference()
    except DecodeError:
        assert _decode_error(in_one_call) == _decode_error(reference)
    else:
        assert in_one_call() == expected

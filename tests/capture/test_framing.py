import random

from workbench.capture.framing import StreamFramer


def _record(ctype, body, version=0x0303):
    return bytes([ctype, version >> 8, version & 0xFF]) + len(body).to_bytes(2, "big") + body


STREAM = b"".join(_record(t, bytes([t]) * n) for t, n in [(22, 300), (20, 1), (23, 5000), (21, 2), (23, 0),
                                                          (23, 18000)])


def _frame(pieces):
    framer = StreamFramer()
    out = []
    for p in pieces:
        out.extend(framer.feed(p))
    return framer, out


def test_whole_stream_and_offsets():
    framer, records = _frame([STREAM])
    assert [(t, len(raw) - 5) for t, _, raw, _ in records] == [(22, 300), (20, 1), (23, 5000), (21, 2), (23, 0),
                                                              (23, 18000)]
    offsets = [off for *_, off in records]
    assert offsets == [0, 305, 311, 5316, 5323, 5328]
    assert framer.buffered == 0 and framer.offset == len(STREAM)


def test_any_segmentation_gives_the_same_records_partial_headers_included():
    expected = _frame([STREAM])[1]
    rng = random.Random(1)
    for size_range in ((1, 1), (1, 7), (3, 6), (100, 3000)):
        pieces, pos = [], 0
        while pos < len(STREAM):
            n = rng.randint(*size_range)
            pieces.append(STREAM[pos:pos + n])
            pos += n
        assert _frame(pieces)[1] == expected, size_range


def test_garbage_is_skipped_and_reported():
    framer, records = _frame([STREAM[:311] + b"\x00garbage\xff" + STREAM[311:]])
    assert [t for t, *_ in records] == [22, 20, 23, 21, 23, 23]
    assert framer.skipped and framer.skipped[0][0] == 311 and framer.skipped[0][1] == 9
    assert "is not TLS" in framer.skipped[0][2]


def test_gap_resynchronises_on_the_next_records():
    framer = StreamFramer()
    out = framer.feed(STREAM[:400])               # the 5000-byte record has begun
    framer.gap(1000)                              # ... and 1000 of its bytes are lost
    out += framer.feed(STREAM[1400:])
    assert [t for t, *_ in out] == [22, 20, 21, 23, 23]
    assert [off for *_, off in out][-3:] == [5316, 5323, 5328]

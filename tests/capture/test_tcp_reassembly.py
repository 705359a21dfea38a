import random

from workbench.capture.linklayer import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, Segment
from workbench.capture.tcp_reassembly import ConnectionTable, Gap, StreamReassembler, track_segment

DATA = bytes(range(256)) * 4


def _collect(pieces):
    return b"".join(p for p in pieces if not isinstance(p, Gap))


def test_in_order():
    s = StreamReassembler()
    s.syn(1000)
    assert _collect(s.add(1001, DATA[:10]) + s.add(1011, DATA[10:30])) == DATA[:30]
    assert s.offset == 30


def test_reordered_duplicated_and_overlapping_segments():
    rng = random.Random(5)
    for trial in range(20):
        s = StreamReassembler()
        s.syn(5000)
        cuts = sorted(rng.sample(range(1, len(DATA)), 60))
        segments = [(a, DATA[a:b]) for a, b in zip([0] + cuts, cuts + [len(DATA)])]
        extra = [(a + 1, d[1:] + DATA[a + len(d):a + len(d) + 3]) for a, d in rng.sample(segments, 15) if len(d) > 1]
        arrival = segments + segments[:10] + extra
        rng.shuffle(arrival)
        got = b"".join(_collect(s.add(5001 + a, d)) for a, d in arrival)
        assert got == DATA, trial
        assert s.pending == {} and s.pending_bytes == 0


def test_sequence_numbers_wrap_around():
    s = StreamReassembler()
    isn = 2**32 - 20
    s.syn(isn)
    out = s.add((isn + 1 + 30) % 2**32, DATA[30:60])       # after the wrap, early
    out += s.add(isn + 1, DATA[:30])
    assert _collect(out) == DATA[:60]


def test_hole_that_never_fills_becomes_a_gap_at_flush():
    s = StreamReassembler()
    s.syn(0)
    first = s.add(1, DATA[:10])
    later = s.add(21, DATA[20:40])
    assert _collect(first) == DATA[:10] and later == []
    out = s.flush()
    assert out == [Gap(10), DATA[20:40]] and isinstance(out[0], Gap)


def test_too_much_held_behind_a_hole_declares_it_lost():
    s = StreamReassembler(max_pending=50)
    s.syn(0)
    s.add(1, DATA[:10])
    assert s.add(31, DATA[30:60]) == []
    out = s.add(61, DATA[60:90])
    assert isinstance(out[0], Gap) and out[0] == 20 and _collect(out) == DATA[30:90]


def test_missing_bytes_of_a_snaplen_cut_segment():
    s = StreamReassembler()
    s.syn(0)
    out = s.add(1, DATA[:6], missing=4)
    assert out == [DATA[:6], Gap(4)]
    assert _collect(s.add(11, DATA[10:20])) == DATA[10:20]


def test_fin_marks_the_direction_finished_once_all_bytes_arrived():
    s = StreamReassembler()
    s.syn(0)
    s.add(11, b"", fin=True)                     # the FIN arrives before the data
    assert not s.finished
    s.add(1, DATA[:10])
    assert s.finished


def _seg(src, sport, dst, dport, seq, flags, payload=b""):
    return Segment(bytes([10, 0, 0, src]), bytes([10, 0, 0, dst]), sport, dport, seq, flags, payload, 0)


def test_connection_table_directions_and_4_tuple_reuse():
    table = ConnectionTable()
    syn = _seg(1, 5555, 2, 443, 100, TCP_SYN)
    conn, side = table.lookup(syn, 1)
    track_segment(conn, side, syn)
    synack = _seg(2, 443, 1, 5555, 900, TCP_SYN | TCP_ACK)
    conn2, side2 = table.lookup(synack, 2)
    track_segment(conn2, side2, synack)
    assert conn2 is conn and (side, side2) == (0, 1)
    data = _seg(1, 5555, 2, 443, 101, TCP_PSH | TCP_ACK, b"abc")
    c, s = table.lookup(data, 3)
    assert track_segment(c, s, data) == [b"abc"]
    # a retransmitted SYN (same ISN) is the same connection
    assert table.lookup(syn, 4)[0] is conn
    # the same 4-tuple with a new ISN later: a new connection
    reuse = _seg(1, 5555, 2, 443, 7000, TCP_SYN)
    new, new_side = table.lookup(reuse, 5)
    assert new is not conn and new.id == conn.id + 1 and new_side == 0


def test_rst_ends_its_senders_direction_and_retired_connections_stay_known():
    table = ConnectionTable(keep_closed=1)
    a = _seg(1, 1, 2, 2, 10, TCP_SYN)
    conn, side = table.lookup(a, 1)
    track_segment(conn, side, a)
    rst = _seg(2, 2, 1, 1, 0, TCP_RST)
    c, s = table.lookup(rst, 2)
    track_segment(c, s, rst)
    # what the other side sent before the RST reached it may still follow on the wire
    assert conn.reset and not conn.closed
    late = _seg(1, 1, 2, 2, 11, TCP_ACK | TCP_FIN)
    c, s = table.lookup(late, 3)
    track_segment(c, s, late)
    assert conn.closed
    table.retire(conn)
    assert table.lookup(_seg(1, 1, 2, 2, 11, TCP_ACK), 3)[0] is conn   # a late ACK finds it
    other = _seg(3, 1, 2, 2, 10, TCP_SYN)
    o, _ = table.lookup(other, 4)
    table.retire(o)                                                    # keep_closed=1: the first is forgotten
    assert table.lookup(_seg(1, 1, 2, 2, 12, TCP_ACK), 5)[0] is not conn


def test_fin_both_ways_closes():
    table = ConnectionTable()
    for seg in (_seg(1, 1, 2, 2, 0, TCP_SYN), _seg(2, 2, 1, 1, 50, TCP_SYN | TCP_ACK),
                _seg(1, 1, 2, 2, 1, TCP_FIN | TCP_ACK), _seg(2, 2, 1, 1, 51, TCP_FIN | TCP_ACK)):
        conn, side = table.lookup(seg, 1)
        track_segment(conn, side, seg)
    assert conn.closed

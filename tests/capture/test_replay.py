"""The replay of every reference capture agrees with tshark, run now: per frame, the records' content types
(TLS 1.3: opaque and inner), the handshake message types, and which records are decrypted. The same captures
cut into 1-7 byte segments, shuffled and duplicated decode to the same records. Cut files decode up to the
damage. The pipeline fed one packet at a time (as live captures feed it) gives what the file replay gives,
each record as soon as its frame is fed; data behind a lost segment is decoded when its connection ends."""
from __future__ import annotations

import os
import tracemalloc

import pytest

from workbench.capture import replay
from workbench.capture.keylog import load_keylog
from workbench.capture.linklayer import TCP_ACK, TCP_RST
from workbench.capture.replay import RecordPipeline
from workbench.capture.pcap_io import LINKTYPE_ETHERNET, CaptureReader, PcapNgWriter, read_packets, write_pcap
from workbench.capture.synthetic import write_tls13_capture
from workbench.capture.tap_packets import Frame, TapPacketizer

from .compare import differences
from .conftest import REFERENCE_CAPTURES, reference, requires_captures, requires_tshark
from .rewrite import rewrite_capture
from .tshark_oracle import our_view, tshark_view

pytestmark = requires_captures


@requires_tshark
@pytest.mark.parametrize("capture", REFERENCE_CAPTURES, ids=str)
def test_replay_agrees_with_tshark(capture):
    theirs = tshark_view(capture.path, capture.keylog, decode_as_port=capture.tshark_port)
    r = replay(capture.path, capture.keylog)
    records = list(r)
    assert records, "no TLS records decoded"
    assert differences(theirs, our_view(records)) == []
    assert not [d for d in r.diagnostics if d.stage in ("capture", "tcp")]


@requires_tshark
def test_oracle_tells_decrypted_from_not():
    """The comparison is not blind: a decode without keys differs from tshark's decode with keys."""
    capture = reference("hotplace/tls12_tls12etm_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng")
    theirs = tshark_view(capture.path, capture.keylog, decode_as_port=capture.tshark_port)
    assert any(any(v.decrypted) for v in theirs.values())
    assert differences(theirs, our_view(replay(capture.path)))


def _signature(records):
    return [(r.connection, r.direction, r.outer_type, r.inner_type, tuple(r.handshake), r.decrypted, r.epoch,
             r.sequence, r.plaintext) for r in records]


@pytest.mark.parametrize("capture", REFERENCE_CAPTURES, ids=str)
def test_tiny_shuffled_duplicated_segments_decode_the_same(capture, tmp_path):
    rewritten = str(tmp_path / "rewritten.pcap")
    written = rewrite_capture(capture.path, rewritten, seed=len(capture.name))
    assert written > 50
    original = _signature(replay(capture.path, capture.keylog))
    r = replay(rewritten, capture.keylog)
    assert _signature(r) == original
    assert not [d for d in r.diagnostics if d.stage in ("capture", "tcp")]


def test_forced_port_decodes_like_detection():
    capture = reference("hotplace/tls13_tls13_TLS_AES_128_GCM_SHA256.pcapng")
    detected = _signature(replay(capture.path, capture.keylog))
    forced = _signature(replay(capture.path, capture.keylog, tls_ports=[9000]))
    assert forced == detected and any(rec[5] for rec in forced)


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.37, 0.5, 0.61, 0.8, 0.93, 0.999])
def test_cut_capture_decodes_up_to_the_damage(fraction, tmp_path):
    capture = reference("wireshark/tls13-rfc8446.pcap")
    data = open(capture.path, "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:int(len(data) * fraction)])
    full = list(replay(capture.path, capture.keylog))
    r = replay(str(cut), capture.keylog)
    got = list(r)
    last_frame = r.frames
    expected = [rec for rec in full if rec.frame <= last_frame]
    assert _signature(got) == _signature(expected)
    damage = [d for d in r.diagnostics if d.stage == "capture"]
    assert damage and damage[0].offset is not None and damage[0].offset < len(data)


def test_cut_pcapng_and_gzip(tmp_path):
    for name in ("hotplace/tls13_tls13_TLS_AES_256_GCM_SHA384.pcapng", "scapy/tls_tcp_frag_withnss.pcap.gz"):
        capture = reference(name)
        data = open(capture.path, "rb").read()
        for fraction in (0.3, 0.7):
            cut = tmp_path / ("cut" + os.path.splitext(capture.path)[1])
            cut.write_bytes(data[:int(len(data) * fraction)])
            r = replay(str(cut), capture.keylog)
            records = list(r)
            assert r.diagnostics, (name, fraction)
            full = [rec for rec in replay(capture.path, capture.keylog) if rec.frame <= r.frames]
            assert _signature(records) == _signature(full)


def test_garbage_in_the_middle_resynchronises(tmp_path):
    capture = reference("wireshark/tls13-rfc8446.pcap")
    data = bytearray(open(capture.path, "rb").read())
    # overwrite the record header of frame 5 (the 5th packet) with nonsense
    fifth = [p for p in read_packets(capture.path)][4]
    data[fifth.offset:fifth.offset + 16] = b"\xff" * 16
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    r = replay(str(bad), capture.keylog)
    records = list(r)
    assert any("resynchronised" in d.message for d in r.diagnostics)
    assert records[-1].frame >= 12          # packets after the damage are read again


def _peak(capture, keys):
    tracemalloc.start()
    count = 0
    for _ in replay(capture, keys):
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_memory_does_not_grow_with_the_capture(tmp_path):
    small, big = str(tmp_path / "small.pcap"), str(tmp_path / "big.pcap")
    small_keys = write_tls13_capture(small, records=2000, seed=1)
    big_keys = write_tls13_capture(big, records=8000, seed=1)
    n_small, peak_small = _peak(small, small_keys)
    n_big, peak_big = _peak(big, big_keys)
    assert n_big > 3.5 * n_small
    assert peak_big < 1.1 * peak_small


def test_several_secrets_blocks_are_all_used(tmp_path):
    """scapy keeps only the last Decryption Secrets Block; every one counts here (and for tshark)."""
    capture = reference("wireshark/tls13-rfc8446.pcap")
    lines = open(capture.keylog).read().splitlines(keepends=True)
    out = tmp_path / "two-blocks.pcapng"
    packets = list(read_packets(capture.path))
    with open(out, "wb") as f:
        w = PcapNgWriter(f, packets[0].linktype, secrets="".join(lines[:len(lines) // 2]))
        w.add_secrets("".join(lines[len(lines) // 2:]))
        for p in packets:
            w.write(p.data, p.time)
    r = replay(str(out))
    records = list(r)
    assert r.secrets_blocks == 2
    assert all(rec.decrypted for rec in records if rec.protected)


def test_lost_segment_is_a_gap_and_decryption_resumes_after_it(tmp_path):
    full = str(tmp_path / "full.pcap")
    keys = write_tls13_capture(full, records=200, seed=3)
    packets = list(read_packets(full))
    # drop one data packet from the middle of the traffic (it holds the end of one record, maybe more)
    victim = next(p for p in packets[len(packets) // 2:] if len(p.data) > 1000)
    lossy = str(tmp_path / "lossy.pcap")
    write_pcap(lossy, [(p.time, p.data) for p in packets if p is not victim])
    r = replay(lossy, keys)
    records = list(r)
    gaps = [d for d in r.diagnostics if d.stage == "tcp"]
    assert len(gaps) == 1 and "missing" in gaps[0].message
    after = [rec for rec in records if rec.frame > victim.frame]
    assert after and all(rec.decrypted for rec in after if rec.protected)
    assert any(rec.note and "lost before this one" in rec.note for rec in after)
    before = [rec for rec in records if rec.frame < victim.frame]
    assert all(rec.decrypted for rec in before if rec.protected)


def test_reused_4_tuple_is_a_new_connection(tmp_path):
    one = str(tmp_path / "one.pcap")
    keys = write_tls13_capture(one, records=20, seed=4)
    packets = list(read_packets(one))
    twice = str(tmp_path / "twice.pcap")       # the same connection (same ports, same ISN) replayed an hour later
    write_pcap(twice, [(p.time, p.data) for p in packets] + [(p.time + 3600, p.data) for p in packets])
    r = replay(twice, keys)
    records = list(r)
    assert len(records) == 2 * len(list(replay(one, keys)))
    assert {rec.connection for rec in records} == {0, 1}
    assert all(rec.decrypted for rec in records if rec.protected)


def test_record_pipeline_fed_frame_by_frame_matches_the_file_replay():
    capture = reference("wireshark/tls13-rfc8446.pcap")
    pipeline = RecordPipeline(capture.keylog)
    records = []
    for packet in read_packets(capture.path):
        records.extend(pipeline.feed(packet.time, packet.linktype, packet.data))
    records.extend(pipeline.finish())
    assert _signature(records) == _signature(replay(capture.path, capture.keylog))
    assert [rec.frame for rec in records] == [rec.frame for rec in replay(capture.path, capture.keylog)]
    assert sorted(pipeline.connections) == [0, 1] and pipeline.frames == 13
    with pytest.raises(RuntimeError):
        pipeline.feed(0.0, 1, b"")


# -- the pipeline fed packet by packet, as live captures feed it ------------------------------------------------

def _full_signature(records):
    return [(r.connection, r.frame, r.direction, r.outer_type, r.inner_type, tuple(r.handshake), r.decrypted,
             r.epoch, r.sequence, r.plaintext, r.note) for r in records]


@pytest.mark.parametrize("capture", REFERENCE_CAPTURES, ids=str)
def test_packet_by_packet_is_the_same_as_the_file_replay(capture):
    """The pipeline numbers the frames itself and takes secrets blocks from whoever reads the file; the records,
    connections and diagnostics are the file replay's, and each record comes out of the feed of its frame."""
    keylog = load_keylog(capture.keylog)
    reader = CaptureReader(capture.path, on_secrets=lambda block: keylog.add_text(block.data))
    pipeline = RecordPipeline(keylog)
    records = []
    for packet in reader:
        batch = pipeline.feed(packet.time, packet.linktype, packet.data)
        assert pipeline.frames == packet.frame
        assert [rec.frame for rec in batch] == [packet.frame] * len(batch)
        records += batch
    leftovers = pipeline.finish()
    assert [rec.frame for rec in leftovers] == [pipeline.frames] * len(leftovers)
    records += leftovers
    r = replay(capture.path, capture.keylog)
    assert _full_signature(records) == _full_signature(r)
    assert sorted(pipeline.connections) == sorted(r.connections)
    assert [c.to_dict() for _, c in sorted(pipeline.connections.items())] == \
        [c.to_dict() for _, c in sorted(r.connections.items())]
    assert [d for d in pipeline.diagnostics if d.stage != "capture"] == \
        [d for d in r.diagnostics if d.stage != "capture"]
    assert pipeline.frames == r.frames


_CLIENT, _SERVER = "127.0.0.1:40000", "127.0.0.1:443"


def _record(content_type: int, body: bytes) -> bytes:
    return bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body


_HELLO = _record(22, bytes.fromhex("01000004") + bytes.fromhex("03030000"))


def test_records_come_out_with_the_frame_that_completes_them():
    p = TapPacketizer(seed=1)
    pipeline = RecordPipeline()
    frames = p.chunk(1.0, _CLIENT, _SERVER, _HELLO[:7])      # handshake + half a record
    out = [pipeline.feed(f.time, f.linktype, f.data) for f in frames]
    assert all(batch == [] for batch in out)
    frames = p.chunk(2.0, _CLIENT, _SERVER, _HELLO[7:])
    out = pipeline.feed(frames[0].time, frames[0].linktype, frames[0].data)
    assert len(out) == 1 and out[0].frame == pipeline.frames == 6 and out[0].handshake == [1]
    assert out[0].time == 2.0
    assert pipeline.connections[0].client == _CLIENT


def test_a_finished_pipeline_takes_no_more_packets():
    pipeline = RecordPipeline()
    assert pipeline.finish() == [] and pipeline.finish() == []
    with pytest.raises(RuntimeError):
        pipeline.feed(0.0, LINKTYPE_ETHERNET, b"\x00" * 60)


def test_frames_it_cannot_follow_are_reported_once_per_kind():
    pipeline = RecordPipeline()
    for _ in range(3):
        assert pipeline.feed(0.0, 9999, b"\x00" * 40) == []
    assert [d.message for d in pipeline.diagnostics] == ["frame not followed: link type 9999 is not supported"]


def _lossy_client(packetizer: TapPacketizer) -> list[Frame]:
    """A ClientHello and three records from the client, the segment with the second one lost: the third waits
    behind the hole."""
    frames = packetizer.chunk(10.0, _CLIENT, _SERVER, _HELLO)
    frames += packetizer.chunk(11.0, _CLIENT, _SERVER, _record(23, b"before"))
    packetizer.chunk(12.0, _CLIENT, _SERVER, _record(23, b"lost"))
    frames += packetizer.chunk(13.0, _CLIENT, _SERVER, _record(23, b"behind the hole"))
    return frames


def _feed(pipeline: RecordPipeline, frames) -> list:
    return [rec for f in frames for rec in pipeline.feed(f.time, f.linktype, f.data)]


def _with_tcp_flags(frame: Frame, flags: int) -> Frame:
    """The frame with other TCP flags (Ethernet + IPv4 without options: the flags byte is at 47)."""
    return frame._replace(data=frame.data[:47] + bytes((flags,)) + frame.data[48:])


def _payloads(records) -> list[bytes]:
    return [rec.plaintext for rec in records if rec.outer_type == 23]


def test_data_behind_a_lost_segment_is_decoded_when_the_connection_is_reset():
    packetizer = TapPacketizer(seed=2)
    pipeline = RecordPipeline()
    assert _payloads(_feed(pipeline, _lossy_client(packetizer))) == [b"before"]
    fin = packetizer.close(_CLIENT, _SERVER, 14.0)[0]
    out = pipeline.feed(fin.time, fin.linktype, _with_tcp_flags(fin, TCP_RST | TCP_ACK).data)
    assert _payloads(out) == [b"behind the hole"]
    assert (out[0].frame, out[0].time) == (pipeline.frames, 14.0)
    assert [d.message for d in pipeline.diagnostics if d.stage == "tcp"] == [
        "9 bytes missing from the client stream (lost segment)"]
    assert pipeline.finish() == []


def test_data_the_server_sent_before_the_clients_reset_arrived_is_still_decoded():
    """The client resets; the server's record was already on its way and crosses the RST on the wire
    (seen with OpenSSL peers on lo). tshark shows that record: so must the replay."""
    packetizer = TapPacketizer(seed=4)
    pipeline = RecordPipeline()
    _feed(pipeline, packetizer.chunk(10.0, _CLIENT, _SERVER, _HELLO))
    _feed(pipeline, packetizer.chunk(10.5, _SERVER, _CLIENT, _HELLO))
    in_flight = packetizer.chunk(11.0, _SERVER, _CLIENT, _record(21, b"\x01\x00"))    # sent, not yet arrived
    fin = packetizer.close(_CLIENT, _SERVER, 11.1)[0]
    assert _feed(pipeline, [_with_tcp_flags(fin, TCP_RST | TCP_ACK)]) == []
    late = _feed(pipeline, in_flight)
    assert [(rec.src, rec.outer_type) for rec in late] == [(_SERVER, 21)]


def test_data_behind_a_lost_segment_is_decoded_when_a_new_connection_takes_its_4_tuple():
    packetizer = TapPacketizer(seed=3)
    pipeline = RecordPipeline()
    _feed(pipeline, _lossy_client(packetizer))
    packetizer.close(_CLIENT, _SERVER, 14.0)            # its FINs are not captured: the old connection stays open
    again = packetizer.chunk(20.0, _CLIENT, _SERVER, _HELLO)
    syn = again[0]
    out = pipeline.feed(syn.time, syn.linktype, syn.data)
    assert _payloads(out) == [b"behind the hole"]
    assert (out[0].connection, out[0].frame, out[0].time) == (0, pipeline.frames, 20.0)
    later = _feed(pipeline, again[1:]) + pipeline.finish()
    assert [(rec.connection, rec.handshake) for rec in later] == [(1, [1])]


def test_records_decoded_at_the_end_of_the_capture_carry_its_last_time():
    packetizer = TapPacketizer(seed=4)
    pipeline = RecordPipeline()
    frames = _lossy_client(packetizer)
    _feed(pipeline, frames)
    out = pipeline.finish()
    assert _payloads(out) == [b"behind the hole"]
    assert (out[0].frame, out[0].time) == (len(frames), frames[-1].time) and out[0].time == 13.0

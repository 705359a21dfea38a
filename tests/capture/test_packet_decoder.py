"""PacketDecoder (the pipeline fed one packet at a time) decodes every reference capture exactly as the file
replay does, record for record, with the same connections and diagnostics."""
from __future__ import annotations

import pytest

from workbench.capture import replay
from workbench.capture.packet_decoder import PacketDecoder
from workbench.capture.pcap_io import CaptureReader, LINKTYPE_ETHERNET
from workbench.capture.tap_packets import TapPacketizer

from .conftest import REFERENCE_CAPTURES, requires_captures


def _signature(records):
    return [(r.connection, r.frame, r.direction, r.outer_type, r.inner_type, tuple(r.handshake), r.decrypted,
             r.epoch, r.sequence, r.plaintext, r.note) for r in records]


@requires_captures
@pytest.mark.parametrize("capture", REFERENCE_CAPTURES, ids=str)
def test_packet_by_packet_is_the_same_as_the_file_replay(capture):
    from workbench.capture.keylog import load_keylog
    keylog = load_keylog(capture.keylog)
    reader = CaptureReader(capture.path, on_secrets=lambda block: keylog.add_text(block.data))
    decoder = PacketDecoder(keylog)
    records = []
    for packet in reader:
        records += decoder.feed(packet.time, packet.linktype, packet.data)
    records += decoder.finish()
    r = replay(capture.path, capture.keylog)
    expected = list(r)
    assert _signature(records) == _signature(expected)
    assert sorted(decoder.connections) == sorted(r.connections)
    assert [c.to_dict() for _, c in sorted(decoder.connections.items())] == \
        [c.to_dict() for _, c in sorted(r.connections.items())]
    assert [d for d in decoder.diagnostics if d.stage != "capture"] == \
        [d for d in r.diagnostics if d.stage != "capture"]
    assert decoder.frames == r.frames


def test_records_come_out_with_the_frame_that_completes_them():
    p = TapPacketizer(seed=1)
    decoder = PacketDecoder()
    hello = bytes.fromhex("16030100") + bytes([8]) + bytes.fromhex("01000004") + bytes.fromhex("03030000")
    frames = p.chunk(1.0, "127.0.0.1:40000", "127.0.0.1:443", hello[:7])      # handshake + half a record
    out = [decoder.feed(f.time, f.linktype, f.data) for f in frames]
    assert all(batch == [] for batch in out)
    frames = p.chunk(2.0, "127.0.0.1:40000", "127.0.0.1:443", hello[7:])
    out = decoder.feed(frames[0].time, frames[0].linktype, frames[0].data)
    assert len(out) == 1 and out[0].frame == decoder.frames == 6 and out[0].handshake == [1]
    assert decoder.connections[0].client == "127.0.0.1:40000"


def test_a_finished_decoder_takes_no_more_packets():
    decoder = PacketDecoder()
    assert decoder.finish() == [] and decoder.finish() == []
    with pytest.raises(RuntimeError):
        decoder.feed(0.0, LINKTYPE_ETHERNET, b"\x00" * 60)


def test_frames_it_cannot_follow_are_reported_once_per_kind():
    decoder = PacketDecoder()
    for _ in range(3):
        assert decoder.feed(0.0, 9999, b"\x00" * 40) == []
    assert [d.message for d in decoder.diagnostics] == ["frame not followed: link type 9999 is not supported"]

import gzip
import struct

import pytest

from workbench.capture import replay
from workbench.capture.pcap_io import (
    SECRETS_TYPE_TLS, CaptureFormatError, CaptureReader, PcapNgWriter, inject_secrets, read_packets, read_secrets,
    write_pcap, write_pcapng,
)

from .conftest import reference, requires_captures, requires_tshark
from .tshark_oracle import our_view, tshark_view

FRAMES = [(1.5, b"\x01" * 60), (2.25, b"\x02" * 61), (3.0, b"\x03" * 1)]


def _pcap(endian: str, nanos: bool, frames=FRAMES, linktype=1) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for t, data in frames:
        frac = round((t % 1) * (1e9 if nanos else 1e6))
        out += struct.pack(endian + "IIII", int(t), frac, len(data), len(data)) + data
    return out


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, endian, nanos):
    path = tmp_path / "x.pcap"
    path.write_bytes(_pcap(endian, nanos))
    packets = list(read_packets(path))
    assert [(p.frame, p.time, p.data) for p in packets] == [(i + 1, t, d) for i, (t, d) in enumerate(FRAMES)]
    assert all(p.linktype == 1 for p in packets)


def test_gzip_pcap(tmp_path):
    path = tmp_path / "x.pcap.gz"
    path.write_bytes(gzip.compress(_pcap("<", False)))
    assert [p.data for p in read_packets(path)] == [d for _, d in FRAMES]


def test_not_a_capture(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"hello world, no capture here")
    with pytest.raises(CaptureFormatError):
        list(read_packets(path))
    r = replay(str(path))
    assert list(r) == [] and "not a pcap" in r.diagnostics[0].message


@pytest.mark.parametrize("cut", [10, 24, 30, 40, 24 + 16 + 60 + 5, 24 + 16 + 60 + 16 + 10])
def test_cut_pcap_reports_where(tmp_path, cut):
    data = _pcap("<", False)
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:cut])
    reader = CaptureReader(path)
    packets = list(reader)
    ends = (24 + 76, 24 + 76 + 77, len(data))
    assert len(packets) == len([end for end in ends if end <= cut])
    if cut in (24,) + ends:                     # cut on a packet boundary: a shorter but sound capture
        assert reader.diagnostics == []
    else:
        assert len(reader.diagnostics) == 1 and reader.diagnostics[0].offset <= cut


def test_pcapng_writer_round_trip_with_several_secrets_blocks(tmp_path):
    path = tmp_path / "x.pcapng"
    with open(path, "wb") as f:
        w = PcapNgWriter(f, 1, secrets="CLIENT_RANDOM aa bb\n")
        w.write(FRAMES[0][1], FRAMES[0][0])
        w.add_secrets(b"SECOND 00 11\n")
        w.write(FRAMES[1][1], FRAMES[1][0])
        w.add_secrets(b"\x00\x01", secrets_type=0x5353484B)
        w.write(FRAMES[2][1], FRAMES[2][0])
    reader = CaptureReader(path)
    packets = list(reader)
    assert [(p.time, p.data) for p in packets] == FRAMES
    assert [(s.secrets_type, s.data, s.before_frame) for s in reader.secrets] == [
        (SECRETS_TYPE_TLS, b"CLIENT_RANDOM aa bb\n", 1), (SECRETS_TYPE_TLS, b"SECOND 00 11\n", 2),
        (0x5353484B, b"\x00\x01", 3)]
    assert read_secrets(path) == reader.secrets


def _block(btype, body, endian="<"):
    return struct.pack(endian + "II", btype, 12 + len(body)) + body + struct.pack(endian + "I", 12 + len(body))


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_blocks_of_every_kind(tmp_path, endian):
    shb = _block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)
    tsresol = struct.pack(endian + "HH", 9, 1) + b"\x83\x00\x00\x00" + struct.pack(endian + "HH", 0, 0)
    idb0 = _block(1, struct.pack(endian + "HHI", 113, 0, 0) + tsresol, endian)          # 1/8 s ticks
    idb1 = _block(1, struct.pack(endian + "HHI", 101, 0, 0), endian)                     # microseconds
    epb = _block(6, struct.pack(endian + "IIIII", 1, 0, 3_000_000, 3, 3) + b"abc\x00", endian)
    spb = _block(3, struct.pack(endian + "I", 2) + b"xy\x00\x00", endian)
    pb = _block(2, struct.pack(endian + "HHIIII", 0, 0, 0, 16, 1, 1) + b"z\x00\x00\x00", endian)
    custom = _block(0xBAD, b"\x00" * 8, endian)
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb + idb0 + idb1 + custom + epb + spb + pb)
    packets = list(read_packets(path))
    assert [(p.frame, p.linktype, p.data) for p in packets] == [(1, 101, b"abc"), (2, 113, b"xy"), (3, 113, b"z")]
    assert packets[0].time == pytest.approx(3.0) and packets[2].time == pytest.approx(2.0)


@pytest.mark.parametrize("btype, layout, kind", [(6, "IIIII", "enhanced packet block"),
                                                  (2, "HHIIII", "packet block")])
def test_pcapng_packet_naming_an_undescribed_interface_is_reported_and_skipped(tmp_path, btype, layout, kind):
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1), "<")
    idb = _block(1, struct.pack("<HHI", 1, 0, 0), "<")
    header = (1, 0, 0, 1, 1) if btype == 6 else (1, 0, 0, 0, 1, 1)       # interface 1: only 0 is described
    stray = _block(btype, struct.pack("<" + layout, *header) + b"q\x00\x00\x00", "<")
    fine = _block(6, struct.pack("<IIIII", 0, 0, 7, 2, 2) + b"ok\x00\x00", "<")
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb + idb + stray + fine)
    reader = CaptureReader(path)
    assert [(p.frame, p.data) for p in reader] == [(1, b"ok")]
    assert [d.message for d in reader.diagnostics] == [f"{kind} inconsistent (interface 1, length 1)"]


def test_pcapng_damaged_block_is_skipped(tmp_path):
    path = tmp_path / "x.pcapng"
    write_pcapng(path, FRAMES)
    data = bytearray(path.read_bytes())
    second = [p for p in read_packets(path)][1].offset
    data[second + 4:second + 8] = b"\x07\x00\x00\x00"          # an impossible block length
    path.write_bytes(bytes(data))
    reader = CaptureReader(path)
    packets = list(reader)
    assert [p.data for p in packets] == [FRAMES[0][1], FRAMES[2][1]]
    assert any("resynchronised" in d.message for d in reader.diagnostics)


def test_write_pcap_with_a_key_log_file(tmp_path):
    path = tmp_path / "x.pcap"
    write_pcap(path, FRAMES, keylog="CLIENT_RANDOM 00 11\n")
    assert [p.data for p in read_packets(path)] == [d for _, d in FRAMES]
    assert (tmp_path / "x.pcap.keys").read_text() == "CLIENT_RANDOM 00 11\n"


@requires_captures
def test_injected_secrets_decrypt_in_our_replay_without_a_key_log(tmp_path):
    capture = reference("hotplace/tls13_tls13_TLS_CHACHA20_POLY1305_SHA256.pcapng")
    out = tmp_path / "with-secrets.pcapng"
    assert inject_secrets(capture.path, open(capture.keylog).read(), out) == 23
    records = list(replay(str(out)))
    expected = list(replay(capture.path, capture.keylog))
    assert [(r.frame, r.decrypted, r.inner_type) for r in records] == \
        [(r.frame, r.decrypted, r.inner_type) for r in expected]
    assert sum(r.decrypted for r in records) >= 8


@requires_captures
@requires_tshark
@pytest.mark.parametrize("name", ["wireshark/tls13-rfc8446.pcap", "illustrated-tls12/capture.pcap"])
def test_tshark_decrypts_our_pcapng_from_the_secrets_block_alone(tmp_path, name):
    capture = reference(name)
    out = str(tmp_path / "with-secrets.pcapng")
    inject_secrets(capture.path, open(capture.keylog).read(), out)
    theirs = tshark_view(out, None)                      # no tls.keylog_file option
    with_file = tshark_view(capture.path, capture.keylog)
    assert {f: (v.content_types, v.handshake, v.decrypted) for f, v in theirs.items()} == \
        {f: (v.content_types, v.handshake, v.decrypted) for f, v in with_file.items()}
    assert sum(sum(v.decrypted) for v in theirs.values()) >= 4
    ours = our_view(replay(out))
    assert {f: v.decrypted for f, v in ours.items()} == {f: v.decrypted for f, v in theirs.items()}

"""Saving captures: pcapng with the key log in one Decryption Secrets Block before the packets, or pcap plus a
.keys file; private files; names that cannot escape the folder; nothing overwritten unless asked."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from workbench.capture.capture_file import CAPTURES_ENV, captures_directory, packets_of, save_capture
from workbench.capture.pcap_io import LINKTYPE_ETHERNET, LINKTYPE_RAW, CaptureReader
from workbench.capture.tap_packets import frames_from_chunks
from workbench.transport.tap import TappedChunk

KEYS = "CLIENT_RANDOM " + "00" * 32 + " " + "11" * 48 + "\n"
CHUNKS = [TappedChunk(1.0, "127.0.0.1:40000", "127.0.0.1:443", b"\x16\x03\x01\x00\x01\x01"),
          TappedChunk(2.0, "127.0.0.1:443", "127.0.0.1:40000", b"reply")]


def test_pcapng_holds_the_key_log_before_the_packets(tmp_path):
    frames = frames_from_chunks(CHUNKS, seed=1)
    saved = save_capture(frames, KEYS, name="one", directory=tmp_path)
    assert saved.capture == tmp_path / "one.pcapng" and saved.keylog is None
    assert saved.packets == len(frames) and saved.secrets == 1 and saved.format == "pcapng"
    reader = CaptureReader(saved.capture)
    packets = list(reader)
    assert [s.data for s in reader.secrets] == [KEYS.encode()] and reader.secrets[0].before_frame == 1
    assert [(p.time, p.linktype, p.data) for p in packets] == [tuple(f) for f in frames]
    assert stat.S_IMODE(os.stat(saved.capture).st_mode) == 0o600


def test_pcap_comes_with_a_keys_file(tmp_path):
    frames = frames_from_chunks(CHUNKS, seed=2)
    saved = save_capture(frames, KEYS, name="two.pcap", directory=tmp_path, format="pcap")
    assert (saved.capture, saved.keylog) == (tmp_path / "two.pcap", tmp_path / "two.keys")
    assert saved.keylog.read_text() == KEYS
    assert [p.data for p in CaptureReader(saved.capture)] == [f.data for f in frames]
    assert stat.S_IMODE(os.stat(saved.keylog).st_mode) == 0o600


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    save_capture([], "", name="same", directory=tmp_path)
    with pytest.raises(FileExistsError):
        save_capture([], "", name="same", directory=tmp_path)
    again = save_capture(frames_from_chunks(CHUNKS), "", name="same", directory=tmp_path, overwrite=True)
    assert again.packets > 0 and list(packets_of(again.capture))
    (tmp_path / "other.keys").write_text("mine")
    with pytest.raises(FileExistsError):                  # the .keys of a pcap would be replaced
        save_capture([], KEYS, name="other", directory=tmp_path, format="pcap")


def test_automatic_names_do_not_collide(tmp_path):
    names = {save_capture([], "", directory=tmp_path).capture.name for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("live-") and n.endswith(".pcapng") for n in names)


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "x y"])
def test_names_stay_in_the_folder(bad, tmp_path):
    with pytest.raises(ValueError):
        save_capture([], "", name=bad, directory=tmp_path)


def test_bad_format_and_mixed_link_types_are_refused(tmp_path):
    with pytest.raises(ValueError):
        save_capture([], "", name="x", directory=tmp_path, format="etl")
    with pytest.raises(ValueError):
        save_capture([(0.0, LINKTYPE_ETHERNET, b"a" * 20), (0.0, LINKTYPE_RAW, b"b" * 20)], "", name="y",
                     directory=tmp_path)


def test_the_folder_is_made_and_the_environment_chooses_it(monkeypatch, tmp_path):
    monkeypatch.setenv(CAPTURES_ENV, str(tmp_path / "deep" / "er"))
    assert captures_directory() == tmp_path / "deep" / "er"
    saved = save_capture([], KEYS, name="z")
    assert saved.capture == tmp_path / "deep" / "er" / "z.pcapng"


def _blocks(path) -> list[tuple[int, bytes]]:
    """(block type, body) of every pcapng block."""
    import struct
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        btype, length = struct.unpack_from("<II", data, pos)
        out.append((btype, data[pos + 8:pos + length - 4]))
        pos += length
    return out


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap (Wireshark) is not installed")
def test_the_layout_is_what_editcap_inject_secrets_writes(tmp_path):
    frames = frames_from_chunks(CHUNKS, seed=3)
    ours = save_capture(frames, KEYS, name="ours", directory=tmp_path)
    plain = save_capture(frames, KEYS, name="plain", directory=tmp_path, format="pcap")
    theirs = tmp_path / "editcap.pcapng"
    subprocess.run(["editcap", "--inject-secrets", f"tls,{plain.keylog}", str(plain.capture), str(theirs)],
                   check=True, capture_output=True, timeout=30)
    mine, editcap = _blocks(ours.capture), _blocks(theirs)
    assert [t for t, _ in mine] == [t for t, _ in editcap] == [0x0A0D0D0A, 10] + [1] + [6] * len(frames)
    assert mine[1][1] == editcap[1][1]                   # the same Decryption Secrets Block, byte for byte
    assert [p.data for p in CaptureReader(theirs)] == [p.data for p in CaptureReader(ours.capture)]

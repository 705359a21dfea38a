"""Replaying captures made by others into the workbench's timeline."""
import gzip
import shutil

from tests.ui.conftest import capture
from workbench.ui.runs.capture import CaptureRun, count_frames


def test_a_reference_capture_gives_two_connections_and_a_resumption():
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    run = CaptureRun(pcap, pcap.with_suffix(".keys")).start(background=False)
    timeline = run.timeline
    assert len(timeline.connections) == 2 and run.loaded == len(timeline)
    assert timeline.connections[1].resumed and timeline.connections[1].resumed_with == "T1"
    assert not run.busy and run.progress is None and "2 connection(s)" in run.status
    assert run.records.decoded(timeline.record(3)).decrypted
    assert run.frames_total == count_frames(str(pcap)) > 0


def test_loading_in_the_background_reports_progress_and_finishes():
    pcap = capture("hotplace/tls13_tls13_TLS_AES_256_GCM_SHA384.pcapng")
    seen = []
    run = CaptureRun(pcap, pcap.parent / "tls13_sslkeylog", tls_ports=(9000,))
    run.listeners.append(lambda: seen.append(run.progress))
    run.start()
    assert run.wait(30)
    assert len(run.timeline) > 0 and seen and seen[-1] is None


def test_a_missing_key_is_said_in_plain_words():
    pcap = capture("hotplace/tls12_tls12renogotiation.pcapng")
    run = CaptureRun(pcap, pcap.parent / "tls12_sslkeylog", tls_ports=(9000,)).start(background=False)
    keys = [p for p in run.problems if p.kind == "keys"]
    assert keys and keys[0].headline.startswith("a key is missing") and "CLIENT_RANDOM" in keys[0].detail


def test_a_damaged_capture_names_the_frame(tmp_path):
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    damaged = tmp_path / "damaged.pcap"
    data = pcap.read_bytes()
    damaged.write_bytes(data[: len(data) - 700])          # cut inside a packet
    run = CaptureRun(damaged, pcap.with_suffix(".keys")).start(background=False)
    assert len(run.timeline) > 0
    damage = [p for p in run.problems if p.kind == "capture"]
    assert damage and "damaged" in damage[0].headline and "frame" in damage[0].headline


def test_missing_files_are_problems_not_exceptions(tmp_path):
    run = CaptureRun(tmp_path / "nothing.pcap").start(background=False)
    assert run.problems[0].headline == "file not found"
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    run = CaptureRun(pcap, tmp_path / "no.keys").start(background=False)
    assert run.problems[0].headline == "key log not found" and len(run.timeline) > 0


def test_a_gzipped_capture(tmp_path):
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    packed = tmp_path / "capture.pcap.gz"
    with open(pcap, "rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    run = CaptureRun(packed, pcap.with_suffix(".keys")).start(background=False)
    assert len(run.timeline.connections) == 2

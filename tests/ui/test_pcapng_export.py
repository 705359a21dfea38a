import shutil
import subprocess

import pytest

from workbench.capture import read_secrets, replay
from workbench.timeline import timeline_from_capture


def test_a_run_saved_as_pcapng_replays_to_the_same_records(tls13_story, tmp_path):
    path = tmp_path / "run.pcapng"
    frames = tls13_story.export_pcapng(path)
    assert frames > len(tls13_story.timeline)
    secrets = read_secrets(path)
    assert secrets and b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in secrets[0].data
    timeline = timeline_from_capture(path)
    assert len(timeline) == len(tls13_story.timeline)
    for ours, theirs in zip(tls13_story.timeline, timeline):
        assert (ours.epoch, ours.length, ours.inner_type) == (theirs.epoch, theirs.length, theirs.inner_type)
        assert theirs.decrypted == ours.protected
    assert [bool(t.resumed) for t in timeline.tickets] == [bool(t.resumed) for t in tls13_story.timeline.tickets]
    assert not replay(path).run().diagnostics


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_wireshark_decrypts_the_saved_run(tls13_story, tmp_path):
    path = tmp_path / "run.pcapng"
    tls13_story.export_pcapng(path)
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "tls", "-T", "fields", "-e", "tls.handshake.type"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    types = {t for line in out.split() for t in line.split(",") if t}
    assert {"1", "2", "8", "11", "15", "20", "4", "24"} <= types        # decrypted: EE, Certificate, KeyUpdate...

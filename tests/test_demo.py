"""`tls-workbench demo`: the walk-through prints the timeline and writes a pcapng that decodes decrypted."""
import argparse
import io
import shutil
import subprocess

import pytest

from workbench import demo
from workbench.capture import read_secrets
from workbench.timeline import timeline_from_capture
from workbench.ui.options import EngineFeatures


def _run_demo(tmp_path, seed=1):
    out = io.StringIO()
    path = tmp_path / "demo.pcapng"
    assert demo.run(argparse.Namespace(output=str(path), seed=seed), out) == 0
    return out.getvalue(), path


def test_the_walk_through_prints_the_story_and_the_timeline(tmp_path):
    text, path = _run_demo(tmp_path)
    features = EngineFeatures.detect()
    assert "1. TLS 1.3" in text and "Handshake: ClientHello" in text and "== key schedule of connection 0" in text
    assert f"wrote {path}" in text
    if features.tickets:
        assert "the server issued 2 ticket(s)" in text and "== tickets" in text
    if features.key_update:
        assert "KeyUpdate (update_requested): client->server -> application-1, server->client -> application-1" in text
    if features.resume:
        assert "connection 1 resumed: True" in text
    if features.renegotiate:
        assert "renegotiations by the client: completed, by the server: completed" in text
    for name in ("tickets", "key_update", "resume", "renegotiate", "tls12"):
        reason = features.missing(name)
        if reason:                                       # what the engine lacks is said, never imitated
            assert reason in text


def test_the_capture_holds_its_keys_and_every_record_decrypts(tmp_path):
    text, path = _run_demo(tmp_path)
    assert read_secrets(path)
    timeline = timeline_from_capture(path)
    printed = sum(1 for line in text.splitlines() if " C -------> S " in line or " C <------- S " in line)
    assert len(timeline) == printed
    assert all(record.decrypted for record in timeline if record.protected)


def test_the_same_seed_gives_the_same_client_hello(tmp_path):
    # each run makes its own test CA, so the certificates differ; what the seed alone decides does not
    hellos = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        timeline = timeline_from_capture(_run_demo(tmp_path / name)[1], keep_raw=True)
        hellos.append(timeline.record(0).raw)
    assert hellos[0] == hellos[1] and hellos[0][5] == 1


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_the_demo_capture_decrypted(tmp_path):
    _, path = _run_demo(tmp_path)
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "tls.handshake.type == 20", "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert len(out.split()) >= 4          # Finished messages are encrypted: tshark saw them only with the keys


def test_tls_workbench_demo_command(tmp_path, capsys):
    from workbench import cli
    path = tmp_path / "from-cli.pcapng"
    assert cli.main(["demo", "--output", str(path), "--seed", "3"]) == 0
    assert f"wrote {path}" in capsys.readouterr().out and read_secrets(path)

"""`tls-workbench capture`: as root it sniffs lo while openssl s_client talks to s_server, prints each record as
the timeline line while the programs still run, and on Ctrl-C (or after --duration) saves a capture that replays
decrypted from its own secrets; without the privilege to sniff it says why and exits; bad options are refused
before anything is captured."""
from __future__ import annotations

import os
import re
import signal
import sys

import pytest

from workbench import cli
from workbench.capture import read_secrets, replay
from workbench.capture.capture_file import CAPTURES_ENV
from workbench.capture.sniffer import capture_permission
from workbench.peers import OpenSSLClient, OpenSSLServer, PeerProcess, free_port, missing_reason

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED, WHY = capture_permission()
_LIVE_MARKS = (
    pytest.mark.capture, pytest.mark.interop,
    pytest.mark.skipif(not ALLOWED, reason=f"live capture needs root or CAP_NET_RAW: {WHY}"),
    pytest.mark.skipif(missing_reason("openssl") is not None, reason=str(missing_reason("openssl"))),
)
_CLIENT_HELLO_LINE = re.compile(r"^\s+\+\d+\.\d{6}\s+\d+ f\d+\s+C -------> S\s+plaintext .*Handshake: ClientHello$",
                                re.MULTILINE)
_SAVED = re.compile(r"^saved (\S+)(?: and its key log (\S+))? \((\d+) packets, (\d+) key log lines\)$", re.MULTILINE)


def _capture_command(port: int, tmp_path, *options: str) -> PeerProcess:
    """`tls-workbench capture` in a process of its own, started once it says it is capturing."""
    argv = [sys.executable, "-m", "workbench.cli", "capture", "--port", str(port), *options]
    command = PeerProcess(argv, env={CAPTURES_ENV: str(tmp_path / "captures")}, cwd=REPO, lifetime=90)
    command.start()
    command.wait_for_output(re.compile(r"^capturing TCP port \d+ on lo", re.MULTILINE), 30, stream="stderr")
    return command


def _talk(pem_files, port: int, client_keys, *, text: str) -> None:
    """One TLS 1.3 session between s_client and s_server: a line of data, then the client quits."""
    with OpenSSLServer(pem_files.cert, pem_files.key, port=port, lifetime=60) as server:
        with OpenSSLClient(port, ca=pem_files.ca, keylog=client_keys, args=["-tls1_3"], lifetime=60) as client:
            client.wait_for_handshake()
            client.send_line(text)
            server.wait_for_output(text, 15)
            client.send_line("Q")
            client.wait(15)


def live(test):
    """Marks of a test that sniffs lo while OpenSSL programs talk."""
    for mark in _LIVE_MARKS:
        test = mark(test)
    return test


@live
def test_records_print_as_they_cross_and_ctrl_c_saves_a_decryptable_pcapng(pem_files, tmp_path):
    port, keys = free_port(), tmp_path / "client.keys"
    command = _capture_command(port, tmp_path, "--keylog", str(keys), "--output", "openssl-pair")
    try:
        _talk(pem_files, port, keys, text="hello through the sniffer")
        # the records are on standard output while the command is still capturing
        command.wait_for_output(_CLIENT_HELLO_LINE, 15, stream="stdout")
        command.wait_for_output("ApplicationData", 15, stream="stdout")
        assert command.running
        os.kill(command.pid, signal.SIGINT)                 # Ctrl-C
        assert command.wait(30) == cli.EXIT_OK, command.output
    finally:
        command.stop()
    out = command.stdout
    saved = _SAVED.search(out)
    assert saved, out
    path = saved.group(1)
    assert path == str(tmp_path / "captures" / "openssl-pair.pcapng") and saved.group(2) is None
    assert "stopping (SIGINT)" in command.stderr
    assert "== connection 0: client 127.0.0.1:" in out and f"-> server 127.0.0.1:{port}" in out
    # the file holds the session's secrets: it replays decrypted with nothing else
    assert b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in read_secrets(path)[0].data
    r = replay(path)
    records = list(r)
    protected = [rec for rec in records if rec.protected]
    assert protected and all(rec.decrypted for rec in protected)
    assert any(rec.plaintext and b"hello through the sniffer" in rec.plaintext for rec in records)
    assert int(saved.group(3)) == r.frames and int(saved.group(4)) >= 5
    # one printed line per record, each once
    printed = [line for line in out.splitlines() if re.search(r"C (-------> |<------- )S", line)]
    assert len(printed) == len(records)


@live
def test_duration_ends_the_capture_and_pcap_keeps_the_key_log_beside_it(pem_files, tmp_path):
    port, keys = free_port(), tmp_path / "client.keys"
    command = _capture_command(port, tmp_path, "--keylog", str(keys), "--duration", "6", "--format", "pcap")
    try:
        _talk(pem_files, port, keys, text="timed capture")
        assert command.wait(30) == cli.EXIT_OK, command.output
    finally:
        command.stop()
    saved = _SAVED.search(command.stdout)
    assert saved, command.output
    capture, keylog = saved.group(1), saved.group(2)
    assert capture.endswith(".pcap") and keylog == capture[:-len(".pcap")] + ".keys"
    assert os.path.dirname(capture) == str(tmp_path / "captures")
    assert oct(os.stat(capture).st_mode & 0o777) == oct(0o600)         # it holds the session's secrets
    records = list(replay(capture, keylog))
    assert any(rec.plaintext and b"timed capture" in rec.plaintext for rec in records)
    assert all(rec.decrypted for rec in records if rec.protected)


def test_without_the_right_to_sniff_it_says_why_and_exits(monkeypatch, capsys, tmp_path):
    import workbench.capture.live as live
    monkeypatch.setattr(live, "capture_permission",
                        lambda: (False, "not root and no CAP_NET_RAW: opening a packet socket failed"))
    monkeypatch.setenv(CAPTURES_ENV, str(tmp_path))
    assert cli.main(["capture", "--port", "4433"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith("tls-workbench: not root and no CAP_NET_RAW")
    assert "own transports" in err and "Run it as root" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("options, complaint", [
    (["--port", "70000"], "expected a TCP port"),
    (["--port", "4433", "--output", "../elsewhere"], "capture name"),
    (["--port", "4433", "--duration", "0"], "seconds above 0"),
    (["--port", "4433", "--format", "txt"], "invalid choice"),
    ([], "--port"),
])
def test_bad_options_are_refused_before_capturing(options, complaint, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["capture", *options])
    assert stopped.value.code == cli.EXIT_USAGE
    assert complaint in capsys.readouterr().err

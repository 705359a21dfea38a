"""The tls-workbench command: our CLI server and client against OpenSSL's, and the wiring of the rest."""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import ssl
import sys
from pathlib import Path

import pytest

from tests.transport.processes import BoundedProcess
from workbench import cli

REPO = Path(__file__).resolve().parent.parent
OPENSSL = shutil.which("openssl") or "openssl"
needs_openssl = pytest.mark.usefixtures("requires_openssl")
TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def cli_argv(*args) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", *map(str, args)]


class CliServer(BoundedProcess):
    """`tls-workbench server --port 0 ...`, with its port and CA file read from its status lines."""

    def __init__(self, *args):
        super().__init__(cli_argv("server", "--port", 0, *args), cwd=REPO)
        self.port = int(self.expect(r"listening on 127\.0\.0\.1:(\d+)", "stderr", timeout=15).group(1))
        self.ca = self.expect(r"test CA certificate: (\S+)", "stderr").group(1) if "--cert" not in args else None


def s_client(port: int, ca: str, *extra: str) -> BoundedProcess:
    return BoundedProcess([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca,
                           "-servername", "localhost", "-tls1_3", *extra])


def s_server(port: int, pem_files, *extra: str) -> BoundedProcess:
    server = BoundedProcess([OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pem_files.cert),
                             "-key", str(pem_files.key), "-tls1_3", *extra])
    server.expect("ACCEPT", timeout=10)
    return server


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text


# --- our server, OpenSSL's client -------------------------------------------------------------------

@pytest.mark.interop
@needs_openssl
def test_server_and_s_client_exchange_lines_and_close_cleanly(tmp_path):
    keylog, events = tmp_path / "keys.log", tmp_path / "events.jsonl"
    with CliServer("--keylog", keylog, "--events", events) as server:
        with s_client(server.port, server.ca) as client:
            server.expect(r"connection 1 from .*TLSv1\.3", "stderr")
            client.write(b"hello from openssl\n")
            server.expect(r"^hello from openssl$")
            server.write(b"hello from the workbench\n")
            client.expect(r"^hello from the workbench$")
            client.write(b"Q\n")                       # s_client sends close_notify and exits
            assert client.wait() == 0
            server.expect(r"connection 1: the peer closed the connection \(close_notify\)", "stderr")
        with s_client(server.port, server.ca) as client:
            server.expect(r"connection 2 from", "stderr")
            server.write(b"q\n")                       # our server closes this connection cleanly
            server.expect(r"connection 2: closed by us \(close_notify sent\)", "stderr")
            assert client.wait() == 0
        server.write(b"Q\n")                           # and stops
        assert server.wait() == 0
        assert_no_traceback(server.output("stderr"))
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == TLS13_LABELS
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert {r["connection"] for r in records} == {1, 2}
    assert "HandshakeMessageSent" in {r["event"] for r in records}


@pytest.mark.interop
@needs_openssl
def test_echo_server_sends_back_and_stops_on_sigterm():
    with CliServer("--echo") as server:
        with s_client(server.port, server.ca, "-quiet") as client:
            client.write(b"echo me\n")
            client.expect(r"^echo me$")
            server.signal(signal.SIGTERM)
            assert server.wait() == 0
            assert client.wait() == 0           # it got our close_notify
        assert "server stopped (SIGTERM)" in server.output("stderr")


@pytest.mark.interop
@needs_openssl
def test_http_server_describes_the_connection_to_s_client(tmp_path):
    events = tmp_path / "events.jsonl"
    with CliServer("--http", "--alpn", "http/1.1", "--events", events) as server:
        with s_client(server.port, server.ca, "-quiet", "-alpn", "http/1.1") as client:
            client.write(b"GET /page HTTP/1.0\r\nHost: localhost\r\n\r\n")
            assert client.wait() == 0                        # HTTP/1.0: we close after answering
            page = client.output()
        server.signal(signal.SIGINT)
        assert server.wait() == 0
    assert page.startswith("HTTP/1.1 200 OK")
    for expected in ("Protocol version:   TLSv1.3", "ALPN protocol:      http/1.1", "Server name (SNI):  localhost",
                     "Resumed:            no", "Request:            GET /page HTTP/1.0", "Key exchange group: X25519"):
        assert expected in page
    records = [json.loads(line) for line in events.read_text().splitlines()]
    data_records = [r for r in records if r["event"] == "RecordSent" and r["inner_type"] == "APPLICATION_DATA"]
    assert len(data_records) == 1                            # the whole answer in a single record


def test_http_server_keeps_an_http11_connection_for_several_requests():
    with CliServer("--http") as server:
        context = ssl.create_default_context(cafile=server.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=5)
        bodies = []
        for path in ("/one", "/two"):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200
            bodies.append(response.read().decode())
        connection.close()
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        stderr = server.output("stderr")
    assert "GET /one HTTP/1.1" in bodies[0] and "GET /two HTTP/1.1" in bodies[1]
    assert "TLS_AES" in bodies[0] and stderr.count("connection 1 from") == 1
    assert "connection 2" not in stderr


@pytest.mark.interop
@needs_openssl
def test_server_survives_a_client_that_rejects_its_certificate(tmp_path, pem_files):
    with CliServer() as server:
        # Trusting another CA, s_client refuses our certificate with unknown_ca.
        with s_client(server.port, str(pem_files.ca), "-verify_return_error") as client:
            assert client.wait() != 0
        server.expect(r"connection 1: handshake failed: the peer sent a fatal alert: unknown_ca \(48\)", "stderr")
        with s_client(server.port, server.ca, "-quiet") as client:      # the next one is served
            server.expect(r"connection 2 from", "stderr")
            client.write(b"still here\n")
            server.expect(r"^still here$")
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert_no_traceback(server.output("stderr"))


def test_server_with_given_certificate_files(pem_files):
    with CliServer("--cert", pem_files.cert, "--key", pem_files.key, "--echo") as server:
        context = ssl.create_default_context(cafile=str(pem_files.ca))
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"ping\n")
                assert tls.recv(100) == b"ping\n"
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert "test CA certificate" not in server.output("stderr")


# --- our client, OpenSSL's server ---------------------------------------------------------------------

@pytest.mark.interop
@needs_openssl
def test_client_and_s_server_exchange_lines(tmp_path, pem_files, free_port):
    port = free_port
    keylog, events = tmp_path / "keys.log", tmp_path / "events.jsonl"
    with s_server(port, pem_files) as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "localhost", "--keylog", keylog, "--events", events),
                            cwd=REPO) as client:
            client.expect(r"connected to 127\.0\.0\.1:\d+: TLSv1\.3, TLS_AES", "stderr")
            client.write(b"hello from the workbench\n")
            server.expect(r"^hello from the workbench$")
            server.write(b"hello from openssl\n")
            client.expect(r"^hello from openssl$")
            client.write(b"Q\n")
            assert client.wait() == 0
            client.expect(r"closed by us \(close_notify sent\)", "stderr")
            server.expect("DONE")
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == TLS13_LABELS
    records = [json.loads(line) for line in events.read_text().splitlines()]
    names = [r["event"] for r in records]
    for expected in ("HandshakeMessageSent", "HandshakeMessageReceived", "SecretDerived", "KeysInstalled",
                     "HandshakeComplete", "ApplicationData", "ConnectionClosed"):
        assert expected in names
    sent = [r["message"]["handshake_type"] for r in records if r["event"] == "HandshakeMessageSent"]
    assert sent == ["CLIENT_HELLO", "FINISHED"]
    data = [bytes.fromhex(r["data"]) for r in records if r["event"] == "ApplicationData"]
    assert b"hello from openssl\n" in data


@pytest.mark.interop
@needs_openssl
def test_client_reads_until_the_server_closes_after_end_of_input(pem_files, free_port):
    port = free_port
    with s_server(port, pem_files) as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "localhost", "--wait", "5"), cwd=REPO) as client:
            client.write(b"last line\n")
            client.close_stdin()                          # like s_client -ign_eof: keep listening
            server.expect(r"^last line$")
            server.write(b"late answer\n")
            client.expect(r"^late answer$")
            server.signal(signal.SIGTERM)                 # the server goes away without close_notify
            assert client.wait() == 0
            assert "without close_notify" in client.output("stderr")


@pytest.mark.interop
@needs_openssl
def test_client_closes_cleanly_once_input_ended_and_the_wait_is_over(pem_files, free_port):
    port = free_port
    with s_server(port, pem_files) as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "localhost", "--wait", "0.3"), cwd=REPO) as client:
            client.write(b"bye\n")
            client.close_stdin()
            assert client.wait() == 0
            assert "end of input and nothing more from the peer: closed (close_notify sent)" in client.output("stderr")
        server.expect(r"^bye$")
        server.expect("DONE")                          # s_server saw our close_notify


@pytest.mark.interop
@needs_openssl
def test_interrupted_client_still_closes_cleanly(pem_files, free_port):
    port = free_port
    with s_server(port, pem_files) as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "localhost"), cwd=REPO) as client:
            client.expect("connected to", "stderr")
            client.signal(signal.SIGINT)
            assert client.wait() == 130
            assert_no_traceback(client.output("stderr"))
        server.expect("DONE")                          # our close_notify arrived


@pytest.mark.interop
@needs_openssl
def test_client_with_a_wrong_server_name_fails_with_one_clear_line(pem_files, free_port):
    port = free_port
    with s_server(port, pem_files) as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "wrong.example"), cwd=REPO) as client:
            assert client.wait() == 1
            stderr = client.output("stderr")
        server.expect("alert bad certificate", "stderr")      # OpenSSL got our alert
    assert_no_traceback(stderr)
    [line] = stderr.strip().splitlines()
    assert "wrong.example" in line and "bad_certificate" in line


@pytest.mark.interop
@needs_openssl
def test_client_reports_a_fatal_alert_from_the_server(pem_files, free_port):
    port = free_port
    with s_server(port, pem_files, "-Verify", "1", "-verify_return_error") as server:
        with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--cafile", pem_files.ca,
                                     "--servername", "localhost"), cwd=REPO) as client:
            assert client.wait() == 1
            stderr = client.output("stderr")
    assert_no_traceback(stderr)
    assert "the peer sent a fatal alert: certificate_required (116)" in stderr


def test_refused_connection_is_one_line_and_non_zero(free_port):
    port = free_port
    with BoundedProcess(cli_argv("client", f"127.0.0.1:{port}", "--insecure"), stdin=None, cwd=REPO) as client:
        assert client.wait() == 1
        stderr = client.output("stderr")
    assert stderr.strip() == f"tls-workbench: connecting to 127.0.0.1:{port}: connection refused"


# --- arguments, lab and replay wiring -----------------------------------------------------------------

def test_parse_host_port():
    assert cli.parse_host_port("example.com:443") == ("example.com", 443)
    assert cli.parse_host_port("[::1]:8443") == ("::1", 8443)
    for bad in ("example.com", ":443", "host:http", "host:70000"):
        with pytest.raises(Exception):
            cli.parse_host_port(bad)


def test_failures_are_described_in_one_line():
    from workbench.tls import errors
    assert cli.describe_failure(errors.AlertReceived(40), "h:1") == "h:1: the peer sent a fatal alert: handshake_failure (40)"
    protocol = errors.DecodeError("truncated\nServerHello", expected="2 bytes", received="1 byte")
    assert cli.describe_failure(protocol) == (
        "truncated ServerHello (expected 2 bytes, received 1 byte) (we sent alert decode_error)")
    assert cli.describe_failure(TimeoutError("the TLS handshake did not finish in time")) == (
        "timed out (the TLS handshake did not finish in time)")
    assert cli.describe_failure(ConnectionResetError(104, "Connection reset by peer")) == "Connection reset by peer"


def test_alpn_may_be_repeated_or_comma_separated():
    assert cli.split_alpn(["h2,http/1.1", "spdy"]) == ("h2", "http/1.1", "spdy")


def test_cert_without_key_is_a_usage_error(capsys, pem_files):
    with pytest.raises(SystemExit) as stop:
        cli.main(["server", "--cert", str(pem_files.cert)])
    assert stop.value.code == 2
    assert "--cert and --key go together" in capsys.readouterr().err


def test_lab_command_listens_on_loopback_in_the_notebooks_folder():
    command = cli.lab_command(port=8899, uid=0)
    assert command[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert "--ip=127.0.0.1" in command and "--no-browser" in command and "--port=8899" in command
    assert f"--ServerApp.root_dir={REPO / 'notebooks'}" in command
    assert "--allow-root" in command
    assert "--allow-root" not in cli.lab_command(uid=1000)


def test_lab_replaces_itself_with_jupyterlab(monkeypatch, tmp_path, capsys):
    executed = []
    monkeypatch.setattr(cli, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: executed.append(argv))
    assert cli.main(["lab"]) == 1
    assert "no notebooks folder" in capsys.readouterr().err and executed == []
    (tmp_path / "notebooks").mkdir()
    cli.main(["lab", "--port", "8765"])
    [argv] = executed
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in argv and "--port=8765" in argv


ILLUSTRATED_TLS13 = REPO / "captures" / "reference" / "illustrated-tls13"     # shipped with the workbench


def test_replay_decrypts_a_reference_capture(capsys):
    capture, keys = ILLUSTRATED_TLS13 / "capture.pcap", ILLUSTRATED_TLS13 / "keylog.txt"
    assert cli.main(["replay", str(capture), "--keylog", str(keys)]) == 0
    timeline = capsys.readouterr().out
    assert "TLS 1.3 TLS_AES_256_GCM_SHA384" in timeline
    for shown in ("Handshake: ClientHello", "+ handshake", "Handshake: Finished", "+ application-0",
                  "ApplicationData", "Handshake: NewSessionTicket"):
        assert shown in timeline, shown
    # the wallet at the end: both tickets the server issued, neither used in this capture
    assert "== tickets" in timeline and timeline.count("not used") == 2
    assert cli.main(["replay", str(capture), "--keylog", str(keys), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records and any(r["decrypted"] for r in records)


def test_replay_of_a_missing_file_is_one_line(capsys, tmp_path):
    assert cli.main(["replay", str(tmp_path / "absent.pcapng")]) == 1
    assert capsys.readouterr().err.strip() == f"tls-workbench: no such capture file: {tmp_path / 'absent.pcapng'}"


def test_replay_without_the_capture_package_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "workbench.capture", None)
    assert cli.main(["replay", str(tmp_path / "x.pcap")]) == 1
    assert "replay needs the capture package" in capsys.readouterr().err


def test_demo_is_a_real_command_that_says_what_it_does(capsys, monkeypatch):
    # `demo` used to be absent (a placeholder was refused); it is now the headless walk-through of
    # workbench/demo.py, run end to end in tests/test_demo.py. Here: the parser knows it, hands it to
    # demo.run, and its help names what it shows and where the capture goes.
    from workbench import demo
    calls = []
    monkeypatch.setattr(demo, "run", lambda args: calls.append(args) or 0)
    assert cli.main(["demo", "--seed", "7"]) == 0
    assert len(calls) == 1 and calls[0].seed == 7 and calls[0].output is None
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "usage:" in help_text and "demo" in help_text and "--output" in help_text and "--seed" in help_text
    for shown in ("TLS 1.3 handshake", "tickets", "KeyUpdate", "resumed", "renegotiated", "pcapng"):
        assert shown in help_text
    assert " ".join(demo.__doc__.split("\n\n")[1].split()) in help_text

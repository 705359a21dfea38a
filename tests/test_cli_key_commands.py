"""`tls-workbench client` / `server` with --tls1.2 / --tls1.3 and the typed commands k, K, R, r,
against openssl s_server / s_client (the commands themselves: tests/transport/test_key_commands.py)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from workbench.peers import OpenSSLClient, OpenSSLServer, PeerProcess

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("requires_openssl")]
REPO = Path(__file__).resolve().parent.parent


def cli(*args) -> PeerProcess:
    return PeerProcess([sys.executable, "-m", "workbench.cli", *map(str, args)], cwd=REPO, lifetime=60)


def event_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_client_key_updates_against_s_server(pem_files, tmp_path):
    events_file = tmp_path / "events.jsonl"
    with OpenSSLServer(pem_files.cert, pem_files.key, args=["-tls1_3"]) as server, \
            cli("client", f"127.0.0.1:{server.port}", "--cafile", pem_files.ca, "--servername", "localhost",
                "--tls1.3", "--events", events_file) as client:
        client.wait_for_output(r"connected to .*TLSv1\.3")
        for line, done in (("k", "update_not_requested"), ("K", "update_requested")):
            mark = client.mark()
            client.send_line(line)
            client.wait_for_output(f"KEYUPDATE sent \\({done}", since=mark)
            client.send_line(f"after {line}")
            server.wait_for_output(f"after {line}")
        server.send_line("from s_server")
        client.wait_for_output("from s_server")
        mark = client.mark()
        client.send_line("R")
        client.wait_for_output("not done: renegotiation exists in TLS 1.2 only", since=mark)
        client.send_line("Q")
        assert client.wait(10) == 0
    records = event_records(events_file)
    assert [r["request_update"] for r in records if r["event"] == "KeyUpdateSent"] == ["NOT_REQUESTED", "REQUESTED"]
    assert [r["request_update"] for r in records if r["event"] == "KeyUpdateReceived"] == ["NOT_REQUESTED"]


def test_client_renegotiations_against_s_server(pem_files, tmp_path):
    events_file = tmp_path / "events.jsonl"
    with OpenSSLServer(pem_files.cert, pem_files.key, args=["-tls1_2", "-client_renegotiation"]) as server, \
            cli("client", f"127.0.0.1:{server.port}", "--cafile", pem_files.ca, "--servername", "localhost",
                "--tls1.2", "--events", events_file) as client:
        client.wait_for_output(r"connected to .*TLSv1\.2")
        for line in ("R", "r"):
            mark = client.mark()
            client.send_line(line)
            client.wait_for_output("RENEGOTIATING", since=mark)
            client.send_line(f"after {line}")
            server.wait_for_output(f"after {line}")
        server.send_line("r")                      # a HelloRequest: the client renegotiates by itself
        time.sleep(0.3)
        server.send_line("after the server's r")
        client.wait_for_output("after the server's r")
        client.send_line("Q")
        assert client.wait(10) == 0
    finished = [(r["initiator"], r["abbreviated"]) for r in event_records(events_file)
                if r["event"] == "RenegotiationFinished"]
    assert finished == [("client", False), ("client", True), ("server", True)]


def test_server_renegotiations_with_s_client(tmp_path):
    events_file = tmp_path / "events.jsonl"
    # Tickets on (the default): s_client answers each HelloRequest by offering its session's ticket, under a
    # session ID it made from the ticket; the server resumes the connection's session from it (RFC 5077).
    with cli("server", "--port", 0, "--tls1.2", "--events", events_file) as server:
        port = int(server.wait_for_output(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        ca = server.wait_for_output(r"test CA certificate: (\S+)").group(1)
        with OpenSSLClient(port, ca=ca, args=["-tls1_2"]) as client:
            client.wait_for_handshake()
            server.wait_for_output("connection 1 from")
            mark = client.mark()
            client.send_line("R")                  # client-initiated: the workbench server accepts it
            client.wait_for_output("RENEGOTIATING", since=mark)
            client.send_line("after R")
            server.wait_for_output("after R")
            mark = server.mark()
            server.send_line("R")                  # HelloRequest
            server.wait_for_output("HelloRequest sent", since=mark)
            server.send_line("from the server")
            client.wait_for_output("from the server")
            client.send_line("after the server's R")
            server.wait_for_output("after the server's R")
            mark = server.mark()
            server.send_line("r")                  # HelloRequest again: resumed from the ticket the last one gave
            server.wait_for_output("HelloRequest sent", since=mark)
            server.send_line("from the server after r")
            client.wait_for_output("from the server after r")
            client.send_line("after the server's r")
            server.wait_for_output("after the server's r")
        server.send_line("Q")
        server.wait(10)
    records = event_records(events_file)
    finished = [(r["initiator"], r["abbreviated"]) for r in records if r["event"] == "RenegotiationFinished"]
    assert finished == [("client", False), ("server", True), ("server", True)]
    assert [r["event"] for r in records if r["event"].startswith("Resumption")] == []     # nothing refused
    issued = [r["ticket"] for r in records if r["event"] == "TicketIssued"]
    hellos = [r["message"] for r in records if r["event"] == "HandshakeMessageReceived"
              and r["message"]["type"] == "ClientHello"]
    assert len(issued) == len(hellos) == 4
    offered = [next((e for e in h["extensions"] if e["type"] == "SessionTicket"), {}).get("ticket") for h in hellos]
    assert offered[2:] == issued[1:3]           # each HelloRequest answered with the latest ticket

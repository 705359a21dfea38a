"""Resumption and 0-RTT with real programs on 127.0.0.1.

- our client resumes against `openssl s_server` and `gnutls-serv`, with and without early data;
- `openssl s_client -sess_out/-sess_in [-early_data]` and `gnutls-cli --resume [--earlydata]`
  resume against our server;
- tshark, capturing on lo, decrypts resumed sessions and their early data with our key log;
- two `tls-workbench server` processes sharing a --ticket-key file resume each other's tickets,
  until the key rotates out (the refusal and its reason are in the second server's event log).
"""
from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.loopback_capture import LoopbackCapture
from workbench.peers import GnuTLSClient, OpenSSLClient, PeerProcess
from workbench.tls import Connection, KeyLogWriter, events
from workbench.tls.enums import SessionFlag
from workbench.tls.session_data import decode
from workbench.tls.tickets import TicketKeyRing
from workbench.transport.blocking import TLSSocket

from .engine_endpoints import IO_TIMEOUT, close_gracefully

pytestmark = pytest.mark.interop

EARLY = b"early data from the engine\n"
REPO = Path(__file__).resolve().parents[2]


# --- our client ----------------------------------------------------------------------------------------

def engine_session(port, config, *, blob=None, early=None, netns=None, on_event=None):
    """Our client connected to 127.0.0.1:port, offering `blob` with `early` as 0-RTT."""
    with netns.entered() if netns is not None else contextlib.nullcontext():
        sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    evs: list = []

    def record(event):
        evs.append(event)
        if on_event is not None:
            on_event(event)
    tls = TLSSocket(sock, Connection(config), on_event=record)
    try:
        if blob is not None:
            tls.connection.set_session_data(blob)
        if early is not None:
            tls.connection.send_early_data(early)
        tls.do_handshake(IO_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    tls.events = evs
    return tls


def wait_for_ticket(tls) -> bytes:
    """TLS 1.3 tickets come after the handshake: read until one arrived; its session data.
    (TLS 1.2 session data exists once the handshake is complete.)"""
    deadline = time.monotonic() + IO_TIMEOUT
    while SessionFlag.SESSION_TICKET not in tls.connection.session_flags():
        assert time.monotonic() < deadline, "no session ticket arrived"
        tls.read_available()
    return tls.connection.session_data()


def kinds(evs, kind):
    return [type(e).__name__ for e in evs if e.kind == kind]


def resume_twice(port, config, *, early=None, netns=None, expect_early=True, on_event=None):
    """A full handshake that collects a ticket, then a resumption (with 0-RTT when `early`)."""
    first = engine_session(port, config, netns=netns, on_event=on_event)
    assert not first.connection.negotiated.resumed
    blob = wait_for_ticket(first)
    close_gracefully(first)
    second = engine_session(port, config, blob=blob, early=early, netns=netns, on_event=on_event)
    assert second.connection.negotiated.resumed
    assert kinds(second.events, "resumption") == ["ResumptionOffered", "ResumptionAccepted"]
    if early is not None:
        if expect_early:
            assert kinds(second.events, "early_data") == ["EarlyDataAccepted"]
            assert SessionFlag.EARLY_DATA in second.connection.session_flags()
        else:
            (rejected,) = [e for e in second.events if isinstance(e, events.EarlyDataRejected)]
            assert rejected.data == early            # handed back, not lost
    return blob, second


def test_our_client_resumes_with_0rtt_against_openssl(interop_pki, peer_servers):
    server = peer_servers.openssl("ecdsa-p256", "-early_data")
    mark = server.mark()
    _, tls = resume_twice(server.port, interop_pki.client_config(), early=EARLY)
    server.wait_for_output(r"^Early data received:", since=mark)
    server.wait_for_output(r"^early data from the engine$", since=mark)
    server.wait_for_output(r"^Reused session-id$", since=mark)
    close_gracefully(tls)


def test_our_client_resumes_against_openssl_that_refuses_0rtt(interop_pki, peer_servers):
    server = peer_servers.openssl("ecdsa-p256")                   # no -early_data: tickets allow none
    first = engine_session(server.port, interop_pki.client_config())
    blob = wait_for_ticket(first)
    close_gracefully(first)
    assert decode(blob).max_early_data == 0
    tls = engine_session(server.port, interop_pki.client_config(), blob=blob)
    assert tls.connection.negotiated.resumed
    close_gracefully(tls)


def test_openssl_rejects_replayed_0rtt_and_the_data_comes_back(interop_pki, peer_servers):
    """A ticket offered twice (reuse policy): with 0-RTT on, OpenSSL's anti-replay makes its tickets
    single use, so the second offer gets a full handshake and the early data comes back to us."""
    server = peer_servers.openssl("ecdsa-p256", "-early_data")
    config = interop_pki.client_config(ticket_reuse=True)
    blob, tls = resume_twice(server.port, config, early=EARLY)
    close_gracefully(tls)
    again = engine_session(server.port, config, blob=blob, early=EARLY)
    (rejected,) = [e for e in again.events if isinstance(e, events.EarlyDataRejected)]
    assert rejected.data == EARLY and not again.connection.negotiated.resumed
    assert "did not resume" in rejected.reason
    close_gracefully(again)


def test_our_client_resumes_with_0rtt_against_gnutls(interop_pki, peer_servers):
    server = peer_servers.gnutls("ecdsa-p256", "--earlydata")
    mark = server.mark()
    _, tls = resume_twice(server.port, interop_pki.client_config(), early=EARLY, netns=peer_servers.netns)
    server.wait_for_output(r"^\*\*\* This is a resumed session", since=mark)
    tls.sendall(b"after the early data\n")          # gnutls-serv --echo answers 1-RTT data (not early data)
    assert tls.recv() == b"after the early data\n"
    close_gracefully(tls)


def test_our_client_resumes_against_gnutls_without_0rtt(interop_pki, peer_servers):
    server = peer_servers.gnutls("ecdsa-p256")                    # no --earlydata: its tickets allow none
    first = engine_session(server.port, interop_pki.client_config(), netns=peer_servers.netns)
    blob = wait_for_ticket(first)
    close_gracefully(first)
    assert decode(blob).max_early_data == 0
    tls = engine_session(server.port, interop_pki.client_config(), blob=blob, netns=peer_servers.netns)
    assert tls.connection.negotiated.resumed
    close_gracefully(tls)


# --- peer clients against our server -------------------------------------------------------------------

def openssl_session(launch, port, pki, *args) -> OpenSSLClient:
    client = launch(OpenSSLClient(port, ca=pki.ca_pem, args=["-tls1_3", *args]))
    return client


def finish(client, line: str) -> None:
    """Send a line, wait for its echo (the tickets came before it), then end the client."""
    mark = client.mark()
    client.send_line(line)
    client.wait_for_output(f"^{line}$", since=mark)
    client.close_stdin()
    client.wait(IO_TIMEOUT)


def test_openssl_client_resumes_with_0rtt_against_our_server(interop_pki, engine_server, launch, tmp_path):
    ours = engine_server(interop_pki.server_config(max_early_data=16384))
    session = tmp_path / "sess.pem"
    early = tmp_path / "early.txt"
    early.write_bytes(b"early from openssl\n")
    first = openssl_session(launch, ours.port, interop_pki, "-sess_out", str(session))
    assert not first.wait_for_handshake().resumed
    finish(first, "first")
    assert not ours.next_connection().handshake.resumed
    second = openssl_session(launch, ours.port, interop_pki, "-sess_in", str(session), "-early_data", str(early))
    assert second.wait_for_handshake().resumed
    second.wait_for_output(r"^Early data was accepted$")
    finish(second, "second")
    served = ours.next_connection()
    assert served.handshake.resumed and served.received.startswith(b"early from openssl\n")
    assert kinds(served.events, "early_data") == ["EarlyDataAccepted"]
    assert [e.epoch for e in served.events if isinstance(e, events.ApplicationData)][0] == "early"


def test_gnutls_client_resumes_with_0rtt_against_our_server(interop_pki, engine_server, launch, tmp_path):
    ours = engine_server(interop_pki.server_config(max_early_data=16384))
    early = tmp_path / "early.txt"
    early.write_bytes(b"early from gnutls\n")
    client = launch(GnuTLSClient(ours.port, ca=interop_pki.ca_pem, inline_commands=False,
                                 args=["--resume", f"--earlydata={early}"]))
    client.close_stdin()
    client.wait_for_output(r"^\*\*\* This is a resumed session")
    client.wait(IO_TIMEOUT)
    first, second = ours.next_connection(), ours.next_connection()
    assert not first.handshake.resumed and kinds(first.events, "ticket") == ["TicketIssued", "TicketIssued"]
    assert second.handshake.resumed and kinds(second.events, "early_data") == ["EarlyDataAccepted"]
    assert second.received == b"early from gnutls\n"


def test_gnutls_client_resumes_against_our_server_without_0rtt(interop_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config(ticket_count=1))
    client = launch(GnuTLSClient(ours.port, ca=interop_pki.ca_pem, inline_commands=False, args=["--resume"]))
    client.close_stdin()
    client.wait_for_output(r"^\*\*\* This is a resumed session")
    client.wait(IO_TIMEOUT)
    assert not ours.next_connection().handshake.resumed
    served = ours.next_connection()
    assert served.handshake.resumed and served.connection.session_flags() & SessionFlag.RESUMED


# --- TLS 1.2: session IDs and RFC 5077 tickets, both ways ----------------------------------------------

TLS12 = 0x0303
GNUTLS_TLS12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
TICKET_OR_ID = pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session-id"])


def resume12(port, config, netns=None):
    first = engine_session(port, config, netns=netns)
    assert first.connection.version == TLS12 and not first.connection.negotiated.resumed
    blob = first.connection.session_data()
    close_gracefully(first)
    second = engine_session(port, config, blob=blob, netns=netns)
    assert second.connection.negotiated.resumed
    assert kinds(second.events, "resumption") == ["ResumptionOffered", "ResumptionAccepted"]
    close_gracefully(second)
    return decode(blob)


@TICKET_OR_ID
def test_our_tls12_client_resumes_against_openssl(interop_pki, peer_servers, tickets):
    server = peer_servers.openssl("ecdsa-p256", "-tls1_2")
    session = resume12(server.port, interop_pki.client_config(versions=(TLS12,), session_ticket_extension=tickets))
    assert bool(session.ticket) == tickets and session.extended_master_secret


@TICKET_OR_ID
def test_our_tls12_client_resumes_against_gnutls(interop_pki, peer_servers, tickets):
    server = peer_servers.gnutls("ecdsa-p256", "--priority", GNUTLS_TLS12)
    session = resume12(server.port, interop_pki.client_config(versions=(TLS12,), session_ticket_extension=tickets),
                       netns=peer_servers.netns)
    assert bool(session.ticket) == tickets


@TICKET_OR_ID
def test_openssl_tls12_client_resumes_against_our_server(interop_pki, engine_server, launch, tmp_path, tickets):
    ours = engine_server(interop_pki.server_config(versions=(0x0304, TLS12)))
    session = tmp_path / "sess.pem"
    extra = [] if tickets else ["-no_ticket"]
    first = launch(OpenSSLClient(ours.port, ca=interop_pki.ca_pem, args=["-tls1_2", "-sess_out", str(session), *extra]))
    assert first.wait_for_handshake().version == "1.2"
    finish(first, "first")
    second = launch(OpenSSLClient(ours.port, ca=interop_pki.ca_pem, args=["-tls1_2", "-sess_in", str(session), *extra]))
    assert second.wait_for_handshake().resumed
    finish(second, "second")
    full, resumed = ours.next_connection(), ours.next_connection()
    assert kinds(full.events, "ticket") == (["TicketIssued"] if tickets else [])
    assert resumed.handshake.resumed and resumed.connection.version == TLS12
    (accepted,) = [e for e in resumed.events if isinstance(e, events.ResumptionAccepted)]
    assert accepted.version == TLS12


@TICKET_OR_ID
def test_gnutls_tls12_client_resumes_against_our_server(interop_pki, engine_server, launch, tickets):
    # gnutls-cli asks for TLS 1.2 tickets even with --noticket: our server issuing none makes it use the session ID.
    ours = engine_server(interop_pki.server_config(versions=(0x0304, TLS12), ticket_count=2 if tickets else 0))
    client = launch(GnuTLSClient(ours.port, ca=interop_pki.ca_pem, inline_commands=False,
                                 args=["--resume", "--priority", GNUTLS_TLS12]))
    client.close_stdin()
    client.wait_for_output(r"^\*\*\* This is a resumed session")
    client.wait(IO_TIMEOUT)
    full, resumed = ours.next_connection(), ours.next_connection()
    assert full.connection.version == TLS12 and resumed.handshake.resumed
    (accepted,) = [e for e in resumed.events if isinstance(e, events.ResumptionAccepted)]
    issued = [e.ticket for e in full.events if isinstance(e, events.TicketIssued)]
    assert accepted.ticket == (issued[0] if tickets else full.connection.negotiated.session_id)


# --- tshark decrypts resumed sessions and early data from our key log ---------------------------------

def tshark_rows(capture: Path, keylog: Path, port: int) -> list[list[str]]:
    """Every TLS record of the capture, decrypted with `keylog`: source port, content types, handshake types,
    application data (hex)."""
    out = subprocess.run(["tshark", "-r", str(capture), "-o", f"tls.keylog_file:{keylog}",
                          "-d", f"tcp.port=={port},tls", "-Y", "tls", "-T", "fields", "-E", "separator=|",
                          "-e", "tcp.srcport", "-e", "tls.record.content_type", "-e", "tls.handshake.type",
                          "-e", "data.data"], capture_output=True, text=True, timeout=60, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


def handshake_types(rows) -> list[str]:
    return [t for row in rows for t in row[2].split(",") if t]


def decrypted(rows) -> list[bytes]:
    # one value per record; a frame carrying several records lists them comma-separated
    return [bytes.fromhex(value.replace(":", "")) for row in rows for value in row[3].split(",") if value]


@pytest.mark.usefixtures("requires_capture")
def test_tshark_decrypts_our_clients_resumed_tls12_session(interop_pki, peer_servers, tmp_path):
    server = peer_servers.openssl("ecdsa-p256", "-tls1_2")
    keylog = tmp_path / "client12-keys.txt"
    config = interop_pki.client_config(versions=(TLS12,), session_ticket_extension=True)
    with LoopbackCapture(server.port, tmp_path / "client12.pcapng") as capture, open(keylog, "w") as handle:
        writer = KeyLogWriter(handle)
        first = engine_session(server.port, config, on_event=writer)
        blob = first.connection.session_data()
        close_gracefully(first)
        second = engine_session(server.port, config, blob=blob, on_event=writer)
        assert second.connection.negotiated.resumed
        second.sendall(b"resumed by ticket\n")
        close_gracefully(second)
        capture.flush()
    rows = tshark_rows(capture.path, keylog, server.port)
    types = handshake_types(rows)
    assert types.count("1") == 2 and types.count("11") == 1 and types.count("4") >= 1
    assert b"resumed by ticket\n" in decrypted(rows)


@pytest.mark.usefixtures("requires_capture")
def test_tshark_decrypts_our_clients_resumed_0rtt_session(interop_pki, peer_servers, tmp_path):
    server = peer_servers.openssl("ecdsa-p256", "-early_data")
    keylog = tmp_path / "client-keys.txt"
    with LoopbackCapture(server.port, tmp_path / "client.pcapng") as capture, open(keylog, "w") as handle:
        writer = KeyLogWriter(handle)
        _, tls = resume_twice(server.port, interop_pki.client_config(), early=EARLY, on_event=writer)
        tls.sendall(b"one round trip later\n")
        close_gracefully(tls)
        capture.flush()
    rows = tshark_rows(capture.path, keylog, server.port)
    types = handshake_types(rows)
    assert types.count("1") == 2 and "5" in types and types.count("4") >= 2   # two ClientHellos, EOED, tickets
    assert types.count("11") == 1                     # one Certificate: the second handshake was resumed
    data = decrypted(rows)
    assert EARLY in data and b"one round trip later\n" in data
    assert "CLIENT_EARLY_TRAFFIC_SECRET" in keylog.read_text()


@pytest.mark.usefixtures("requires_capture")
def test_tshark_decrypts_openssl_0rtt_to_our_server(interop_pki, engine_server, launch, tmp_path):
    keylog = tmp_path / "server-keys.txt"
    ours = engine_server(interop_pki.server_config(max_early_data=16384))
    with LoopbackCapture(ours.port, tmp_path / "server.pcapng") as capture, open(keylog, "w") as handle:
        writer = KeyLogWriter(handle)
        session, early = tmp_path / "sess.pem", tmp_path / "early.txt"
        early.write_bytes(b"early to the engine\n")
        first = openssl_session(launch, ours.port, interop_pki, "-sess_out", str(session))
        first.wait_for_handshake()
        finish(first, "first")
        second = openssl_session(launch, ours.port, interop_pki, "-sess_in", str(session), "-early_data", str(early))
        second.wait_for_handshake()
        finish(second, "second")
        for served in (ours.next_connection(), ours.next_connection()):
            for event in served.events:
                writer(event)
        capture.flush()
    rows = tshark_rows(capture.path, keylog, ours.port)
    assert "5" in handshake_types(rows) and handshake_types(rows).count("11") == 1
    assert b"early to the engine\n" in decrypted(rows) and b"second\n" in decrypted(rows)


# --- two server processes, one ticket key file ----------------------------------------------------------

def cli_server(launch, tmp_path, name: str, key_file: Path, *extra: str) -> tuple[PeerProcess, int, Path, Path]:
    """`tls-workbench server` (echo) in its own process: the process, its port, its test CA, its event log."""
    event_log = tmp_path / f"{name}-events.jsonl"
    server = launch(PeerProcess([sys.executable, "-m", "workbench.cli", "server", "--port", "0", "--echo",
                                 "--ticket-key", str(key_file), "--events", str(event_log), *extra],
                                cwd=str(REPO), lifetime=60))
    match = server.wait_for_output(r"listening on 127\.0\.0\.1:(\d+)", IO_TIMEOUT)
    ca = server.wait_for_output(r"test CA certificate: (\S+)", IO_TIMEOUT)
    return server, int(match.group(1)), Path(ca.group(1)), event_log


def cli_client_config(ca: Path, **overrides):
    from cryptography import x509
    from workbench.tls import ClientConfig
    anchors = tuple(x509.load_pem_x509_certificates(ca.read_bytes()))
    return ClientConfig(server_name="localhost", trust_anchors=anchors, **overrides)


def logged(event_log: Path, name: str) -> list[dict]:
    lines = [json.loads(line) for line in event_log.read_text().splitlines() if line.strip()]
    return [e for e in lines if e.get("event") == name]


def test_a_ticket_from_one_server_process_resumes_on_another_until_its_key_rotates_out(launch, tmp_path):
    key_file = tmp_path / "ticket.keys"
    TicketKeyRing.generate(rotation_interval=2, grace_period=1).save(key_file)
    issuer, issuer_port, issuer_ca, _ = cli_server(launch, tmp_path, "issuer", key_file)
    other, other_port, other_ca, other_log = cli_server(launch, tmp_path, "other", key_file)
    # Each server made its own test CA: the resumed session never shows a certificate, the full one does.
    first = engine_session(issuer_port, cli_client_config(issuer_ca))
    blob = wait_for_ticket(first)
    close_gracefully(first)
    config = cli_client_config(other_ca, ticket_reuse=True)
    resumed = engine_session(other_port, config, blob=blob)
    assert resumed.connection.negotiated.resumed
    close_gracefully(resumed)
    time.sleep(3.2)                             # past the next rotation and its one-second grace period
    full = engine_session(other_port, config, blob=blob)
    assert not full.connection.negotiated.resumed
    close_gracefully(full)
    deadline = time.monotonic() + IO_TIMEOUT
    while not logged(other_log, "ResumptionRefused") and time.monotonic() < deadline:
        time.sleep(0.1)
    (refused,) = logged(other_log, "ResumptionRefused")
    assert "rotated out" in refused["reason"]
    assert len(logged(other_log, "ResumptionAccepted")) == 1


def cli_client(launch, port: int, ca: Path, *args: str) -> PeerProcess:
    return launch(PeerProcess([sys.executable, "-m", "workbench.cli", "client", f"127.0.0.1:{port}",
                               "--servername", "localhost", "--cafile", str(ca), "--wait", "0.5", *args],
                              cwd=str(REPO), lifetime=60))


def test_cli_sess_out_sess_in_early_data_and_the_ticket_command(launch, tmp_path):
    server, port, ca, _ = cli_server(launch, tmp_path, "cli", tmp_path / "keys", "--tickets", "1",
                                     "--early-data", "1000")
    saved, early = tmp_path / "session.bin", tmp_path / "early.txt"
    early.write_bytes(b"zero round trip\n")
    first = cli_client(launch, port, ca, "--sess-out", str(saved))
    first.send_line("hello")
    first.wait_for_output(r"^hello$")
    before = saved.read_bytes()
    assert decode(before).max_early_data == 1000
    server.send_line("t")                                  # one more ticket: --sess-out is rewritten
    server.wait_for_output(r"^session ticket sent$")
    deadline = time.monotonic() + IO_TIMEOUT
    while saved.read_bytes() == before:
        assert time.monotonic() < deadline, "--sess-out was not rewritten with the new ticket"
        time.sleep(0.05)
    assert decode(saved.read_bytes()).nonce == b"\x00\x01"
    first.close_stdin()
    first.wait(IO_TIMEOUT)
    second = cli_client(launch, port, ca, "--sess-in", str(saved), "--early-data", str(early))
    second.wait_for_output(r"^early data accepted: 16 bytes$")
    second.wait_for_output(r"^connected to .*, resumed$")
    second.wait_for_output(r"^zero round trip$")           # the echo server answers the early data
    second.close_stdin()
    assert second.wait(IO_TIMEOUT) == 0

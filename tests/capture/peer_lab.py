"""Test helper: OpenSSL and GnuTLS programs talking to each other inside a private network namespace while a
LiveCapture sniffs its loopback, then the capture saved as pcapng (key log in a Decryption Secrets Block) and
compared with tshark.

Each scenario is a function (lab) -> None that starts a server with `lab.openssl_server()` or
`lab.gnutls_server()` (the capture starts as soon as the server's port is known), then drives clients made with
`lab.openssl_client()` / `lab.gnutls_client()`. Every program is stopped by its PID when the scenario ends, even
when it fails.

Interactive programs read their commands with one read(): a command line and the line after it sent together
are taken as one buffer and the second is lost. So after each command the scenario waits for its effect: the
program's own output where it prints one (s_client prints KEYUPDATE on stdout, gnutls-cli "Rekey was
completed"), and otherwise the record the command produced as the live capture decodes it (s_server's printf
output sits in a stdio buffer while stdout is a pipe).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.capture.live import LiveCapture
from workbench.peers import GnuTLSClient, GnuTLSServer, OpenSSLClient, OpenSSLServer

KEY_UPDATE, HELLO_REQUEST, CLIENT_HELLO = 24, 0, 1
TLS12_ONLY = ["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"]


@dataclass
class PeerLab:
    netns: object
    pem: object                     # tests/conftest.py PemFiles: ca, cert, key
    workdir: Path
    capture: LiveCapture | None = None
    port: int | None = None
    processes: list = field(default_factory=list)
    keylogs: list[Path] = field(default_factory=list)

    # -- programs -----------------------------------------------------------------------------------------
    def _keylog(self, who: str) -> Path:
        path = self.workdir / f"{who}-{len(self.keylogs)}.keys"
        self.keylogs.append(path)
        if self.capture is not None:
            self.capture.follow_keylog(path)
        return path

    def _started(self, process):
        self.processes.append(process)
        process.start()
        return process

    def _capture_port(self, port: int) -> None:
        self.port = port
        # settle: a loaded machine may take a while to write a key log line; the live view must not miss one
        self.capture = LiveCapture(port, method="sniffer", netns=self.netns, keylog=list(self.keylogs),
                                   settle=0.3).start()

    def openssl_server(self, *args: str) -> OpenSSLServer:
        server = self._started(OpenSSLServer(self.pem.cert, self.pem.key, netns=self.netns, args=list(args),
                                             keylog=self._keylog("s_server")))
        self._capture_port(server.port)
        return server

    def gnutls_server(self, *args: str) -> GnuTLSServer:
        server = self._started(GnuTLSServer(self.pem.cert, self.pem.key, netns=self.netns, args=list(args),
                                            keylog=self._keylog("gnutls-serv")))
        self._capture_port(server.port)
        return server

    def openssl_client(self, *args: str) -> OpenSSLClient:
        return self._started(OpenSSLClient(self.port, ca=self.pem.ca, netns=self.netns, args=list(args),
                                           keylog=self._keylog("s_client")))

    def gnutls_client(self, *args: str) -> GnuTLSClient:
        return self._started(GnuTLSClient(self.port, ca=self.pem.ca, netns=self.netns, args=list(args),
                                          keylog=self._keylog("gnutls-cli")))

    # -- waiting on the wire ------------------------------------------------------------------------------
    def wait_for_messages(self, direction: str, handshake_type: int, count: int, timeout: float = 10.0) -> None:
        """Until the capture has decoded `count` handshake messages of this type sent by `direction`."""
        def enough(records):
            return sum(r.handshake.count(handshake_type) for r in records if r.direction == direction) >= count
        if not self.capture.wait_for(enough, timeout):
            seen = [(r.frame, r.direction, r.content_type, r.handshake) for r in self.capture.records]
            raise AssertionError(f"no {count} handshake messages of type {handshake_type} from the {direction} "
                                 f"within {timeout} s; decoded so far: {seen}")

    # -- the end ------------------------------------------------------------------------------------------
    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.capture is not None:
            self.capture.stop()


# -- scenarios --------------------------------------------------------------------------------------------

def tls13_tickets_and_resumption(lab: PeerLab) -> None:
    """s_client -> gnutls-serv: tickets on the first connection, the second resumes with one."""
    lab.gnutls_server()
    session = lab.workdir / "session.pem"
    first = lab.openssl_client("-tls1_3", "-sess_out", str(session))
    first.wait_for_handshake()
    first.send_line("first connection")
    first.wait_for_output("^first connection$")        # the echo comes after the tickets
    first.stop()
    second = lab.openssl_client("-tls1_3", "-sess_in", str(session))
    assert second.wait_for_handshake().resumed
    second.send_line("resumed")
    second.wait_for_output("^resumed$")


def tls12_ticket_resumption(lab: PeerLab) -> None:
    """gnutls-cli --resume -> s_server (TLS 1.2): an RFC 5077 ticket, then an abbreviated handshake."""
    server = lab.openssl_server("-tls1_2")
    client = lab.gnutls_client("--resume", *TLS12_ONLY)
    client.wait_for_output("^- Resume Handshake was completed")
    assert "This is a resumed session" in client.output
    client.send_line("resumed")
    server.wait_for_output("^resumed$")


def tls13_key_updates_from_openssl_client(lab: PeerLab) -> None:
    """s_client K (update requested: gnutls-serv answers with its own) then k (not requested)."""
    lab.gnutls_server()
    client = lab.openssl_client("-tls1_3")
    client.wait_for_handshake()
    client.send_line("before")
    client.wait_for_output("^before$")
    for command, echo in (("K", "after K"), ("k", "after k")):
        mark = client.mark()
        client.send_line(command)
        client.wait_for_output("^KEYUPDATE$", since=mark)
        client.send_line(echo)
        client.wait_for_output(f"^{echo}$", since=mark)


def tls13_key_updates_from_gnutls_client(lab: PeerLab) -> None:
    """gnutls-cli ^rekey^ (requests s_server's update too), then s_server k and K (requests gnutls-cli's)."""
    server = lab.openssl_server("-tls1_3")
    client = lab.gnutls_client()
    client.wait_for_handshake()
    client.send_line("before")
    server.wait_for_output("^before$")
    mark = client.mark()
    client.send_line("^rekey^")
    client.wait_for_output("Rekey was completed", since=mark)
    client.send_line("after rekey")
    server.wait_for_output("^after rekey$")
    # s_server owes an update since the request; it goes out with the next thing it writes, here its own "k"
    server.send_line("k")
    lab.wait_for_messages("server", KEY_UPDATE, 1)
    server.send_line("after k")
    client.wait_for_output("^after k$")
    server.send_line("K")
    lab.wait_for_messages("server", KEY_UPDATE, 2)
    server.send_line("after K")
    client.wait_for_output("^after K$")
    client.send_line("answered")                        # gnutls-cli's own update goes out with it
    server.wait_for_output("^answered$")
    lab.wait_for_messages("client", KEY_UPDATE, 2)


def tls12_client_initiated_renegotiation(lab: PeerLab) -> None:
    """gnutls-cli ^renegotiate^ -> s_server -client_renegotiation: a second full handshake under encryption."""
    server = lab.openssl_server("-tls1_2", "-client_renegotiation")
    client = lab.gnutls_client(*TLS12_ONLY)
    client.wait_for_handshake()
    client.send_line("before")
    server.wait_for_output("^before$")
    mark = client.mark()
    client.send_line("^renegotiate^")
    client.wait_for_output("^- ReHandshake was completed", since=mark)
    client.send_line("after")
    server.wait_for_output("^after$")


def tls12_server_initiated_renegotiation(lab: PeerLab) -> None:
    """s_server r (HelloRequest) -> gnutls-cli answers with a new ClientHello."""
    server = lab.openssl_server("-tls1_2")
    client = lab.gnutls_client(*TLS12_ONLY)
    client.wait_for_handshake()
    client.send_line("before")
    server.wait_for_output("^before$")
    mark = client.mark()
    server.send_line("r")
    client.wait_for_output("Rehandshake was performed", since=mark)
    server.send_line("after")
    client.wait_for_output("^after$", since=mark)


CLIENT_PADDING, SERVER_PADDING = 512, 256


def tls13_record_padding_from_openssl_client(lab: PeerLab) -> None:
    """s_client -record_padding 512 -> gnutls-serv: every protected client record is a multiple of 512."""
    lab.gnutls_server()
    client = lab.openssl_client("-tls1_3", "-record_padding", str(CLIENT_PADDING))
    client.wait_for_handshake()
    client.send_line("padded")
    client.wait_for_output("^padded$")


def tls13_record_padding_from_openssl_server(lab: PeerLab) -> None:
    """gnutls-cli -> s_server -record_padding 256."""
    server = lab.openssl_server("-tls1_3", "-record_padding", str(SERVER_PADDING))
    client = lab.gnutls_client()
    client.wait_for_handshake()
    client.send_line("to the server")
    server.wait_for_output("^to the server$")
    server.send_line("padded reply")
    client.wait_for_output("^padded reply$")


EARLY_TEXT = "early data, sent before the handshake completes\n"


def tls13_early_data_to_gnutls(lab: PeerLab) -> None:
    """s_client -early_data (resuming a ticket) -> gnutls-serv --earlydata."""
    lab.gnutls_server("--earlydata")
    session, early = lab.workdir / "session.pem", lab.workdir / "early.txt"
    early.write_text(EARLY_TEXT)
    first = lab.openssl_client("-tls1_3", "-sess_out", str(session))
    first.wait_for_handshake()
    first.send_line("first connection")
    first.wait_for_output("^first connection$")
    first.stop()
    second = lab.openssl_client("-tls1_3", "-sess_in", str(session), "-early_data", str(early))
    assert second.wait_for_handshake().resumed
    second.send_line("after early data")
    second.wait_for_output("^after early data$")
    assert "Early data was accepted" in second.output


def tls13_early_data_to_openssl(lab: PeerLab) -> None:
    """gnutls-cli --resume --earlydata -> s_server -early_data."""
    server = lab.openssl_server("-tls1_3", "-early_data")
    early = lab.workdir / "early.txt"
    early.write_text(EARLY_TEXT)
    client = lab.gnutls_client("--resume", "--earlydata", str(early))
    client.wait_for_output("^- Resume Handshake was completed")
    client.send_line("after early data")
    server.wait_for_output("^after early data$")

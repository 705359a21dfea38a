"""tshark decrypts a session between our client and our server, captured on lo, with the key log
our side wrote: it sees the Finished messages and the application data, plaintext exact.

One session is captured for the module (real sockets, a fixed free port, `tshark -i lo` stopped
with SIGINT); each test reads the capture with one key log: the client's, the server's, none.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from workbench.peers import PeerProcess, free_port
from workbench.tls import KeyLogWriter, events_to_keylog
from workbench.tls.enums import ContentType, HandshakeType

from workbench.transport.blocking import listen

from .engine_endpoints import EngineServer, close_gracefully, engine_connect

pytestmark = [pytest.mark.interop, pytest.mark.capture]

# Plain text no heuristic dissector claims (an HTTP request would be shown as HTTP, not as data).
CLIENT_MESSAGES = (b"the client's first plaintext", b"and its second record \x00\x01\x02\xff")
SERVER_PREFIX = b"the server read: "
HT = HandshakeType
CAPTURE_TIMEOUT = 15.0


def why_no_capture() -> str | None:
    missing = [p for p in ("tshark", "dumpcap") if shutil.which(p) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install tshark)"
    if os.geteuid() != 0:
        return "capturing on lo needs root (or CAP_NET_RAW for dumpcap)"
    return None


class LoopbackCapture:
    """`tshark -i lo` writing the packets of one TCP port to a pcapng file; bounded in time.

    dumpcap hands packets to the file in blocks, up to a second late, and drops what it has not
    written when it is interrupted: `flush()` waits until everything sent so far is in the file.
    """

    def __init__(self, port: int, path: Path):
        self.port = port
        self.path = path
        self.process = PeerProcess(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)],
                                   lifetime=60)

    def __enter__(self) -> LoopbackCapture:
        self.process.start()
        # "Capturing on 'Loopback: lo'" comes before dumpcap is ready; this message comes after.
        self.process.wait_for_output("Capture started", CAPTURE_TIMEOUT, stream="stderr")
        return self

    def flush(self) -> None:
        """Send a marker over a throwaway TCP connection on the port (tcp.stream 1 and later), and
        wait until it is in the file: the packets before it are there too."""
        marker = b"end of capture " + os.urandom(8).hex().encode()
        with listen("127.0.0.1", self.port) as listener:
            with socket.create_connection(("127.0.0.1", self.port), timeout=CAPTURE_TIMEOUT) as sender:
                receiver, _ = listener.accept()
                with receiver:
                    sender.sendall(marker)
                    receiver.recv(len(marker))
        deadline = time.monotonic() + CAPTURE_TIMEOUT
        while marker not in self.path.read_bytes():
            if time.monotonic() > deadline:
                raise AssertionError(f"tshark wrote no packet of the marker connection in {CAPTURE_TIMEOUT} s")
            time.sleep(0.05)

    def __exit__(self, *exc_info: object) -> None:
        if self.process.running:
            os.kill(self.process.pid, signal.SIGINT)     # tshark stops dumpcap and closes the file
            self.process.wait(CAPTURE_TIMEOUT)
        self.process.stop()


@dataclass
class Session:
    port: int
    capture: Path
    client_keylog: Path
    server_keylog: Path
    server_sent: bytes = b""


@pytest.fixture(scope="module")
def captured(interop_pki, tmp_path_factory) -> Session:
    reason = why_no_capture()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("tshark")
    session = Session(free_port(), directory / "session.pcapng", directory / "client.keys", directory / "server.keys")
    replies = []

    def reply(data: bytes) -> bytes:
        replies.append(SERVER_PREFIX + data)
        return replies[-1]

    with LoopbackCapture(session.port, session.capture) as capture:
        with EngineServer(interop_pki.server_config(), port=session.port, reply=reply) as ours:
            with open(session.client_keylog, "w") as keylog:
                tls = engine_connect(session.port, interop_pki.client_config(), on_event=KeyLogWriter(keylog))
                for message in CLIENT_MESSAGES:
                    tls.sendall(message)
                    expected = SERVER_PREFIX + message
                    got = b""
                    while len(got) < len(expected):
                        got += tls.recv()
                    assert got == expected
                assert close_gracefully(tls) == b""
            served = ours.next_connection()
            assert served.error is None
            session.server_keylog.write_text(events_to_keylog(served.events))
        capture.flush()
    session.server_sent = b"".join(replies)
    return session


@dataclass
class Direction:
    handshake_types: list[int] = field(default_factory=list)
    content_types: list[int] = field(default_factory=list)
    application_data: bytes = b""


def tshark_read(session: Session, keylog: Path | None) -> dict[str, Direction]:
    """What tshark shows of the TLS session (tcp.stream 0) per direction ("client", "server": the sender)."""
    argv = ["tshark", "-n", "-r", str(session.capture), "-d", f"tcp.port=={session.port},tls"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    argv += ["-Y", "tls && tcp.stream == 0", "-T", "fields", "-e", "tcp.srcport", "-e", "tls.record.content_type",
             "-e", "tls.handshake.type", "-e", "data.data"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    seen = {"client": Direction(), "server": Direction()}
    for line in result.stdout.splitlines():
        source, content_types, handshake_types, data = (line.split("\t") + [""] * 4)[:4]
        direction = seen["server" if int(source) == session.port else "client"]
        direction.content_types += [int(v) for v in content_types.split(",") if v]
        direction.handshake_types += [int(v) for v in handshake_types.split(",") if v]
        direction.application_data += bytes.fromhex(data.replace(",", "").replace(":", ""))
    return seen


@pytest.mark.parametrize("side", ["client", "server"])
def test_tshark_decrypts_with_our_key_log(captured, side):
    keylog = captured.client_keylog if side == "client" else captured.server_keylog
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
    seen = tshark_read(captured, keylog)
    client, server = seen["client"], seen["server"]
    assert client.handshake_types == [HT.CLIENT_HELLO, HT.FINISHED]
    flight = [HT.SERVER_HELLO, HT.ENCRYPTED_EXTENSIONS, HT.CERTIFICATE, HT.CERTIFICATE_VERIFY, HT.FINISHED]
    assert server.handshake_types[:5] == flight
    assert set(server.handshake_types[5:]) <= {HT.NEW_SESSION_TICKET}         # tickets, if the server sends any
    assert client.application_data == b"".join(CLIENT_MESSAGES)
    assert server.application_data == captured.server_sent
    for direction in (client, server):
        assert ContentType.APPLICATION_DATA in direction.content_types
        assert direction.content_types[-1] == ContentType.ALERT               # close_notify, decrypted


def test_without_the_key_log_tshark_sees_only_ciphertext(captured):
    seen = tshark_read(captured, None)
    assert seen["client"].handshake_types == [HT.CLIENT_HELLO]
    assert seen["server"].handshake_types == [HT.SERVER_HELLO]
    for direction in seen.values():
        assert direction.application_data == b""
        assert ContentType.ALERT not in direction.content_types             # the alerts are encrypted too

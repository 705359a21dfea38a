"""Helpers of the KeyUpdate, TLS 1.2 and renegotiation interop tests.

- `EngineEnd`: our side of a connection, driven from the test's own thread, so that nothing races
  the engine while the test calls key_update() / renegotiate() on it: reads happen only when
  the test waits for something (`read_until`, `finish_renegotiation`).
- `accept_engine` / `connect_engine`: our server or client on 127.0.0.1 (a client may connect
  from inside a private network namespace, where gnutls-serv listens).
- `LoopbackCapture` and `tshark_session`: `tshark -i lo` around a session, and what tshark then
  shows of it, decrypted with a key log.
- `command`: type a command line to an OpenSSL / GnuTLS program and wait until it has acted on
  it (both read standard input in chunks: a command and the next line must not share one).
"""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.peers import PeerProcess, PrivateNetwork
from workbench.tls import ClientConfig, Connection, ServerConfig, events
from workbench.transport.blocking import TLSSocket, listen

IO_TIMEOUT = 10.0
CAPTURE_TIMEOUT = 15.0


class EngineEnd:
    """Our end of a connection: the TLSSocket, every engine event, and what the peer sent."""

    def __init__(self, tls: TLSSocket, event_list: list):
        self.tls = tls
        self.events = event_list
        self.received = b""

    @property
    def connection(self) -> Connection:
        return self.tls.connection

    def call(self, method: str, *args):
        """An engine method (key_update, renegotiate, ...), then do_handshake: the work goes out now."""
        result = self.tls.call(method, *args)
        self.tls.call("do_handshake")
        return result

    def send(self, data: bytes) -> None:
        self.tls.sendall(data)

    def read_until(self, needle: bytes, timeout: float = IO_TIMEOUT) -> bytes:
        """Read until `needle` has arrived; returns everything received so far."""
        deadline = time.monotonic() + timeout
        while needle not in self.received:
            self._read_once(deadline, f"{needle!r}")
        return self.received

    def read_until_event(self, event_type: type, count: int = 1, timeout: float = IO_TIMEOUT) -> list:
        deadline = time.monotonic() + timeout
        while len(self.of_type(event_type)) < count:
            self._read_once(deadline, f"{count} {event_type.__name__}")
        return self.of_type(event_type)

    def finish_renegotiation(self, timeout: float = IO_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.connection.renegotiating:
            self._read_once(deadline, "the end of the renegotiation")

    def of_type(self, event_type: type) -> list:
        return [e for e in self.events if isinstance(e, event_type)]

    def _read_once(self, deadline: float, what: str) -> None:
        if self.tls.at_eof:
            raise AssertionError(f"the connection ended before {what} arrived; received {self.received!r}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{what} did not arrive within the time limit; received {self.received!r}")
        if not self.tls.pending():
            readable, _, _ = select.select([self.tls], [], [], remaining)
            if not readable:
                return
        self.received += self.tls.read_available()

    def close(self) -> None:
        self.tls.close()


def connect_engine(port: int, config: ClientConfig, *, netns: PrivateNetwork | None = None,
                   on_event=None) -> EngineEnd:
    """Our client, handshake done; `on_event` also sees every event (a KeyLogWriter, say)."""
    if netns is not None:
        with netns.entered():
            sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    else:
        sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    event_list: list = []
    try:
        tls = TLSSocket(sock, Connection(config), on_event=event_list.append)
        if on_event is not None:
            tls.add_listener(on_event)
        tls.do_handshake(IO_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    return EngineEnd(tls, event_list)


def accept_engine(listener: socket.socket, config: ServerConfig, timeout: float = IO_TIMEOUT,
                  on_event=None) -> EngineEnd:
    """Our server: accept one connection on `listener` and complete the handshake."""
    listener.settimeout(timeout)
    sock, _ = listener.accept()
    sock.settimeout(timeout)
    event_list: list = []
    try:
        tls = TLSSocket(sock, Connection(config), on_event=event_list.append)
        if on_event is not None:
            tls.add_listener(on_event)
        tls.do_handshake(timeout)
    except BaseException:
        sock.close()
        raise
    return EngineEnd(tls, event_list)


def engine_listener() -> tuple[socket.socket, int]:
    sock = listen("127.0.0.1", 0)
    return sock, sock.getsockname()[1]


def command(peer: PeerProcess, line: str, acted: str, timeout: float = IO_TIMEOUT) -> None:
    """Type `line` and wait for the program to print `acted` (a regular expression) after it, on an
    unbuffered stream: s_client's KEYUPDATE / RENEGOTIATING (stderr), gnutls-cli's notices. s_server
    reports its commands through buffered stdout: wait for their effect on our side instead."""
    mark = peer.mark()
    peer.send_line(line)
    peer.wait_for_output(acted, timeout, since=mark)


def says(peer: PeerProcess, line: str, expect: str | None = None, timeout: float = IO_TIMEOUT) -> None:
    """Type a data line and wait until the program printed `expect` (the line itself by default) again."""
    mark = peer.mark()
    peer.send_line(line)
    if expect is not None:
        peer.wait_for_output(re.escape(expect), timeout, since=mark)


def data_events(end: EngineEnd) -> list[tuple[bytes, str]]:
    return [(e.data, e.epoch) for e in end.of_type(events.ApplicationData)]


# --- capture and tshark ---------------------------------------------------------------------------

def why_no_capture() -> str | None:
    missing = [p for p in ("tshark", "dumpcap") if shutil.which(p) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install tshark)"
    if os.geteuid() != 0:
        return "capturing on lo needs root (or CAP_NET_RAW for dumpcap)"
    return None


class LoopbackCapture:
    """`tshark -i lo` writing one TCP port's packets to a pcapng file; stopped with SIGINT.

    dumpcap writes packets in blocks: `flush()` sends a marker connection on the port and waits
    until it is in the file, so everything before it is there too."""

    def __init__(self, port: int, path: Path):
        self.port = port
        self.path = path
        self.process = PeerProcess(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)], lifetime=60)

    def __enter__(self) -> LoopbackCapture:
        self.process.start()
        self.process.wait_for_output("Capture started", CAPTURE_TIMEOUT, stream="stderr")
        return self

    def flush(self) -> None:
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
            os.kill(self.process.pid, signal.SIGINT)
            self.process.wait(CAPTURE_TIMEOUT)
        self.process.stop()


@dataclass
class TsharkDirection:
    handshake_types: list[int] = field(default_factory=list)
    content_types: list[int] = field(default_factory=list)
    application_data: bytes = b""


def tshark_session(capture: Path, port: int, keylog: Path | None, stream: int = 0) -> dict[str, TsharkDirection]:
    """What tshark shows of one TCP stream, per sender ("client" or "server"), decrypted with `keylog`."""
    argv = ["tshark", "-n", "-r", str(capture), "-d", f"tcp.port=={port},tls"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    argv += ["-Y", f"tls && tcp.stream == {stream}", "-T", "fields", "-e", "tcp.srcport",
             "-e", "tls.record.content_type", "-e", "tls.handshake.type", "-e", "data.data"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    seen = {"client": TsharkDirection(), "server": TsharkDirection()}
    for line in result.stdout.splitlines():
        source, content_types, handshake_types, data = (line.split("\t") + [""] * 4)[:4]
        direction = seen["server" if int(source) == port else "client"]
        direction.content_types += [int(v) for v in content_types.split(",") if v]
        direction.handshake_types += [int(v) for v in handshake_types.split(",") if v]
        direction.application_data += bytes.fromhex(data.replace(",", "").replace(":", ""))
    return seen

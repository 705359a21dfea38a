"""Helpers of the KeyUpdate, TLS 1.2 and renegotiation interop tests.

- `EngineEnd`: our side of a connection, driven from the test's own thread, so that nothing races
  the engine while the test calls key_update() / renegotiate() on it: reads happen only when
  the test waits for something (`read_until`, `finish_renegotiation`).
- `accept_engine` / `connect_engine`: our server or client on 127.0.0.1 (a client may connect
  from inside a private network namespace, where gnutls-serv listens).
- `command` / `command_until_event`: type a command line to an OpenSSL / GnuTLS program and wait
  until it has acted on it, by its output or by its effect on our end (both read standard input in
  chunks: a command and the next line must not share one).
"""
from __future__ import annotations

import re
import select
import socket
import time

from workbench.peers import PeerProcess, PrivateNetwork
from workbench.tls import ClientConfig, Connection, ServerConfig, events
from workbench.transport.blocking import TLSSocket, listen

IO_TIMEOUT = 10.0


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
    return _handshake(sock, config, IO_TIMEOUT, on_event)


def accept_engine(listener: socket.socket, config: ServerConfig, timeout: float = IO_TIMEOUT,
                  on_event=None) -> EngineEnd:
    """Our server: accept one connection on `listener` and complete the handshake."""
    listener.settimeout(timeout)
    sock, _ = listener.accept()
    sock.settimeout(timeout)
    return _handshake(sock, config, timeout, on_event)


def _handshake(sock: socket.socket, config: ClientConfig | ServerConfig, timeout: float, on_event) -> EngineEnd:
    """Our engine on a connected socket, handshake done (the socket is closed when it fails)."""
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


def command_until_event(peer: PeerProcess, line: str, end: EngineEnd, event_type: type) -> None:
    """Type `line` to a program that acts on it at once but says so only through buffered stdout
    (s_server's k, K, r, R): wait until its effect reaches our end, one more `event_type`."""
    count = len(end.of_type(event_type))
    peer.send_line(line)
    end.read_until_event(event_type, count + 1)


def says(peer: PeerProcess, line: str, expect: str | None = None, timeout: float = IO_TIMEOUT) -> None:
    """Type a data line and wait until the program printed `expect` (the line itself by default) again."""
    mark = peer.mark()
    peer.send_line(line)
    if expect is not None:
        peer.wait_for_output(re.escape(expect), timeout, since=mark)


def data_events(end: EngineEnd) -> list[tuple[bytes, str]]:
    return [(e.data, e.epoch) for e in end.of_type(events.ApplicationData)]

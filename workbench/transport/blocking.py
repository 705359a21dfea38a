"""A blocking-socket transport around the sans-IO engine, shaped like `ssl.SSLSocket`.

    with connect("127.0.0.1", 4433, ClientConfig(server_name="localhost", ...)) as tls:
        tls.sendall(b"hello\\n")
        print(tls.recv(4096))

`serve_one(listener, config)` accepts one connection and completes the server handshake.
Peer errors surface as the engine's exceptions (`ProtocolError` after our alert was sent,
`AlertReceived` when the peer sent one); network errors as `OSError`.
"""
from __future__ import annotations

import socket
import time

from workbench.tls import ClientConfig, Connection, ServerConfig
from workbench.tls.errors import TLSError

from .common import EventListener, EventStream, HandshakeEOFError
from .tap import TrafficTap, format_endpoint

RECEIVE_SIZE = 65536


class TLSSocket:
    """A connected TCP socket and an engine `Connection` driven over it."""

    def __init__(self, sock: socket.socket, connection: Connection, *,
                 tap: TrafficTap | None = None, on_event: EventListener | None = None) -> None:
        self.sock = sock
        self.connection = connection
        self.local_endpoint = format_endpoint(sock.getsockname())
        self.remote_endpoint = format_endpoint(sock.getpeername())
        self._tap = tap
        self._events = EventStream(connection, [on_event])
        self._received = bytearray()     # application data not yet returned by recv()
        self._eof = False                # the TCP stream ended (or the TLS connection did)

    # --- like a socket ---------------------------------------------------------------------

    def fileno(self) -> int:
        return self.sock.fileno()

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def __enter__(self) -> "TLSSocket":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- what the engine told us -------------------------------------------------------------

    def add_listener(self, listener: EventListener) -> None:
        """Also call `listener(event)` for every later engine event."""
        self._events.add_listener(listener)

    @property
    def handshake(self):
        """The `HandshakeComplete` event (version, suite, group, ALPN, ...), once the handshake is done."""
        return self._events.handshake

    @property
    def closed_event(self):
        return self._events.closed_event

    @property
    def peer_sent_close_notify(self) -> bool:
        return self._events.peer_sent_close_notify

    @property
    def at_eof(self) -> bool:
        """No more application data will arrive (close_notify, an alert, or the TCP stream ended)."""
        return self._eof and not self._received

    def pending(self) -> int:
        """Application data already decrypted and waiting for recv() (check it before select())."""
        return len(self._received)

    # --- the handshake -------------------------------------------------------------------

    def do_handshake(self, timeout: float | None = None):
        """Run the handshake to completion; returns the `HandshakeComplete` event.

        `timeout` bounds the whole handshake (socket.timeout / TimeoutError when exceeded).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        previous_timeout = self.sock.gettimeout()
        try:
            self.connection.start_handshake()
            self._flush()
            self._received += self._events.drain()
            while not self.connection.handshake_complete:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("the TLS handshake did not finish in time")
                    self.sock.settimeout(remaining)
                self._receive_once()
                if self._eof and not self.connection.handshake_complete:
                    raise HandshakeEOFError(f"{self.remote_endpoint} closed the connection during the handshake")
        finally:
            if deadline is not None:
                self.sock.settimeout(previous_timeout)
        return self.handshake

    # --- application data ----------------------------------------------------------------

    def send(self, data: bytes) -> int:
        """Send all of `data` as application data (split into records by the engine)."""
        self.connection.send(bytes(data))
        self._flush()
        self._received += self._events.drain()
        return len(data)

    sendall = send

    def recv(self, bufsize: int = RECEIVE_SIZE) -> bytes:
        """Up to `bufsize` bytes of application data; blocks until some arrives; b"" at the end."""
        while not self._received and not self._eof:
            self._receive_once()
        return self._take(bufsize)

    def read_available(self, bufsize: int = RECEIVE_SIZE) -> bytes:
        """What one socket read yields (call it when select() says readable); b"" may mean either
        that only handshake or post-handshake records arrived, or the end: check `at_eof`."""
        if not self._received and not self._eof:
            self._receive_once()
        return self._take(bufsize)

    def call(self, method: str, *args, **kwargs):
        """Call an engine method (key_update, renegotiate, ...) and send what it queued."""
        result = getattr(self.connection, method)(*args, **kwargs)
        self._flush()
        self._received += self._events.drain()
        return result

    # --- ending --------------------------------------------------------------------------

    def close(self, linger: float = 1.0) -> None:
        """Send close_notify (when the connection is still open) and close the socket.

        Before closing, whatever the peer still has in flight (a late NewSessionTicket, its
        own close_notify) is read for up to `linger` seconds: closing a socket with unread
        data makes the kernel answer with a TCP reset, and the peer reports an error instead
        of a clean close.
        """
        try:
            if not self.connection.closed:
                self.connection.close()
            self._flush()
            self._received += self._events.drain()
            self._read_until_peer_closes(linger)
        except (OSError, TLSError):
            pass    # the peer is gone or the connection already ended: nothing left to say
        finally:
            self._eof = True
            self.sock.close()

    def _read_until_peer_closes(self, linger: float) -> None:
        if linger <= 0:
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)   # our side is done: tell the peer now
        except OSError:
            return
        deadline = time.monotonic() + linger
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                self._receive_once()
            except (socket.timeout, TimeoutError):
                return

    # --- internals -----------------------------------------------------------------------

    def _take(self, bufsize: int) -> bytes:
        data = bytes(self._received[:bufsize])
        del self._received[:bufsize]
        return data

    def _receive_once(self) -> None:
        chunk = self.sock.recv(RECEIVE_SIZE)
        if not chunk:
            self._eof = True
            self._received += self._events.drain()
            return
        if self._tap is not None:
            self._tap(time.time(), self.remote_endpoint, self.local_endpoint, chunk)
        try:
            self.connection.receive_data(chunk)
        except TLSError:
            # The engine queued its alert before raising: let the peer know why, then report.
            self._eof = True
            self._flush(best_effort=True)
            self._received += self._events.drain()
            raise
        self._flush()
        self._received += self._events.drain()
        if self._events.reading_done:
            self._eof = True

    def _flush(self, best_effort: bool = False) -> None:
        data = self.connection.data_to_send()
        if not data:
            return
        if self._tap is not None:
            self._tap(time.time(), self.local_endpoint, self.remote_endpoint, data)
        try:
            self.sock.sendall(data)
        except OSError:
            if not best_effort:
                raise


def connect(host: str, port: int, config: ClientConfig, timeout: float | None = 10.0, *,
            tap: TrafficTap | None = None, on_event: EventListener | None = None) -> TLSSocket:
    """Open a TCP connection and complete the TLS handshake as a client.

    `timeout` bounds the TCP connect and the handshake, and stays the socket's timeout afterwards.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        tls = TLSSocket(sock, Connection(config), tap=tap, on_event=on_event)
        tls.do_handshake(timeout)
        return tls
    except BaseException:
        sock.close()
        raise


def listen(host: str = "127.0.0.1", port: int = 0, backlog: int = 8) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port: read it with getsockname())."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def serve_one(listener: socket.socket, config: ServerConfig, *, timeout: float | None = 10.0,
              tap: TrafficTap | None = None, on_event: EventListener | None = None) -> TLSSocket:
    """Accept one connection on `listener` and complete the TLS handshake as a server.

    `timeout` bounds the handshake only; the returned socket is blocking. On a failed handshake
    the accepted socket is closed and the error raised (the listener stays open).
    """
    sock, _ = listener.accept()
    try:
        tls = TLSSocket(sock, Connection(config), tap=tap, on_event=on_event)
        tls.do_handshake(timeout)
        sock.settimeout(None)
        return tls
    except BaseException:
        sock.close()
        raise

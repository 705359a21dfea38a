"""Our engine on real sockets, as the other end of an interop test.

- `EngineServer`: our server on 127.0.0.1 in a background thread. It serves connections one
  after another, answers the application data it receives (an echo by default), and reports each
  connection as a `Served` (handshake summary, events, data, the error that ended it) through a queue.
- `engine_connect`: our client over a TCP connection, optionally made inside a private network
  namespace (the only place gnutls-serv may listen); `close_gracefully` ends it cleanly.

Everything is bounded in time: sockets carry timeouts, the accept loop polls a stop flag.
"""
from __future__ import annotations

import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable

from workbench.peers import PrivateNetwork
from workbench.tls import ClientConfig, Connection, ServerConfig, events
from workbench.transport.blocking import TLSSocket, listen

IO_TIMEOUT = 10.0           # any single handshake or read of a test connection
_ACCEPT_POLL = 0.2          # how often the accept loop looks at the stop flag


@dataclass
class Served:
    """One connection our server accepted, once it ended."""
    connection: Connection
    events: list = field(default_factory=list)
    received: bytes = b""
    error: BaseException | None = None     # what ended the handshake or the connection early

    @property
    def handshake(self) -> events.HandshakeComplete | None:
        return next((e for e in self.events if isinstance(e, events.HandshakeComplete)), None)

    def alerts_sent(self) -> list[int]:
        return [e.description for e in self.events if isinstance(e, events.AlertSent)]

    def alerts_received(self) -> list[int]:
        return [e.description for e in self.events if isinstance(e, events.AlertReceived)]


def echo(data: bytes) -> bytes:
    return data


class EngineServer:
    """Our TLS server on 127.0.0.1 (port 0: the kernel picks one). `reply(data)` is sent back for
    each piece of application data read (an echo by default; b"" sends nothing)."""

    def __init__(self, config: ServerConfig, *, port: int = 0, reply: Callable[[bytes], bytes] = echo) -> None:
        self.config = config
        self.reply = reply
        self._listener = listen("127.0.0.1", port)
        self._listener.settimeout(_ACCEPT_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._served: queue.Queue[Served] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"engine-server-{self.port}", daemon=True)

    def start(self) -> EngineServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(IO_TIMEOUT + 2 * _ACCEPT_POLL)
        self._listener.close()

    def __enter__(self) -> EngineServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def next_connection(self, timeout: float = IO_TIMEOUT) -> Served:
        """The next connection that ended (in the order they were accepted)."""
        try:
            return self._served.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"our server on port {self.port} finished no connection within {timeout} s") \
                from None

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._served.put(self._handle(sock))

    def _handle(self, sock: socket.socket) -> Served:
        sock.settimeout(IO_TIMEOUT)
        served = Served(Connection(self.config))
        tls = TLSSocket(sock, served.connection, on_event=served.events.append)
        try:
            tls.do_handshake(IO_TIMEOUT)
            while True:
                data = tls.recv()
                if not data:
                    break
                served.received += data
                answer = self.reply(data)
                if answer:
                    tls.sendall(answer)
        except Exception as error:       # TLSError, OSError, or a bug: the test reads it from Served
            served.error = error
        finally:
            tls.close()
        return served


def close_gracefully(tls: TLSSocket) -> bytes:
    """Send close_notify, read until the peer's close_notify (or the end of the stream), then close.

    Closing a socket that still holds unread data (a NewSessionTicket that arrived after the last
    read, say) makes the kernel answer with RST instead of FIN, and a peer such as openssl
    s_server then reports an error rather than a clean close. Returns what arrived meanwhile.
    """
    tls.call("close")
    late = b""
    while chunk := tls.recv():
        late += chunk
    tls.close()
    return late


def engine_connect(port: int, config: ClientConfig, *, netns: PrivateNetwork | None = None,
                   on_event=None, timeout: float = IO_TIMEOUT) -> TLSSocket:
    """Our client, handshake done, on a TCP connection to 127.0.0.1:port (inside `netns` if given).

    A socket made inside the namespace stays there, so everything after the connect runs as usual.
    """
    if netns is not None:
        with netns.entered():
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    else:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        tls = TLSSocket(sock, Connection(config), on_event=on_event)
        tls.do_handshake(timeout)
        return tls
    except BaseException:
        sock.close()
        raise

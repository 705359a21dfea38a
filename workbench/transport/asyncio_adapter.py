"""A thin asyncio transport around the sans-IO engine, shaped like `asyncio.open_connection`.

    reader, writer = await open_connection("127.0.0.1", 4433, client_config)
    writer.write(b"hello\\n"); await writer.drain()
    line = await reader.readline()
    writer.close(); await writer.wait_closed()

The reader is a genuine `asyncio.StreamReader` fed with decrypted application data by a task
that reads the socket; the writer encrypts what it is given. A peer error ends the reader with
the engine's exception (raised by the next read), after our alert was sent.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from workbench.tls import ClientConfig, Connection, ServerConfig
from workbench.tls.errors import TLSError

from .common import EventListener, EventStream, HandshakeEOFError
from .tap import TrafficTap, format_endpoint

RECEIVE_SIZE = 65536


class TLSStreamWriter:
    """Writes application data through the engine; the rest of the `asyncio.StreamWriter` surface."""

    def __init__(self, session: "_Session") -> None:
        self._session = session

    @property
    def connection(self) -> Connection:
        return self._session.connection

    @property
    def handshake(self):
        """The `HandshakeComplete` event."""
        return self._session.events.handshake

    def write(self, data: bytes) -> None:
        self._session.connection.send(bytes(data))
        self._session.flush()

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def call(self, method: str, *args, **kwargs):
        """Call an engine method (key_update, renegotiate, ...) and send what it queued."""
        result = getattr(self._session.connection, method)(*args, **kwargs)
        self._session.flush()
        return result

    async def drain(self) -> None:
        await self._session.raw_writer.drain()

    def can_write_eof(self) -> bool:
        return False

    def is_closing(self) -> bool:
        return self._session.raw_writer.is_closing()

    def close(self) -> None:
        """Send close_notify (when still open) and close the TCP connection."""
        self._session.close()

    async def wait_closed(self) -> None:
        await self._session.wait_closed()

    def get_extra_info(self, name: str, default=None):
        """Like asyncio's, plus "tls_handshake" (the HandshakeComplete event) and "tls_connection"."""
        if name == "tls_handshake":
            return self._session.events.handshake
        if name == "tls_connection":
            return self._session.connection
        return self._session.raw_writer.get_extra_info(name, default)


class _Session:
    """One TLS connection over an asyncio stream pair: handshake, read loop, flushing, closing."""

    def __init__(self, raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter,
                 connection: Connection, tap: TrafficTap | None, on_event: EventListener | None) -> None:
        self.raw_reader = raw_reader
        self.raw_writer = raw_writer
        self.connection = connection
        self.events = EventStream(connection, [on_event])
        self.reader = asyncio.StreamReader()
        self.local_endpoint = format_endpoint(raw_writer.get_extra_info("sockname"))
        self.remote_endpoint = format_endpoint(raw_writer.get_extra_info("peername"))
        self._tap = tap
        self._pump_task: asyncio.Task | None = None

    async def handshake(self) -> None:
        self.connection.start_handshake()
        self.flush()
        self._deliver(self.events.drain())
        while not self.connection.handshake_complete:
            if not await self._receive_once():
                raise HandshakeEOFError(f"{self.remote_endpoint} closed the connection during the handshake")
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    def flush(self) -> None:
        data = self.connection.data_to_send()
        if data and not self.raw_writer.is_closing():
            if self._tap is not None:
                self._tap(time.time(), self.local_endpoint, self.remote_endpoint, data)
            self.raw_writer.write(data)

    def close(self) -> None:
        if self.raw_writer.is_closing():
            return
        try:
            if not self.connection.closed:
                self.connection.close()
            self.flush()
            self.events.drain()
        except TLSError:
            pass   # already ended by an error: nothing left to say
        self.raw_writer.close()

    async def wait_closed(self) -> None:
        try:
            await self.raw_writer.wait_closed()
        except (ConnectionError, OSError):
            pass
        if self._pump_task is not None:
            self._pump_task.cancel()
            try:
                await self._pump_task
            except asyncio.CancelledError:
                pass
        if not self.reader.at_eof() and self.reader.exception() is None:
            self.reader.feed_eof()     # the socket is gone: readers see the end, not a hang

    async def _receive_once(self) -> bool:
        """Read one chunk and feed it to the engine; False at the end of the TCP stream."""
        chunk = await self.raw_reader.read(RECEIVE_SIZE)
        if not chunk:
            self._deliver(self.events.drain())
            return False
        if self._tap is not None:
            self._tap(time.time(), self.remote_endpoint, self.local_endpoint, chunk)
        try:
            self.connection.receive_data(chunk)
        finally:
            # On a ProtocolError the engine queued its alert first: send it before reporting.
            self.flush()
            self._deliver(self.events.drain())
        return True

    async def _pump(self) -> None:
        try:
            while not self.events.reading_done:
                if not await self._receive_once():
                    break
        except (TLSError, ConnectionError, OSError) as exc:
            self.reader.set_exception(exc)
            self.raw_writer.close()
            return
        self.reader.feed_eof()

    def _deliver(self, data: bytes) -> None:
        if data:
            self.reader.feed_data(data)


async def _start(raw_reader, raw_writer, config, tap, on_event, timeout):
    session = _Session(raw_reader, raw_writer, Connection(config), tap, on_event)
    try:
        await asyncio.wait_for(session.handshake(), timeout)
    except BaseException:
        session.flush()        # an alert the engine queued before raising
        raw_writer.close()
        raise
    return session.reader, TLSStreamWriter(session)


async def open_connection(host: str, port: int, config: ClientConfig, *, timeout: float | None = 10.0,
                          tap: TrafficTap | None = None, on_event: EventListener | None = None
                          ) -> tuple[asyncio.StreamReader, TLSStreamWriter]:
    """Connect and complete the TLS handshake as a client; `timeout` bounds connect + handshake."""
    raw_reader, raw_writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    return await _start(raw_reader, raw_writer, config, tap, on_event, timeout)


ClientConnected = Callable[[asyncio.StreamReader, TLSStreamWriter], Awaitable[None] | None]


async def start_server(client_connected_cb: ClientConnected, host: str, port: int, config: ServerConfig, *,
                       handshake_timeout: float | None = 10.0, tap: TrafficTap | None = None,
                       on_event: EventListener | None = None,
                       on_error: Callable[[BaseException], None] | None = None, **server_kwargs) -> asyncio.Server:
    """Serve TLS: each connection's handshake is completed before `client_connected_cb(reader, writer)`.

    A failed handshake closes that connection and is reported to `on_error` (the server goes on).
    """
    async def handle(raw_reader, raw_writer):
        try:
            reader, writer = await _start(raw_reader, raw_writer, config, tap, on_event, handshake_timeout)
        except (TLSError, ConnectionError, OSError, asyncio.TimeoutError) as exc:
            if on_error is not None:
                on_error(exc)
            return
        result = client_connected_cb(reader, writer)
        if asyncio.iscoroutine(result):
            await result

    return await asyncio.start_server(handle, host, port, **server_kwargs)

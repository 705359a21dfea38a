"""What every socket transport needs from the engine's event stream, whatever its I/O style.

A transport feeds bytes to a `Connection`, then drains its events: application data goes to
the reader, the handshake summary and the closing reason are remembered, and every event is
handed to the listeners (key log, event log, a UI) in order.
"""
from __future__ import annotations

from typing import Callable, Iterable

from workbench.tls import Connection
from workbench.tls import events as tls_events
from workbench.tls.enums import AlertDescription

CLOSE_NOTIFY = int(AlertDescription.close_notify)

EventListener = Callable[[object], None]


class HandshakeEOFError(ConnectionError):
    """The peer closed the TCP connection before the handshake finished."""


class EventStream:
    """Drains a connection's events, keeps what a transport needs, and tells the listeners."""

    def __init__(self, connection: Connection, listeners: Iterable[EventListener | None] = ()) -> None:
        self.connection = connection
        self.listeners: list[EventListener] = [each for each in listeners if each is not None]
        self.handshake = None          # the HandshakeComplete event, once seen
        self.closed_event = None       # the ConnectionClosed event, once seen
        self.peer_sent_close_notify = False   # the peer ended cleanly (not with an error alert)
        self.reading_done = False             # nothing more will be read: the peer closed, or an error ended it

    def add_listener(self, listener: EventListener) -> None:
        self.listeners.append(listener)

    def drain(self) -> bytes:
        """Handle every queued event; returns the application data they carried, in order."""
        data = []
        connection = self.connection
        while (event := connection.next_event()) is not None:
            if isinstance(event, tls_events.ApplicationData):
                data.append(event.data)
            elif isinstance(event, tls_events.HandshakeComplete):
                self.handshake = event
            elif isinstance(event, tls_events.ConnectionClosed):
                self.closed_event = event
                # Our own close_notify still lets the peer send until it answers (RFC 8446 6.1).
                if event.by_peer or event.error is not None:
                    self.reading_done = True
            elif isinstance(event, tls_events.AlertReceived) and event.description == CLOSE_NOTIFY:
                self.peer_sent_close_notify = True
            for listener in self.listeners:
                listener(event)
        return b"".join(data)

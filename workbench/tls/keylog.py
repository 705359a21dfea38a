"""The NSS key log (SSLKEYLOGFILE) written from SecretDerived events.

One line per secret: "<LABEL> <client_random hex> <secret hex>". Wireshark, tshark and
our own capture decryption read this format.
"""
from __future__ import annotations

from typing import Callable, Iterable, TextIO

from .events import Event, SecretDerived


def key_log_line(label: str, client_random: bytes, secret: bytes) -> str:
    """One key log line, newline included."""
    return f"{label} {client_random.hex()} {secret.hex()}\n"


def events_to_keylog(events: Iterable[Event]) -> str:
    """The key log text for every labelled secret in an event stream."""
    return "".join(key_log_line(e.keylog_label, e.client_random, e.value)
                   for e in events if isinstance(e, SecretDerived) and e.keylog_label)


class KeyLogWriter:
    """Feeds key log lines to a sink: a callable taking a line, or a writable text file.

    Pass `on_event` every event of a connection (or several connections); it writes the
    lines of labelled secrets and ignores everything else. A file sink is flushed after each
    line so that a live Wireshark sees the keys as soon as they exist.
    """

    def __init__(self, sink: Callable[[str], None] | TextIO):
        if callable(sink):
            self._write = sink
            self._flush = None
        elif hasattr(sink, "write"):
            self._write = sink.write
            self._flush = getattr(sink, "flush", None)
        else:
            raise TypeError("KeyLogWriter needs a callable or a writable text file")

    def on_event(self, event: Event) -> None:
        if isinstance(event, SecretDerived) and event.keylog_label:
            self.write(event.keylog_label, event.client_random, event.value)

    def write(self, label: str, client_random: bytes, secret: bytes) -> None:
        self._write(key_log_line(label, client_random, secret))
        if self._flush is not None:
            self._flush()

    def __call__(self, event: Event) -> None:
        self.on_event(event)

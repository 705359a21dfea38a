"""The in-process traffic tap: every chunk our transports send or receive, with a timestamp.

When a live capture on `lo` is not possible (no root, no CAP_NET_RAW), the capture layer
records our own traffic through this interface instead and turns it into pcapng. A tap is
any callable `tap(timestamp, src, dst, data)`:

- `timestamp`: seconds since the epoch (float), taken when the chunk crossed the transport;
- `src`, `dst`: endpoints as "ip:port" ("[ip6]:port" for IPv6), the sender first;
- `data`: the bytes exactly as written to / read from the socket (TCP payload).

Transports call the tap for both directions of a connection they own: what they send
(src = local endpoint) and what they receive (src = remote endpoint). Two of our own
transports talking to each other in one process therefore report each chunk twice, once by
each side; give the tap to one side only when that matters.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, runtime_checkable


@runtime_checkable
class TrafficTap(Protocol):
    """Anything called with each chunk of TCP payload our transports move."""

    def __call__(self, timestamp: float, src: str, dst: str, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class TappedChunk:
    """One chunk seen by a tap."""

    timestamp: float
    src: str
    dst: str
    data: bytes


class RecordingTap:
    """A tap that keeps every chunk in memory, in order (thread-safe: transports may run in threads)."""

    def __init__(self) -> None:
        self._chunks: list[TappedChunk] = []
        self._lock = threading.Lock()

    def __call__(self, timestamp: float, src: str, dst: str, data: bytes) -> None:
        chunk = TappedChunk(timestamp, src, dst, bytes(data))
        with self._lock:
            self._chunks.append(chunk)

    @property
    def chunks(self) -> list[TappedChunk]:
        with self._lock:
            return list(self._chunks)

    def stream(self, src: str, dst: str) -> bytes:
        """All bytes sent from `src` to `dst`, concatenated (one direction of a TCP stream)."""
        return b"".join(c.data for c in self.chunks if c.src == src and c.dst == dst)


def fan_out(taps: Iterable[Callable[[float, str, str, bytes], None] | None]) -> TrafficTap | None:
    """One tap that calls each of `taps` in turn (None entries are skipped); None when there are none."""
    active = [t for t in taps if t is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]

    def tap(timestamp: float, src: str, dst: str, data: bytes) -> None:
        for each in active:
            each(timestamp, src, dst, data)

    return tap


def format_endpoint(address: tuple) -> str:
    """A socket address as "ip:port", with brackets for IPv6 ("[::1]:443")."""
    host, port = address[0], address[1]
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"

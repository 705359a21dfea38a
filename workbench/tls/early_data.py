"""0-RTT early data (RFC 8446 4.2.10, 8): the client's record of what it sent, the server's
budget, the freshness window, and the single-use anti-replay register.

Early data can be replayed by anyone who recorded it. A server here accepts it at most once
per ticket (the register remembers every ticket that carried accepted early data until the
ticket expires) and only when the ticket's age as the client reports it agrees with its own
view within a window (RFC 8446 8.3). A register that is full refuses rather than forget.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .errors import UnexpectedMessage, UsageError
from .session_cache import SessionCache

DEFAULT_AGE_TOLERANCE = 10.0        # seconds: RFC 8446 8.3 speaks of windows of about ten seconds


class ReplayRegister:
    """Tickets already used for 0-RTT; shared by the connections of one server config."""

    def __init__(self, max_size: int = 100000):
        self._seen: SessionCache[bytes, bool] = SessionCache(max_size)

    def claim(self, ticket: bytes, *, expires_at: float, now: float) -> bool:
        """True the first time a ticket carries early data (until it expires); False after,
        and False when the register is full of live entries (fail closed)."""
        key = hashlib.sha256(ticket).digest()
        return self._seen.add_if_absent(key, True, expires_at, now)

    def __len__(self) -> int:
        return len(self._seen)


def freshness_problem(client_age_ms: int, server_age_ms: int, tolerance: float) -> str | None:
    """Why the ticket age the client claims is not believable, or None (RFC 8446 8.3)."""
    skew_ms = client_age_ms - server_age_ms
    if abs(skew_ms) > tolerance * 1000:
        return (f"ticket age outside the window: the client says {client_age_ms} ms, this server "
                f"counts {server_age_ms} ms (tolerance {tolerance:g} s)")
    return None


@dataclass
class ClientEarlyData:
    """What a client sends before the handshake completes; kept until the server decides,
    so rejected data goes back to the caller (EarlyDataRejected.data) instead of being lost."""
    limit: int                                  # the ticket's max_early_data_size
    queued: bytearray = field(default_factory=bytearray)   # written before keys exist
    sent: bytearray = field(default_factory=bytearray)
    status: str = "queued"                      # queued -> offered -> accepted | rejected

    @property
    def total(self) -> int:
        return len(self.queued) + len(self.sent)

    def check_room(self, size: int) -> None:
        if self.total + size > self.limit:
            raise UsageError(f"early data of {self.total + size} bytes exceeds the ticket's "
                             f"max_early_data_size of {self.limit}")

    def everything(self) -> bytes:
        return bytes(self.sent) + bytes(self.queued)


@dataclass
class ServerEarlyData:
    """The early data a server accepted, counted against the ticket's max_early_data_size."""
    limit: int
    received: int = 0

    def take(self, size: int) -> None:
        self.received += size
        if self.received > self.limit:
            # RFC 8446 4.2.10: more than max_early_data_size SHOULD end with unexpected_message.
            raise UnexpectedMessage(f"client sent {self.received} bytes of early data, more than "
                                    f"max_early_data_size {self.limit}",
                                    expected=f"at most {self.limit} bytes of 0-RTT data",
                                    received=f"{self.received} bytes")

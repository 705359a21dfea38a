"""The client's ticket wallet: the unused tickets it holds, and the ones it has spent.

RFC 8446 C.4: a ticket offered twice lets an observer link the two connections (the
identity travels in clear). So by default a TLS 1.3 ticket is spent when it is offered and
the wallet refuses to offer it again; `ClientConfig(ticket_reuse=True)` allows reuse, for
the lab that shows why it matters. TLS 1.2 sessions may be resumed many times.

One wallet belongs to a ClientConfig and is shared by the connections made from it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from .session_data import TLS13, SessionData


class TicketWallet:
    def __init__(self, max_per_server: int = 16, max_spent: int = 4096):
        self.max_per_server = max_per_server
        self.max_spent = max_spent
        self._unused: dict[str | None, list[SessionData]] = {}
        self._spent: OrderedDict[bytes, float] = OrderedDict()    # fingerprint -> expires_at
        self._lock = threading.Lock()

    def deposit(self, session: SessionData) -> None:
        """Keep a session that arrived (newest last); the oldest go when a server has too many."""
        with self._lock:
            held = self._unused.setdefault(session.server_name, [])
            held.append(session)
            del held[:-self.max_per_server]

    def take(self, server_name: str | None, now: float) -> SessionData | None:
        """The newest unexpired, unspent session for a server, removed from the wallet (spent when offered)."""
        with self._lock:
            held = self._unused.get(server_name, [])
            held[:] = [s for s in held if not s.expired(now) and s.ticket_fingerprint not in self._spent]
            return held.pop() if held else None

    def unused(self, server_name: str | None = None, now: float | None = None) -> list[SessionData]:
        """Sessions held (for one server, or all), oldest first; expired ones left out when `now` is given."""
        with self._lock:
            pools = [self._unused.get(server_name, [])] if server_name is not None else list(self._unused.values())
            return [s for pool in pools for s in pool if now is None or not s.expired(now)]

    def spend(self, session: SessionData, now: float) -> None:
        """Record that a session was offered. TLS 1.3 tickets are single use; 1.2 sessions are not."""
        if session.tls_version != TLS13:
            return
        with self._lock:
            fingerprint = session.ticket_fingerprint
            for held in self._unused.values():
                held[:] = [s for s in held if s.ticket_fingerprint != fingerprint]
            self._spent[fingerprint] = session.expires_at()
            self._spent.move_to_end(fingerprint)
            # An expired ticket is refused for that reason anyway: forget the oldest ones once they
            # expire (in spending order, which is close enough to expiry order); then bound the memory.
            while self._spent and next(iter(self._spent.values())) <= now:
                self._spent.popitem(last=False)
            while len(self._spent) > self.max_spent:
                self._spent.popitem(last=False)

    def is_spent(self, session: SessionData) -> bool:
        with self._lock:
            return session.ticket_fingerprint in self._spent

    def __len__(self) -> int:
        with self._lock:
            return sum(len(held) for held in self._unused.values())

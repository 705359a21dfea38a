"""What one connection of a capture leaves for later ones: tickets it was issued (so a later connection that
offers one can be linked to it) and TLS 1.2 master secrets by session id / ticket (so an abbreviated handshake
decrypts even when the key log has no CLIENT_RANDOM line for the resumed connection, as Wireshark does).

Bounded: the oldest entries go first once `limit` is reached.
"""
from __future__ import annotations

from collections import OrderedDict

from .model import TicketInfo


class SessionCache:
    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._tickets: OrderedDict[bytes, tuple[int, int, TicketInfo]] = OrderedDict()
        self._masters: OrderedDict[bytes, bytes] = OrderedDict()

    @staticmethod
    def _put(table: OrderedDict, key, value, limit: int) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > limit:
            table.popitem(last=False)

    def add_ticket(self, ticket: bytes, connection: int, index: int, info: TicketInfo) -> None:
        if ticket:
            self._put(self._tickets, ticket, (connection, index, info), self.limit)

    def find_ticket(self, ticket: bytes) -> tuple[int, int, TicketInfo] | None:
        return self._tickets.get(ticket)

    def add_master_secret(self, key: bytes, master_secret: bytes) -> None:
        """key: b"id:" + session id, or b"ticket:" + ticket."""
        if key and len(key) > 7:
            self._put(self._masters, key, master_secret, self.limit)

    def master_secret(self, key: bytes) -> bytes | None:
        return self._masters.get(key)

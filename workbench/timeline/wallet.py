"""The ticket wallet: tickets issued by any connection of a timeline, matched with the later connections that
offer them (a TLS 1.3 pre_shared_key identity or a TLS 1.2 SessionTicket extension is the ticket itself)."""
from __future__ import annotations

from .handshake_facts import TicketFacts, fingerprint
from .model import Ticket, TicketUse, Timeline, TimelineConnection


class TicketWallet:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._by_ticket: dict[bytes, Ticket] = {}

    def issue(self, conn: TimelineConnection, record: int, facts: TicketFacts, time: float | None,
              frame: int | None) -> Ticket:
        ticket = Ticket(id=f"T{len(self.timeline.tickets) + 1}", fingerprint=fingerprint(facts.ticket),
                        ticket=facts.ticket, version=facts.version, issued_by=conn.id, record=record, time=time,
                        frame=frame, lifetime=facts.lifetime, age_add=facts.age_add, nonce=facts.nonce,
                        max_early_data=facts.max_early_data)
        self.timeline.tickets.append(ticket)
        conn.tickets.append(ticket)
        self._by_ticket[facts.ticket] = ticket
        return ticket

    def find(self, ticket: bytes) -> Ticket | None:
        return self._by_ticket.get(ticket)

    def offer(self, conn: TimelineConnection, record: int, identity: bytes, index: int) -> TicketUse | None:
        """A connection offers `identity`; returns the use when the wallet knows that ticket (a ticket issued
        before the capture started is kept in conn.unknown_identities)."""
        ticket = self._by_ticket.get(identity)
        if ticket is None or ticket.issued_by == conn.id:
            conn.unknown_identities.append(identity)
            return None
        use = TicketUse(ticket.id, conn.id, record, index)
        ticket.used_by.append(use)
        conn.offered_tickets.append(use)
        return use

    def settle(self, conn: TimelineConnection, selected_index: int | None) -> None:
        """The server's answer to the offers: the identity at `selected_index` was accepted, the rest not."""
        for use in conn.offered_tickets:
            if use.accepted is None:
                use.accepted = use.identity_index == selected_index
                if use.accepted:
                    conn.resumed_with = use.ticket

"""The ticket wallet on its own: issue, offer, settle."""
from __future__ import annotations

from workbench.timeline.handshake_facts import TicketFacts, fingerprint
from workbench.timeline.model import Timeline, TimelineConnection
from workbench.timeline.wallet import TicketWallet


def _wallet():
    timeline = Timeline()
    conns = [TimelineConnection(n, timeline) for n in range(3)]
    for conn in conns:
        timeline.connections[conn.id] = conn
    return timeline, TicketWallet(timeline), conns


def test_tickets_get_short_ids_in_issue_order_and_are_found_by_their_bytes():
    timeline, wallet, (a, b, _) = _wallet()
    first = wallet.issue(a, 3, TicketFacts(0x0304, 7200, b"one", 5, b"\x00", None), 1.5, 9)
    second = wallet.issue(b, 8, TicketFacts(0x0304, 60, b"two", 6, b"\x01", 1024), None, None)
    assert [t.id for t in timeline.tickets] == ["T1", "T2"]
    assert first.fingerprint == fingerprint(b"one") and len(first.fingerprint) == 12
    assert wallet.find(b"two") is second and wallet.find(b"three") is None
    assert a.tickets == [first] and b.tickets == [second]
    assert (first.record, first.time, first.frame, second.max_early_data) == (3, 1.5, 9, 1024)


def test_offers_are_settled_by_the_selected_identity():
    timeline, wallet, (a, b, c) = _wallet()
    t1 = wallet.issue(a, 0, TicketFacts(0x0304, 7200, b"one", 5, b"\x00", None), None, None)
    t2 = wallet.issue(a, 0, TicketFacts(0x0304, 7200, b"two", 6, b"\x01", None), None, None)
    assert wallet.offer(c, 10, b"stranger", 0) is None and c.unknown_identities == [b"stranger"]
    wallet.offer(c, 10, b"one", 1)
    wallet.offer(c, 10, b"two", 2)
    wallet.settle(c, 2)
    assert [(u.ticket, u.accepted) for u in c.offered_tickets] == [("T1", False), ("T2", True)]
    assert c.resumed_with == "T2" and t2.resumed == t2.used_by and t1.resumed == []
    # an answer does not change offers already settled
    wallet.settle(c, 1)
    assert c.resumed_with == "T2" and t1.used_by[0].accepted is False


def test_a_connection_does_not_resume_its_own_ticket():
    timeline, wallet, (a, _, _) = _wallet()
    wallet.issue(a, 0, TicketFacts(0x0303, 300, b"mine", None, None, None), None, None)
    assert wallet.offer(a, 4, b"mine", 0) is None and a.offered_tickets == []

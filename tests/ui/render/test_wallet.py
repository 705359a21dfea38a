from workbench.timeline.model import Ticket, TicketUse
from workbench.ui.render.wallet import render_ticket, render_wallet, ticket_status


def _ticket(**kw):
    base = dict(id="T1", fingerprint="abc", ticket=b"\x00" * 16, version=0x0304, issued_by=0, record=4,
                time=1000.0, frame=None, lifetime=7200, age_add=5, nonce=b"\x00")
    base.update(kw)
    return Ticket(**base)


def test_a_card_per_ticket_with_its_fate(tls13_story):
    timeline = tls13_story.timeline
    html = render_wallet(timeline, tls13_story.now())
    assert html.count('class="wb-ticket ') == len(timeline.tickets) == 4
    resumed = [t for t in timeline.tickets if t.resumed]
    assert len(resumed) == 1
    assert f'data-ticket="{resumed[0].id}"' in html and "resumed connection 1" in html
    assert "unused" in html


def test_age_and_time_left_are_measured_at_now():
    card = render_ticket(_ticket(), now=1000.0 + 90)
    assert "<th>age</th><td>90.0 s</td>" in card
    assert "<th>valid for</th><td>118.5 min</td>" in card
    assert "expired" in render_ticket(_ticket(), now=1000.0 + 8000)


def test_status_words():
    fresh = _ticket()
    assert ticket_status(fresh) == ("wb-ticket-unused", "unused")
    refused = _ticket(used_by=[TicketUse("T1", 2, 9, 0, False)])
    assert ticket_status(refused)[0] == "wb-ticket-refused"
    waiting = _ticket(used_by=[TicketUse("T1", 2, 9, 0, None)])
    assert ticket_status(waiting)[0] == "wb-ticket-offered"


def test_an_empty_wallet_explains_where_tickets_come_from():
    from workbench.timeline import Timeline
    html = render_wallet(Timeline(), saved_note="Saved session data: 10 bytes")
    assert "No tickets yet" in html and "Saved session data" in html


def test_a_long_capture_shows_the_last_tickets_only():
    from workbench.timeline import Timeline
    timeline = Timeline()
    timeline.tickets.extend(_ticket(id=f"T{i}") for i in range(1, 101))
    html = render_wallet(timeline, limit=10)
    assert html.count('class="wb-ticket ') == 10 and 'data-ticket="T100"' in html and 'data-ticket="T90"' not in html
    assert "90 earlier ticket(s) not shown" in html

"""The ticket wallet: one card per ticket the servers issued, with its lifetime, its age, and its fate.

A ticket is "unused" until a later connection offers it; then the card says which connection offered
it and whether the server accepted it (the connection was resumed with it) or refused it. Age and time
left are measured at `now` (the run's clock; a replayed capture's last record).
"""
from __future__ import annotations

from workbench.timeline.model import Ticket, Timeline
from workbench.timeline.names import version_name

from .html import esc, short_hex


def ticket_status(ticket: Ticket) -> tuple[str, str]:
    """(CSS class, words) for the state of a ticket."""
    accepted = [u for u in ticket.used_by if u.accepted]
    if accepted:
        return "wb-ticket-used", "resumed connection " + ", ".join(str(u.connection) for u in accepted)
    if any(u.accepted is None for u in ticket.used_by):
        return "wb-ticket-offered", "offered, waiting for the server"
    if ticket.used_by:
        return "wb-ticket-refused", "offered by connection " + ", ".join(str(u.connection) for u in ticket.used_by) \
            + ", refused"
    return "wb-ticket-unused", "unused"


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render_ticket(ticket: Ticket, now: float | None) -> str:
    klass, status = ticket_status(ticket)
    rows = [("issued by", f"connection {ticket.issued_by}, record #{ticket.record}"
                          + (f" (frame {ticket.frame})" if ticket.frame is not None else "")),
            ("version", version_name(ticket.version)),
            ("lifetime", f"{ticket.lifetime} s ({_duration(ticket.lifetime)})")]
    if now is not None and ticket.time is not None:
        age = now - ticket.time
        left = ticket.lifetime - age
        rows.append(("age", _duration(age)))
        rows.append(("valid for", _duration(left) if left > 0 else "expired"))
    if ticket.age_add is not None:
        rows.append(("age_add", str(ticket.age_add)))
    if ticket.nonce is not None:
        rows.append(("nonce", ticket.nonce.hex() or "(empty)"))
    if ticket.max_early_data is not None:
        rows.append(("early data", f"up to {ticket.max_early_data} bytes"))
    rows.append(("ticket", f"{len(ticket.ticket)} bytes, {short_hex(ticket.ticket, 8)}"))
    for use in ticket.used_by:
        outcome = {True: "accepted: resumed", False: "refused", None: "no answer yet"}[use.accepted]
        rows.append((f"connection {use.connection}", f"offered it in record #{use.record} — {outcome}"))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return (f'<div class="wb-ticket {klass}" data-ticket="{esc(ticket.id)}">'
            f'<div class="wb-ticket-head"><span class="wb-ticket-id">Ticket {esc(ticket.id)}</span>'
            f'<span class="wb-ticket-fp">{esc(ticket.fingerprint)}</span>'
            f'<span class="wb-ticket-status">{esc(status)}</span></div>'
            f'<table class="wb-ticket-fields">{body}</table></div>')


def render_wallet(timeline: Timeline, now: float | None = None, *, saved_note: str | None = None,
                  limit: int = 48) -> str:
    """The tickets of the timeline (the last `limit` of them: a long capture may hold thousands);
    `saved_note` tells what session data the workbench holds for resuming."""
    note = f'<div class="wb-wallet-saved">{esc(saved_note)}</div>' if saved_note else ""
    tickets = timeline.tickets
    if not tickets:
        return (f'<div class="wb-view wb-wallet wb-empty">{note}No tickets yet. A TLS 1.3 server sends '
                f'NewSessionTicket messages after the handshake; a client keeps them to resume later.</div>')
    shown = tickets[-limit:]
    more = (f'<div class="wb-wallet-more">{len(tickets) - len(shown)} earlier ticket(s) not shown '
            f"(wb.timeline.tickets holds every one)</div>" if len(tickets) > len(shown) else "")
    cards = "".join(render_ticket(t, now) for t in shown)
    return f'<div class="wb-view wb-wallet">{note}{more}<div class="wb-ticket-grid">{cards}</div></div>'


__all__ = ["render_wallet", "render_ticket", "ticket_status"]

"""The timeline as terminal text: a sequence diagram, one line per record, marks underneath.

    == connection 1: client 10.9.0.1:38290 -> server 10.9.0.2:443 | TLS 1.3 TLS_AES_128_GCM_SHA256 | resumed with T1
         +0.000000      9 f7     C -------> S   plaintext           0    512  Handshake: ClientHello
                                                                    * offers ticket T1 (issued by connection 0): accepted
         +0.000295     11 f8     C -------> S + early               0     40  ApplicationData

Columns: time since the connection's first record, record index, capture frame (f...), the arrow (client on
the left, server on the right), a lock ("+" decrypted, "x" encrypted and unreadable, blank in the clear), the
epoch, the sequence number in the epoch, what the record carries, its length.
"""
from __future__ import annotations

from typing import Hashable, Iterator

from .model import (CLIENT_TO_SERVER, AlertMark, EventMark, KeyUpdateMark, RenegotiationMark, Ticket, TicketUse,
                    Timeline, TimelineConnection, TimelineRecord)
from .names import (alert_level_name, alert_name, content_type_name, group_name, handshake_name, suite_name,
                    version_name)

ALERT = 21
HANDSHAKE = 22
_RIGHT = "C -------> S"
_LEFT = "C <------- S"
_MARK_INDENT = " " * 74          # marks line up under the content column


def describe_record(rec: TimelineRecord) -> str:
    """What a record carries, in words."""
    inner = rec.inner_type
    if inner is None:
        text = "encrypted record"
        if rec.note:
            text += f" [{rec.note}]"
        return text
    text = content_type_name(inner)
    if inner == HANDSHAKE:
        if rec.messages:
            text += ": " + ", ".join(handshake_name(m.handshake_type, m.hello_retry) for m in rec.messages)
        else:
            text += " (fragment)"
    elif inner == ALERT:
        alerts = [m for m in rec.marks if isinstance(m, AlertMark)]
        if alerts:
            text += ": " + ", ".join(f"{alert_name(a.description)} ({alert_level_name(a.level)})" for a in alerts)
    return text


def _time(value: float | None, origin: float | None) -> str:
    if value is None:
        return ""
    if origin is None:
        return f"{value:.6f}"
    return f"+{value - origin:.6f}"


def render_record(rec: TimelineRecord, origin: float | None = None) -> str:
    lock = ("+" if rec.decrypted else "x") if rec.protected else " "
    frame = f"f{rec.frame}" if rec.frame is not None else ""
    sequence = "" if rec.sequence is None else str(rec.sequence)
    arrow = _RIGHT if rec.direction == CLIENT_TO_SERVER else _LEFT
    return (f"{_time(rec.time, origin):>14} {rec.index:>6} {frame:<6} {arrow} {lock} {rec.epoch:<15} "
            f"{sequence:>5} {rec.length:>6}  {describe_record(rec)}")


def describe_mark(mark: object, timeline: Timeline | None = None) -> str:
    """One mark in words (tickets, ticket offers, key updates, renegotiations, alerts, other events)."""
    if isinstance(mark, Ticket):
        parts = [f"lifetime {mark.lifetime} s"]
        if mark.age_add is not None:
            parts.append(f"age_add {mark.age_add}")
        if mark.nonce is not None:
            parts.append(f"nonce {mark.nonce.hex() or '(empty)'}")
        if mark.max_early_data is not None:
            parts.append(f"max_early_data {mark.max_early_data}")
        text = f"* ticket {mark.id} issued ({mark.fingerprint}): " + ", ".join(parts)
        if mark.used_by:
            text += "; offered by " + ", ".join(
                f"connection {u.connection}" + (" (resumed)" if u.accepted else "") for u in mark.used_by)
        return text
    if isinstance(mark, TicketUse):
        issuer = ""
        if timeline is not None:
            try:
                issuer = f" (issued by connection {timeline.ticket(mark.ticket).issued_by})"
            except KeyError:
                pass
        outcome = {True: "accepted", False: "not accepted", None: "no answer yet"}[mark.accepted]
        return f"* offers ticket {mark.ticket}{issuer}: {outcome}"
    if isinstance(mark, KeyUpdateMark):
        request = "update_requested" if mark.request_update else "update_not_requested"
        return f"! KeyUpdate ({request}): {mark.direction} now application-{mark.generation}"
    if isinstance(mark, RenegotiationMark):
        return f"! renegotiation by the {mark.initiator} (handshake #{mark.handshake + 1}): {mark.stage}"
    if isinstance(mark, AlertMark):
        text = f"! alert {alert_level_name(mark.level)} {alert_name(mark.description)}"
        return text + (f": {mark.reason}" if mark.reason else "")
    if isinstance(mark, EventMark):
        return f"- {mark.text}"
    return f"- {mark!r}"


def describe_connection(conn: TimelineConnection) -> str:
    parts = [f"== connection {conn.id}: client {conn.client or '?'} -> server {conn.server or '?'}"]
    if conn.version is not None:
        negotiated = f"{version_name(conn.version)} {suite_name(conn.cipher_suite)}"
        if conn.group is not None:
            negotiated += f" {group_name(conn.group)}"
        parts.append(negotiated)
    if conn.server_name:
        parts.append(f"SNI {conn.server_name}")
    if conn.hello_retry:
        parts.append("HelloRetryRequest")
    if conn.resumed:
        parts.append(f"resumed with {conn.resumed_with}" if conn.resumed_with else "resumed")
    if conn.early_data_offered:
        accepted = {True: "accepted", False: "rejected", None: "offered"}[conn.early_data_accepted]
        parts.append(f"early data {accepted}")
    if conn.key_updates:
        parts.append(f"{len(conn.key_updates)} KeyUpdate(s)")
    if conn.renegotiations:
        parts.append(f"{len(conn.renegotiations)} renegotiation(s)")
    if conn.seen_by:
        parts.append("seen by " + "+".join(conn.seen_by))
    return " | ".join(parts)


def _clip(line: str, width: int | None) -> str:
    line = line.rstrip()
    if width is None or len(line) <= width:
        return line
    return line[:width - 3] + "..."


def iter_lines(timeline: Timeline, *, connection: Hashable | None = None, start: int = 0,
               count: int | None = None, width: int | None = 132, marks: bool = True) -> Iterator[str]:
    """The lines of the diagram for a page of records (all connections interleaved, or one connection)."""
    records = timeline.records(start, count, connection=connection)
    current = object()
    origin = None
    for rec in records:
        if rec.connection != current:
            current = rec.connection
            conn = timeline.connections[current]
            origin = conn.first_time
            yield _clip(describe_connection(conn), width)
        yield _clip(render_record(rec, origin), width)
        if marks:
            indent = _MARK_INDENT if width is None or width >= len(_MARK_INDENT) + 40 else "    "
            for mark in rec.marks:
                yield _clip(indent + describe_mark(mark, timeline), width)


def render_text(timeline: Timeline, *, connection: Hashable | None = None, start: int = 0, count: int | None = None,
                width: int | None = 132, marks: bool = True, wallet: bool | None = None) -> str:
    """The diagram as one string. The ticket wallet follows the records when `wallet` is true; by default
    when the whole timeline is rendered (not a page, not one connection)."""
    lines = list(iter_lines(timeline, connection=connection, start=start, count=count, width=width, marks=marks))
    if wallet is None:
        wallet = connection is None and start == 0 and count is None
    if wallet and timeline.tickets:
        lines.append("")
        lines.extend(_clip(line, width) for line in iter_wallet(timeline))
    return "\n".join(lines) + ("\n" if lines else "")


def iter_wallet(timeline: Timeline) -> Iterator[str]:
    yield "== tickets"
    for ticket in timeline.tickets:
        uses = ", ".join(f"connection {u.connection} ({'resumed' if u.accepted else 'not accepted'})"
                         for u in ticket.used_by) or "not used"
        yield (f"   {ticket.id:<4} {ticket.fingerprint}  issued by connection {ticket.issued_by} in record "
               f"{ticket.record}, {version_name(ticket.version)}, lifetime {ticket.lifetime} s: {uses}")


def iter_key_schedule(conn: TimelineConnection) -> Iterator[str]:
    """The connection's secrets in order, and which epochs they protect."""
    yield f"== key schedule of connection {conn.id}"
    used = {}
    for span in conn.epochs.values():
        if span.secret:
            used.setdefault(span.secret, []).append(f"{span.direction} {span.label}")
    for secret in conn.secrets:
        origin = f" <- {', '.join(secret.derived_from)}" if secret.derived_from else ""
        label = f" [{secret.keylog_label}]" if secret.keylog_label else ""
        protects = f"  protects {'; '.join(used[secret.name])}" if secret.name in used else ""
        yield f"   {secret.name}{label}{origin} (from {'+'.join(secret.derived_by)}){protects}"

"""The packet list: one row per timeline record, a page at a time.

A row is a small dict of display strings (the packet list widget draws it; tests read it): number, time,
direction, content type, handshake messages, epoch, length, marks, and CSS classes. Only the page on
screen is ever turned into rows, so a timeline of 100,000 records costs what one page costs.
"""
from __future__ import annotations

from typing import Any

from workbench.timeline.model import (CLIENT_TO_SERVER, AlertMark, EventMark, KeyUpdateMark,
                                      RenegotiationMark, Ticket, TicketUse, Timeline, TimelineRecord)
from workbench.timeline.names import alert_name, content_type_name, handshake_name

from .html import arrow, epoch_class, epoch_colour

ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
CHANGE_CIPHER_SPEC = 20

# Engine events the timeline keeps as EventMarks that another mark or the row itself already shows.
_QUIET_EVENTS = frozenset({"handshake_complete", "closed", "ticket", "key_update", "renegotiation", "secret",
                           "keys", "record", "handshake_message", "application_data"})

COLUMNS = ("No.", "Time", "Dir", "Content", "Details", "Epoch", "Seq", "Len")


def mark_badge(mark: object) -> str | None:
    """A few words for a mark, shown at the end of its row."""
    if isinstance(mark, Ticket):
        return f"ticket {mark.id}"
    if isinstance(mark, TicketUse):
        state = {True: "resumed", False: "refused", None: "offered"}[mark.accepted]
        return f"{mark.ticket} {state}"
    if isinstance(mark, KeyUpdateMark):
        return f"→ application-{mark.generation}" + (", update requested" if mark.request_update else "")
    if isinstance(mark, RenegotiationMark):
        return f"renegotiation {mark.stage}"
    if isinstance(mark, AlertMark):
        return f"alert {alert_name(mark.description)}"
    if isinstance(mark, EventMark):
        if mark.role is not None or mark.kind in _QUIET_EVENTS:
            return None         # an engine's own report: the row or a mark read from the wire says it already
        if mark.kind == "early_data":
            return "0-RTT " + ("accepted" if "accepted" in mark.text else "rejected")
        return {"resumption": "resumed", "hello_retry": "HelloRetryRequest"}.get(mark.kind,
                                                                                mark.kind.replace("_", " "))
    return None


def record_badges(rec: TimelineRecord) -> list[str]:
    """The badges of a record, each once (several observers may report the same event)."""
    badges: list[str] = []
    for mark in rec.marks:
        badge = mark_badge(mark)
        if badge and badge not in badges:
            badges.append(badge)
    return badges


def record_details(rec: TimelineRecord) -> str:
    """What the record carries beyond its content type: handshake messages, alert names, a note."""
    inner = rec.inner_type
    if inner is None:
        return rec.note or "encrypted (no key)"
    if inner == HANDSHAKE:
        if rec.messages:
            return ", ".join(handshake_name(m.handshake_type, m.hello_retry) for m in rec.messages)
        return "(part of a message)"
    if inner == ALERT:
        alerts = [m for m in rec.marks if isinstance(m, AlertMark)]
        if alerts:
            return ", ".join(alert_name(a.description) for a in alerts)
    if rec.note:
        return rec.note
    return ""


def row_classes(rec: TimelineRecord, in_flight: bool) -> str:
    names = ["wb-packet-row", "wb-c2s" if rec.direction == CLIENT_TO_SERVER else "wb-s2c", epoch_class(rec.epoch)]
    inner = rec.inner_type
    names.append({HANDSHAKE: "wb-handshake", ALERT: "wb-alert", APPLICATION_DATA: "wb-appdata",
                  CHANGE_CIPHER_SPEC: "wb-ccs"}.get(inner, "wb-encrypted" if inner is None else "wb-other"))
    if in_flight:
        names.append("wb-in-flight")
    if any(isinstance(m, KeyUpdateMark) for m in rec.marks):
        names.append("wb-key-update-row")
    return " ".join(names)


def record_row(rec: TimelineRecord, origin: float | None, *, flying: bool = False) -> dict[str, Any]:
    """flying: the record was sent and has not reached its receiver yet (step mode)."""
    time = "" if rec.time is None else (f"{rec.time - origin:.6f}" if origin is not None else f"{rec.time:.6f}")
    badges = record_badges(rec)
    if flying:
        badges.insert(0, "in flight")
    return {
        "index": rec.index,
        "connection": str(rec.connection),
        "time": time,
        "dir": arrow(rec.direction),
        "content": content_type_name(rec.inner_type) if rec.inner_type is not None else "encrypted",
        "details": record_details(rec),
        "epoch": rec.epoch,
        "colour": epoch_colour(rec.epoch),
        "seq": "" if rec.sequence is None else str(rec.sequence),
        "length": rec.length,
        "badges": badges,
        "frame": rec.frame,
        "classes": row_classes(rec, flying),
    }


def timeline_origin(timeline: Timeline) -> float | None:
    """The time of the first record: times in the list count from it (as Wireshark's do)."""
    for rec in timeline.records(0, 1):
        return rec.time
    return None


def page_rows(timeline: Timeline, start: int, count: int, *, in_flight: frozenset[int] = frozenset()
              ) -> list[dict]:
    """Rows for records start .. start+count-1; `in_flight` holds the indices still on the wire."""
    origin = timeline_origin(timeline)
    return [record_row(rec, origin, flying=rec.index in in_flight) for rec in timeline.records(start, count)]

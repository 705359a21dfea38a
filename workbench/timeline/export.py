"""The timeline as JSON-able data: connections (parameters, flights, epochs, secrets, marks), the ticket
wallet, and a page of records. Bytes are hex, code points are numbers with their names alongside."""
from __future__ import annotations

from typing import Any, Hashable

from .model import (AlertMark, EpochSpan, EventMark, KeyUpdateMark, RenegotiationMark, Ticket, TicketUse,
                    Timeline, TimelineConnection, TimelineRecord)
from .names import alert_name, content_type_name, handshake_name, suite_name, version_name


def _id(value: Hashable) -> Any:
    return value if isinstance(value, (int, str)) else str(value)


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


def mark_to_dict(mark: object) -> dict:
    if isinstance(mark, Ticket):
        return {"kind": "ticket", "id": mark.id, "fingerprint": mark.fingerprint, "issued_by": _id(mark.issued_by),
                "record": mark.record, "time": mark.time, "frame": mark.frame, "version": version_name(mark.version),
                "lifetime": mark.lifetime, "age_add": mark.age_add, "nonce": _hex(mark.nonce),
                "max_early_data": mark.max_early_data, "ticket": mark.ticket.hex(),
                "used_by": [mark_to_dict(use) for use in mark.used_by]}
    if isinstance(mark, TicketUse):
        return {"kind": "ticket_use", "ticket": mark.ticket, "connection": _id(mark.connection),
                "record": mark.record, "identity_index": mark.identity_index, "accepted": mark.accepted}
    if isinstance(mark, KeyUpdateMark):
        return {"kind": "key_update", "record": mark.record, "direction": mark.direction,
                "request_update": mark.request_update, "generation": mark.generation, "time": mark.time,
                "frame": mark.frame}
    if isinstance(mark, RenegotiationMark):
        return {"kind": "renegotiation", "record": mark.record, "initiator": mark.initiator, "stage": mark.stage,
                "handshake": mark.handshake, "time": mark.time, "frame": mark.frame}
    if isinstance(mark, AlertMark):
        return {"kind": "alert", "record": mark.record, "direction": mark.direction, "level": mark.level,
                "description": mark.description, "name": alert_name(mark.description), "reason": mark.reason,
                "time": mark.time, "frame": mark.frame}
    if isinstance(mark, EventMark):
        return {"kind": mark.kind, "record": mark.record, "text": mark.text, "role": mark.role, "time": mark.time}
    return {"kind": "unknown", "repr": repr(mark)}


def record_to_dict(rec: TimelineRecord) -> dict:
    return {
        "index": rec.index, "connection": _id(rec.connection), "flight": rec.flight, "direction": rec.direction,
        "time": rec.time, "frame": rec.frame, "epoch": rec.epoch, "sequence": rec.sequence,
        "outer_type": rec.outer_type, "inner_type": rec.inner_type, "content": content_type_name(rec.inner_type),
        "length": rec.length, "protected": rec.protected, "decrypted": rec.decrypted,
        "handshake_types": list(rec.handshake_types),
        "handshake": [handshake_name(m.handshake_type, m.hello_retry) for m in rec.messages],
        "marks": [mark_to_dict(m) for m in rec.marks], "seen_by": list(rec.seen_by), "note": rec.note,
    }


def _epoch_to_dict(span: EpochSpan) -> dict:
    return {"direction": span.direction, "label": span.label, "kind": span.kind, "generation": span.generation,
            "handshake": span.handshake, "cipher_suite": span.cipher_suite, "secret": span.secret,
            "first_record": span.first_record, "last_record": span.last_record, "records": span.count,
            "decrypted": span.decrypted, "first_time": span.first_time, "last_time": span.last_time,
            "installed_by": [i.role for i in span.installed]}


def connection_to_dict(conn: TimelineConnection, *, secrets: bool = True) -> dict:
    return {
        "id": _id(conn.id), "client": conn.client, "server": conn.server, "seen_by": list(conn.seen_by),
        "version": version_name(conn.version) if conn.version is not None else None,
        "cipher_suite": suite_name(conn.cipher_suite) if conn.cipher_suite is not None else None,
        "group": conn.group, "signature_scheme": conn.signature_scheme,
        "alpn": conn.alpn.decode(errors="replace") if conn.alpn else None, "server_name": conn.server_name,
        "client_random": _hex(conn.client_random), "server_random": _hex(conn.server_random),
        "hello_retry": conn.hello_retry, "resumed": conn.resumed, "resumed_with": conn.resumed_with,
        "offered_tickets": [mark_to_dict(u) for u in conn.offered_tickets],
        "unknown_identities": [i.hex() for i in conn.unknown_identities],
        "early_data_offered": conn.early_data_offered, "early_data_accepted": conn.early_data_accepted,
        "established": conn.established, "handshakes": conn.handshakes, "closed": conn.closed,
        "records": len(conn), "first_time": conn.first_time, "last_time": conn.last_time,
        "flights": [{"index": f.index, "direction": f.direction, "first_record": f.first_record,
                     "last_record": f.last_record, "records": f.count} for f in conn.flights],
        "epochs": [_epoch_to_dict(span) for span in conn.epochs.values()],
        "secrets": [{"name": s.name, "keylog_label": s.keylog_label, "derived_from": list(s.derived_from),
                     "derived_by": list(s.derived_by), "after_record": s.after_record,
                     "value": _hex(s.value) if secrets else None} for s in conn.secrets],
        "key_installs": [{"role": i.role, "usage": i.usage, "direction": i.direction, "epoch": i.epoch,
                          "generation": i.generation, "secret": i.secret, "after_record": i.after_record,
                          "time": i.time} for i in conn.key_installs],
        "tickets": [t.id for t in conn.tickets],
        "key_updates": [mark_to_dict(m) for m in conn.key_updates],
        "renegotiations": [mark_to_dict(m) for m in conn.renegotiations],
        "alerts": [mark_to_dict(m) for m in conn.alerts],
        "events": [mark_to_dict(m) for m in conn.events],
        "missing_keys": [list(k) for k in conn.missing_keys], "notes": list(conn.notes),
    }


def to_json(timeline: Timeline, *, records: bool = True, start: int = 0, count: int | None = None,
            secrets: bool = True) -> dict:
    """A dict of plain JSON values. records=False leaves the records out (connections and wallet only);
    start/count export a page; secrets=False leaves secret values out (names and provenance stay)."""
    out = {
        "records_total": len(timeline),
        "connections": [connection_to_dict(c, secrets=secrets) for c in timeline.connections.values()],
        "tickets": [mark_to_dict(t) for t in timeline.tickets],
    }
    if records:
        out["records"] = [record_to_dict(r) for r in timeline.records(start, count)]
    return out

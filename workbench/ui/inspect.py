"""What the inspector shows for one record: a summary, scapy's field tree with byte spans, the bytes.

The record's bytes come from the run (a live run's wire decoder, or the replayed capture); scapy
dissects them through workbench.capture's field_tree, decrypted when the keys were there.
"""
from __future__ import annotations

from dataclasses import dataclass

from workbench.timeline.model import CLIENT_TO_SERVER, Timeline, TimelineRecord
from workbench.timeline.names import content_type_name

from .fields import RecordFields, record_fields
from .render.html import epoch_chip, esc
from .render.packet_rows import record_details


@dataclass
class Inspection:
    record: TimelineRecord
    summary_html: str
    fields: RecordFields | None
    reason: str = ""           # why there is no field tree


def _secret_of(timeline: Timeline, rec: TimelineRecord) -> str | None:
    conn = timeline.connections.get(rec.connection)
    if conn is None:
        return None
    span = conn.epochs.get((rec.direction, rec.epoch))
    return span.secret if span is not None else None


def summary_html(timeline: Timeline, rec: TimelineRecord, decoded=None) -> str:
    direction = "client → server" if rec.direction == CLIENT_TO_SERVER else "server → client"
    content = content_type_name(rec.inner_type) if rec.inner_type is not None else "encrypted"
    details = record_details(rec)
    secret = _secret_of(timeline, rec)
    if not rec.protected:
        protection = "in the clear"
    elif rec.decrypted:
        protection = "decrypted" + (f" with {secret}" if secret else "")
    else:
        protection = "encrypted, no key to read it"
    items = [
        ("record", f"#{rec.index} of connection {rec.connection}" + (f", frame {rec.frame}" if rec.frame else "")),
        ("direction", direction),
        ("content", content + (f": {details}" if details else "")),
        ("length", f"{rec.length} bytes on the wire"
         + (f", {decoded.plaintext_length} in the clear" if decoded is not None and decoded.plaintext_length
            is not None and rec.protected else "")),
        ("sequence", "—" if rec.sequence is None else str(rec.sequence)),
        ("protection", protection),
    ]
    if rec.seen_by:
        items.append(("seen by", " + ".join(rec.seen_by)))
    if rec.note:
        items.append(("note", rec.note))
    body = "".join(f'<div><span class="wb-kv">{esc(k)}:</span> {esc(v)}</div>' for k, v in items)
    return (f'<div class="wb-record-summary" data-index="{rec.index}">'
            f'<div><b>Record #{rec.index}</b> {epoch_chip(rec.epoch)}</div>{body}</div>')


def inspect(timeline: Timeline, rec: TimelineRecord, decoded=None) -> Inspection:
    """The inspection of `rec`; `decoded` is its workbench.capture DecodedRecord when the run has one."""
    summary = summary_html(timeline, rec, decoded)
    wire = decoded.raw if decoded is not None and decoded.raw else rec.raw
    if not wire:
        return Inspection(rec, summary, None, "the bytes of this record are not available (not on the wire yet)")
    from workbench.capture import field_tree
    try:
        tree = field_tree(decoded) if decoded is not None else field_tree(wire)
    except Exception as exc:           # scapy could not dissect it: say so, show the bytes
        return Inspection(rec, summary, None, f"scapy could not dissect this record ({type(exc).__name__}: {exc})")
    data = getattr(tree.packet, "original", None) or wire
    reason = ""
    if decoded is not None and decoded.decrypted and decoded.plaintext is None:
        reason = "decrypted while loading; its content was not kept (a long capture's application data)"
    return Inspection(rec, summary, record_fields(tree, wire, data), reason)

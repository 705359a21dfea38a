"""Decoded records as JSON-able dicts and as a terminal timeline."""
from __future__ import annotations

from typing import Iterable

from workbench.tls.enums import ContentType, HandshakeType

from .model import DecodedRecord

_CONTENT = {int(t): t.name.lower() for t in ContentType}
_HANDSHAKE = {int(t): t.name.lower() for t in HandshakeType}


def content_type_name(value: int | None) -> str:
    if value is None:
        return "?"
    return _CONTENT.get(value, str(value))


def handshake_type_name(value: int) -> str:
    return _HANDSHAKE.get(value, str(value))


def record_to_json(rec: DecodedRecord, *, plaintext: bool = False) -> dict:
    """A dict of plain JSON values. Keys always present: src, dst, frame, outer_type, inner_type, handshake,
    epoch, decrypted (plus time, connection, direction, ...). plaintext=True adds the decrypted bytes as hex."""
    out = {
        "connection": rec.connection,
        "src": rec.src,
        "dst": rec.dst,
        "direction": rec.direction,
        "frame": rec.frame,
        "time": rec.time,
        "outer_type": rec.outer_type,
        "inner_type": rec.inner_type,
        "handshake": list(rec.handshake),
        "epoch": rec.epoch,
        "protected": rec.protected,
        "decrypted": rec.decrypted,
        "length": rec.length,
        "plaintext_length": rec.plaintext_length,
        "sequence": rec.sequence,
        "offset": rec.offset,
        "version": rec.version,
        "note": rec.note,
    }
    if plaintext:
        out["plaintext"] = rec.plaintext.hex() if rec.plaintext is not None else None
    return out


def describe(rec: DecodedRecord) -> str:
    """One line of text for a record: what a reader sees in it."""
    if rec.protected and not rec.decrypted:
        what = f"encrypted {content_type_name(rec.outer_type)}" if not rec.tls13 else "encrypted record"
    else:
        what = content_type_name(rec.inner_type)
        if rec.handshake:
            what += " " + ", ".join(handshake_type_name(t) for t in rec.handshake)
        elif rec.inner_type == 21 and rec.plaintext and len(rec.plaintext) >= 2:
            what += f" level {rec.plaintext[0]} description {rec.plaintext[1]}"
        elif rec.inner_type == 23:
            what += f" {rec.plaintext_length} bytes"
    if rec.note and not rec.decrypted and rec.protected:
        what += f"  [{rec.note}]"
    return what


def render_timeline(records: Iterable[DecodedRecord], *, width: int = 100) -> str:
    """A text timeline: one line per record, client -> server arrows, epoch and decryption status."""
    lines = []
    current = None
    for rec in records:
        if rec.connection != current:
            current = rec.connection
            client, server = (rec.src, rec.dst) if rec.direction == "client" else (rec.dst, rec.src)
            lines.append(f"== connection {current}: {client} -> {server}")
        arrow = "C->S" if rec.direction == "client" else "S->C"
        lock = "+" if rec.decrypted else ("x" if rec.protected else " ")
        line = f"{rec.frame:>7} {arrow} {lock} {rec.epoch:<14} {describe(rec)}"
        lines.append(line if len(line) <= width else line[:width - 3] + "...")
    return "\n".join(lines) + ("\n" if lines else "")

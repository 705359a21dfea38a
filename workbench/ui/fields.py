"""A record's field tree with the bytes each field covers, for the inspector's tree + hex view.

The tree itself is scapy's (workbench.capture's field_tree builds it). To highlight a field in the hex
view we also need where its bytes are: this walks the same scapy packet the same way the capture layer
does, and asks each field how many bytes it encodes to. Nothing here imports scapy: the packet object
comes from the capture layer and is only walked.

When scapy's encoding of a field does not add up to the bytes it was dissected from (a field scapy
cannot rebuild faithfully), the spans are dropped for that record and the tree is shown without
highlighting rather than with a wrong one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldLine:
    """One line of the tree: its depth, name, value (None for a group) and byte span [start, end)."""
    depth: int
    name: str
    value: str | None
    start: int | None = None
    end: int | None = None

    @property
    def label(self) -> str:
        text = self.name if self.value is None else f"{self.name} = {self.value}"
        return "\u00a0\u00a0" * self.depth + ("▾ " if self.value is None else "") + text


@dataclass(frozen=True, slots=True)
class RecordFields:
    """What the inspector shows for one record: the tree lines and the bytes they point into."""
    lines: tuple[FieldLine, ...]
    data: bytes               # the bytes the tree describes (the plaintext re-framed, for a decrypted record)
    wire: bytes               # the record as it crossed the wire
    decrypted_view: bool
    spans_exact: bool         # the spans add up to `data`: highlighting is trustworthy


def _is_packet(value) -> bool:
    return hasattr(value, "fields_desc") and hasattr(value, "getfieldval")


def _is_no_payload(packet) -> bool:
    return type(packet).__name__ == "NoPayload"


def _field_length(packet, fld, value) -> int:
    return len(fld.addfield(packet, b"", value))


def _sub_packet(value, depth: int, offset: int, out: list[FieldLine]) -> int:
    """Lines for a sub-packet at `offset`; returns where it ends. scapy dissected it from `original`
    (exactly its bytes inside a length-prefixed field, the rest of the buffer inside a list): fields that
    add up to more than that were misread, so their spans are dropped (the packet's own span stays) and a
    field is never highlighted in the wrong place."""
    first = len(out)
    end = _walk(value, depth, offset, out)
    original = getattr(value, "original", None)
    if isinstance(original, (bytes, bytearray)) and original and end > offset + len(original):
        end = offset + len(original)
        out[first] = FieldLine(out[first].depth, out[first].name, None, offset, end)
        for i in range(first + 1, len(out)):
            line = out[i]
            out[i] = FieldLine(line.depth, line.name, line.value)
    return end


def _walk(packet, depth: int, offset: int, out: list[FieldLine]) -> int:
    """Append lines for `packet` at `offset`; returns the offset after it (fields and payload)."""
    start = offset
    header_index = len(out)
    out.append(FieldLine(depth, packet.name, None, start, start))     # end fixed below
    for fld in packet.fields_desc:
        value = packet.getfieldval(fld.name)
        if _is_packet(value):
            out.append(FieldLine(depth + 1, fld.name, None, offset, None))
            group = len(out) - 1
            end = _sub_packet(value, depth + 2, offset, out)
            out[group] = FieldLine(depth + 1, fld.name, None, offset, end)
        elif isinstance(value, list) and value and all(_is_packet(v) for v in value):
            out.append(FieldLine(depth + 1, fld.name, None, offset, None))
            group = len(out) - 1
            cursor = offset
            for item in value:
                cursor = _sub_packet(item, depth + 2, cursor, out)
            out[group] = FieldLine(depth + 1, fld.name, None, offset, cursor)
            end = cursor
        else:
            try:
                length = _field_length(packet, fld, value)
            except Exception:        # a field scapy cannot re-encode: its span is unknown
                length = None
            try:
                text = fld.i2repr(packet, value)
            except Exception:
                text = repr(value)
            end = offset + length if length is not None else offset
            out.append(FieldLine(depth + 1, fld.name, str(text), offset, end if length is not None else None))
        offset = end
    payload = packet.payload
    if payload is not None and not _is_no_payload(payload):
        offset = _walk(payload, depth + 1, offset, out)
    out[header_index] = FieldLine(depth, packet.name, None, start, offset)
    return offset


def record_fields(tree, wire: bytes, data: bytes | None = None) -> RecordFields:
    """Lines with spans for a capture FieldTree (tree.packet is scapy's packet of `data`)."""
    data = bytes(data if data is not None else wire)
    lines: list[FieldLine] = []
    try:
        end = _walk(tree.packet, 0, 0, lines)
        exact = end == len(data)
    except Exception:
        lines, exact = [], False
    if not exact:
        lines = [FieldLine(line.depth, line.name, line.value) for line in lines] or _lines_from_nodes(tree.root)
    return RecordFields(tuple(lines), data, bytes(wire), bool(getattr(tree, "decrypted_view", False)), exact)


def _lines_from_nodes(node, depth: int = 0) -> list[FieldLine]:
    """The capture layer's FieldNode tree as lines, without spans."""
    lines = [FieldLine(depth, node.name, node.value)]
    for child in node.children:
        lines.extend(_lines_from_nodes(child, depth + 1))
    return lines

"""The field tree of one record, built by scapy's TLS layer: what a person looking at a record sees.

Only used on demand (never on the bulk replay path): scapy is imported here, lazily, and dissects one record.
Protected records are shown decrypted when the replay decrypted them: the plaintext is framed again as a
record of its inner content type and handed to scapy with the connection's TLS version, so scapy parses the
TLS 1.3 forms of the messages (EncryptedExtensions, Certificate with its request context, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import DecodedRecord


@dataclass
class FieldNode:
    name: str
    value: str | None = None
    children: list["FieldNode"] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "children": [c.to_dict() for c in self.children]}

    def to_text(self, indent: int = 0) -> str:
        line = "  " * indent + self.name + (f" = {self.value}" if self.value is not None else "")
        return "\n".join([line] + [c.to_text(indent + 1) for c in self.children])

    def find(self, name: str) -> list["FieldNode"]:
        """Every node (this one included) with this name, depth first."""
        found = [self] if self.name == name else []
        for child in self.children:
            found.extend(child.find(name))
        return found


@dataclass
class FieldTree:
    root: FieldNode
    packet: object                   # the scapy packet, for whoever wants scapy's own API (show(), fields)
    decrypted_view: bool             # the tree shows the decrypted content of a protected record

    def to_text(self) -> str:
        return self.root.to_text()


@dataclass(frozen=True)
class SessionState:
    """What scapy needs to know about the connection to dissect one record alone."""

    tls_version: int = 0x0303        # 0x0304 selects scapy's TLS 1.3 message forms


def _session(version: int):
    from scapy.layers.tls.session import tlsSession
    session = tlsSession()
    session.tls_version = version
    return session


def _node_of(packet) -> FieldNode:
    from scapy.packet import Packet
    node = FieldNode(packet.name)
    for fld in packet.fields_desc:
        value = packet.getfieldval(fld.name)
        if isinstance(value, Packet):
            child = FieldNode(fld.name, children=[_node_of(value)])
        elif isinstance(value, list) and value and all(isinstance(v, Packet) for v in value):
            child = FieldNode(fld.name, children=[_node_of(v) for v in value])
        else:
            try:
                text = fld.i2repr(packet, value)
            except Exception:       # a field scapy cannot render: show the raw value
                text = repr(value)
            child = FieldNode(fld.name, str(text))
        node.children.append(child)
    payload = packet.payload
    if payload is not None and payload.__class__.__name__ not in ("NoPayload",):
        node.children.append(_node_of(payload))
    return node


def field_tree(record_bytes: bytes | DecodedRecord, session_state: SessionState | DecodedRecord | None = None
               ) -> FieldTree:
    """scapy's field tree of one TLS record.

    record_bytes: the record as on the wire (or a DecodedRecord, whose bytes are used).
    session_state: a DecodedRecord (its decryption and TLS version are used: a decrypted record is shown in
    the clear), a SessionState, or None (TLS 1.2 framing; protected content stays opaque)."""
    from scapy.layers.tls.record import TLS

    record = record_bytes if isinstance(record_bytes, DecodedRecord) else None
    if record is not None:
        record_bytes = record.raw
        if session_state is None:
            session_state = record
    version = 0x0303
    data = bytes(record_bytes)
    decrypted_view = False
    if isinstance(session_state, DecodedRecord):
        version = 0x0304 if session_state.tls13 else 0x0303
        if session_state.protected and session_state.decrypted and session_state.plaintext is not None:
            plain = session_state.plaintext
            data = bytes((session_state.inner_type, 3, 3)) + len(plain).to_bytes(2, "big") + plain
            decrypted_view = True
    elif isinstance(session_state, SessionState):
        version = session_state.tls_version
    packet = TLS(data, tls_session=_session(version))
    return FieldTree(_node_of(packet), packet, decrypted_view)

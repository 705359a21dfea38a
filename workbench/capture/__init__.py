"""Captures: pcap/pcapng reading and writing, TCP reassembly, TLS record framing, decryption from a key log,
scapy field trees. The only package that imports scapy, and never on the replay path (field trees import it
lazily, for the one record a person looks at)."""
from .diagnostics import Diagnostic
from .keylog import KeyLog, load_keylog
from .model import AlertInfo, ConnectionSummary, DecodedRecord, KeyUpdateInfo, RenegotiationInfo, TicketInfo
from .pcap_io import (CaptureReader, PcapNgWriter, PcapWriter, SecretsBlock, inject_secrets, read_packets,
                      read_secrets, write_pcap, write_pcapng)
from .render import record_to_json, render_timeline
from .replay import RecordPipeline, Replay, replay


def field_tree(record_bytes: bytes, session_state=None):
    """scapy's field tree of one record (see field_tree.py); imported lazily to keep scapy off the bulk path."""
    from .field_tree import field_tree as _field_tree
    return _field_tree(record_bytes, session_state)


__all__ = [
    "AlertInfo", "CaptureReader", "ConnectionSummary", "DecodedRecord", "Diagnostic", "KeyLog", "KeyUpdateInfo",
    "PcapNgWriter", "PcapWriter", "RecordPipeline", "RenegotiationInfo", "Replay", "SecretsBlock", "TicketInfo", "field_tree",
    "inject_secrets", "load_keylog", "read_packets", "read_secrets", "record_to_json", "render_timeline", "replay",
    "write_pcap", "write_pcapng",
]

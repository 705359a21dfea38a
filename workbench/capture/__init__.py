"""Captures: pcap/pcapng reading and writing, TCP reassembly, TLS record framing, decryption from a key log,
live capture (loopback sniffer or our transports' tap), scapy field trees. The only package that imports scapy,
and never on the replay path: dissect.py and sniffer.py import it inside the functions that need it."""
from .capture_file import CaptureFiles, captures_directory, save_capture
from .diagnostics import Diagnostic
from .dissect import FieldNode, FieldTree, SessionState, field_tree
from .keylog import KeyLog, load_keylog
from .live import LiveCapture, choose_method
from .model import AlertInfo, ConnectionSummary, DecodedRecord, KeyUpdateInfo, RenegotiationInfo, TicketInfo
from .pcap_io import (CaptureReader, PcapNgWriter, PcapWriter, SecretsBlock, inject_secrets, read_packets,
                      read_secrets, write_pcap, write_pcapng)
from .render import record_to_json, render_timeline
from .replay import RecordPipeline, Replay, replay
from .sniffer import CapturePermissionError
from .tap_packets import TapPacketizer, frames_from_chunks

__all__ = [
    "AlertInfo", "CaptureFiles", "CapturePermissionError", "CaptureReader", "ConnectionSummary", "DecodedRecord",
    "Diagnostic", "FieldNode", "FieldTree", "KeyLog", "KeyUpdateInfo", "LiveCapture", "PcapNgWriter", "PcapWriter",
    "RecordPipeline", "RenegotiationInfo", "Replay", "SecretsBlock", "SessionState", "TapPacketizer", "TicketInfo",
    "captures_directory", "choose_method", "field_tree", "frames_from_chunks", "inject_secrets", "load_keylog",
    "read_packets", "read_secrets", "record_to_json", "render_timeline", "replay", "save_capture", "write_pcap",
    "write_pcapng",
]

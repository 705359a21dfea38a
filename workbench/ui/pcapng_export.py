"""A run's records as a pcapng that Wireshark opens decrypted: the records framed as TCP over IP over
Ethernet, and the key log in a Decryption Secrets Block.

In-process runs never touched a socket, so the frames are made by the capture layer's tap packetizer, as
for any tapped traffic: a three-way handshake, sequence and acknowledgement numbers that follow the bytes,
one segment per record (cut at MSS bytes), an ACK back, a FIN each way at the end, correct checksums.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from workbench.capture import TapPacketizer, write_pcapng
from workbench.capture.tap_packets import Frame

MSS = 1460                 # Ethernet-sized segments, as a capture of a real network shows them
_HANDSHAKE_LEAD = 0.0005   # seconds between the TCP handshake and the first record (and the last record and FIN)


@dataclass(frozen=True, slots=True)
class WireRecord:
    from_client: bool
    data: bytes
    time: float


def connection_frames(client: str, server: str, records: Iterable[WireRecord], *, closed: bool = True,
                      packetizer: TapPacketizer | None = None) -> list[Frame]:
    """The frames of one connection (client and server as "ip:port"), from its SYN to its FINs."""
    records = list(records)
    if not records:
        return []
    packetizer = packetizer if packetizer is not None else TapPacketizer(mss=MSS, seed=0)
    frames = packetizer.chunk(records[0].time - _HANDSHAKE_LEAD, client, server, b"")    # the handshake alone
    for record in records:
        src, dst = (client, server) if record.from_client else (server, client)
        frames += packetizer.chunk(record.time, src, dst, record.data)
    if closed:
        frames += packetizer.close(client, server, records[-1].time + _HANDSHAKE_LEAD)
    return frames


def write_run_pcapng(path, connections: Iterable[tuple[str, str, list[WireRecord]]], keylog_lines: Iterable[str]
                     ) -> int:
    """Write every connection (client endpoint, server endpoint, records) into one pcapng, frames in time
    order, with the key log lines in a Decryption Secrets Block. Returns the number of frames."""
    packetizer = TapPacketizer(mss=MSS, seed=0)       # seeded: the same run gives the same file
    frames: list[Frame] = []
    for client, server, records in connections:
        frames.extend(connection_frames(client, server, records, packetizer=packetizer))
    frames.sort(key=lambda frame: frame.time)
    lines = list(dict.fromkeys(line.rstrip("\n") for line in keylog_lines))
    keylog = "".join(f"{line}\n" for line in lines if line)
    write_pcapng(path, [(frame.time, frame.data) for frame in frames], linktype=packetizer.linktype,
                 keylog=keylog or None)
    return len(frames)

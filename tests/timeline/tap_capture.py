"""Turn what a traffic tap saw into a pcapng with its key log, the way a capture of the wire would look.

The chunks become packets with workbench.capture's tap packetizer (three-way handshake, sequence and
acknowledgement numbers that follow the bytes, segments of at most `mss` bytes, FINs at the end), and the
pcapng is written by save_capture with the key log in a Decryption Secrets Block.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from workbench.capture import frames_from_chunks, save_capture


def write_tap_pcapng(path, chunks: Iterable, keylog_lines: Iterable[str], *, mss: int = 1460) -> None:
    path = Path(path)
    keylog = "".join(line.rstrip("\n") + "\n" for line in keylog_lines)
    save_capture(frames_from_chunks(chunks, mss=mss, seed=0), keylog, name=path.name, directory=path.parent,
                 overwrite=True)

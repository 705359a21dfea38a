"""What tshark reports for a capture, per frame: the records' content types (TLS 1.3: inner types where it
decrypted, opaque outer types), the handshake message types, and which records it decrypted.

The decryption status per record comes from tshark's TLS debug log (-o tls.debug_file): a record it decrypted
has a "Plaintext[n]" dump between its "dissect_ssl3_record" line and the next record or frame.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

TSHARK = shutil.which("tshark")


@dataclass
class FrameView:
    content_types: list[int] = field(default_factory=list)
    opaque_types: list[int] = field(default_factory=list)
    handshake: list[int] = field(default_factory=list)
    decrypted: list[bool] = field(default_factory=list)      # one per record, in order

    @property
    def empty(self) -> bool:
        return not (self.content_types or self.opaque_types or self.handshake)

    def add_record(self, outer_type: int, inner_type: int | None, handshake, *, opaque: bool,
                   decrypted: bool) -> None:
        """One record's types as tshark's fields show them: a protected TLS 1.3 record's outer type is opaque,
        and its inner type is shown only when it was decrypted."""
        if opaque:
            self.opaque_types.append(outer_type)
            if decrypted:
                self.content_types.append(inner_type)
        else:
            self.content_types.append(outer_type)
        self.handshake.extend(handshake)


def _ints(text: str) -> list[int]:
    return [int(x, 0) for x in text.split(",") if x]


_FRAME = re.compile(r"^dissect_ssl enter frame #(\d+) \((first time|already visited)\)")


def _parse_debug(path: str) -> dict[int, list[bool]]:
    out: dict[int, list[bool]] = {}
    current: list[bool] | None = None
    with open(path, errors="replace") as f:
        for line in f:
            m = _FRAME.match(line)
            if m:
                current = out.setdefault(int(m.group(1)), []) if m.group(2) == "first time" else None
            elif current is not None and line.startswith("dissect_ssl3_record: content_type"):
                current.append(False)
            elif current is not None and current and line.startswith("Plaintext["):
                current[-1] = True
    return out


def tshark_view(capture: str, keylog: str | None = None, *, decode_as_port: int | None = None,
                keylog_option: bool = True, timeout: float = 60) -> dict[int, FrameView]:
    """Per frame number: what tshark 4.x shows for the TLS records completed in that frame."""
    with tempfile.TemporaryDirectory() as tmp:
        debug = os.path.join(tmp, "tls-debug.txt")
        cmd = [TSHARK, "-n", "-r", capture, "-o", f"tls.debug_file:{debug}"]
        if keylog and keylog_option:
            cmd += ["-o", f"tls.keylog_file:{keylog}"]
        if decode_as_port:
            cmd += ["-d", f"tcp.port=={decode_as_port},tls"]
        cmd += ["-Y", "tls", "-T", "fields", "-E", "separator=/t", "-e", "frame.number",
                "-e", "tls.record.content_type", "-e", "tls.record.opaque_type", "-e", "tls.handshake.type"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 and not proc.stdout:
            raise RuntimeError(f"tshark failed: {proc.stderr}")
        frames: dict[int, FrameView] = {}
        for line in proc.stdout.splitlines():
            cols = line.split("\t")
            cols += [""] * (4 - len(cols))
            view = FrameView(_ints(cols[1]), _ints(cols[2]), _ints(cols[3]))
            if not view.empty:
                frames[int(cols[0])] = view
        decrypted = _parse_debug(debug) if os.path.exists(debug) else {}
    for number, view in frames.items():
        view.decrypted = decrypted.get(number, [])
    return frames


def our_view(records) -> dict[int, FrameView]:
    """The same view built from DecodedRecords."""
    frames: dict[int, FrameView] = {}
    for rec in records:
        view = frames.setdefault(rec.frame, FrameView())
        view.add_record(rec.outer_type, rec.inner_type, rec.handshake, opaque=rec.protected and rec.tls13,
                        decrypted=rec.decrypted)
        view.decrypted.append(rec.decrypted)
    return frames

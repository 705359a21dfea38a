"""Saving what a capture recorded: `captures/<name>.pcapng` with the TLS key log in a Decryption Secrets Block
(the layout `editcap --inject-secrets tls,KEYS` writes, so Wireshark and tshark open it decrypted with nothing
else), or, on request, `captures/<name>.pcap` plus the key log in `captures/<name>.keys`.

The files hold the secrets of the sessions they record: they are created readable by their owner only, and an
existing file is never overwritten unless asked.

Where `captures/` is: $TLS_WORKBENCH_CAPTURES when set; else the `captures/` folder of the source checkout the
package runs from; else `captures/` under the current directory.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .pcap_io import CaptureReader, PcapNgWriter, PcapWriter

CAPTURES_ENV = "TLS_WORKBENCH_CAPTURES"
FORMATS = ("pcapng", "pcap")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


@dataclass(frozen=True)
class CaptureFiles:
    """What was written: the capture, and the key log file next to it (pcap format only)."""

    capture: Path
    keylog: Path | None
    format: str
    packets: int
    secrets: int            # key log lines saved (in the Decryption Secrets Block or the .keys file)


def captures_directory() -> Path:
    """Where captures go by default (see the module docstring); not created here."""
    configured = os.environ.get(CAPTURES_ENV)
    if configured:
        return Path(configured).expanduser()
    checkout = Path(__file__).resolve().parents[2] / "captures"
    if (checkout / "README.md").is_file():
        return checkout
    return Path.cwd() / "captures"


def default_name(prefix: str = "live") -> str:
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_name(name: str) -> str:
    """The stem of a capture name (a known suffix dropped); ValueError for a name that is not a plain file name."""
    if not _NAME.match(name) or name in (".", ".."):
        raise ValueError(f"capture name {name!r}: use letters, digits, '.', '_' and '-' (no folders)")
    for ext in (".pcapng", ".pcap", ".keys"):
        if name.endswith(ext):
            return name[:-len(ext)]
    return name


def _target(directory: Path, name: str | None, suffixes: tuple[str, ...], overwrite: bool) -> Path:
    """directory/<name> (without suffix); an automatic name gets -2, -3, ... rather than replacing a file."""
    if name is not None:
        stem = directory / check_name(name)
        taken = [s for s in suffixes if stem.with_name(stem.name + s).exists()]
        if taken and not overwrite:
            raise FileExistsError(f"{stem}{taken[0]} exists (pass overwrite=True to replace it)")
        return stem
    base = default_name()
    for n in range(1, 10_000):
        stem = directory / (base if n == 1 else f"{base}-{n}")
        if not any(stem.with_name(stem.name + s).exists() for s in suffixes):
            return stem
    raise FileExistsError(f"no free capture name like {base} in {directory}")


def _open_private(path: Path):
    """A new file readable by its owner only (it holds secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)                 # O_CREAT's mode does not apply to a file that existed
    return os.fdopen(fd, "wb")


def save_capture(packets: Iterable[tuple[float, int, bytes]], keylog_text: str, *, name: str | None = None,
                 directory=None, format: str = "pcapng", overwrite: bool = False) -> CaptureFiles:
    """Write (time, linktype, frame) packets and a key log as captures/<name>.pcapng (secrets embedded) or
    captures/<name>.pcap + captures/<name>.keys. Every packet must share one link type (pcap has one per file;
    so does the pcapng written here). Returns the paths."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    folder = Path(directory) if directory is not None else captures_directory()
    folder.mkdir(parents=True, exist_ok=True)
    suffixes = (".pcapng",) if format == "pcapng" else (".pcap", ".keys")
    stem = _target(folder, name, suffixes, overwrite)
    capture_path = stem.with_name(stem.name + suffixes[0])
    secrets = sum(1 for line in keylog_text.splitlines() if line.strip() and not line.startswith("#"))
    it = iter(packets)
    first = next(it, None)
    linktype = first[1] if first is not None else 1
    count = 0
    with _open_private(capture_path) as f:
        if format == "pcapng":
            writer = PcapNgWriter(f, linktype, secrets=keylog_text or None)
        else:
            writer = PcapWriter(f, linktype)
        if first is not None:
            writer.write(first[2], first[0])
            count = 1
            for time_, link, data in it:
                if link != linktype:
                    raise ValueError(f"packet {count + 1}: link type {link} differs from {linktype}")
                writer.write(data, time_)
                count += 1
    keylog_path = None
    if format == "pcap":
        keylog_path = stem.with_name(stem.name + ".keys")
        with _open_private(keylog_path) as f:
            f.write(keylog_text.encode())
    return CaptureFiles(capture_path, keylog_path, format, count, secrets)


def packets_of(path) -> Iterable[tuple[float, int, bytes]]:
    """(time, linktype, frame) of every packet of a capture file, for save_capture."""
    for packet in CaptureReader(path):
        yield packet.time, packet.linktype, packet.data

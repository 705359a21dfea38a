"""NSS key log (SSLKEYLOGFILE) reading, tolerant and incremental.

Accepted, per draft-ietf-tls-keylogfile: LF, CRLF or CR line ends, empty lines, `#` comments, upper- or
lower-case hex. Tolerated beyond the draft: tabs or several spaces between fields, leading/trailing blanks,
a UTF-8 byte order mark. A malformed line is skipped and remembered in `rejected`; it never hides the
other lines (scapy's parser drops the whole file in that case).

A key log written while we decode grows under our feet: `refresh()` reads only what was appended since the last
read (the byte offset is remembered) and holds back a last line that has no line end yet, because the writer
may be in the middle of it.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

# Labels whose secret we know the size of, to reject a line cut in half.
TLS13_LABELS = (
    "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
)
_SECRET_SIZES = {label: (32, 48, 64) for label in TLS13_LABELS}
_SECRET_SIZES["CLIENT_RANDOM"] = (48,)
_SECRET_SIZES["RSA"] = (48,)

_LINE_END = re.compile(rb"\r\n|\r|\n")
_LABEL = re.compile(r"[A-Za-z0-9_]+\Z")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+\Z")


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line_number: int
    text: str
    reason: str


@dataclass
class KeyLog:
    """Secrets by (label, client random). Build with `KeyLog.from_file(path)`, `KeyLog.from_text(text)` or
    empty, then `add_text()` more (a pcapng Decryption Secrets Block, a live writer's output)."""

    path: str | None = None
    secrets: dict[tuple[str, bytes], bytes] = field(default_factory=dict)
    rejected: list[RejectedLine] = field(default_factory=list)
    _offset: int = 0                 # bytes of `path` consumed so far
    _pending: bytes = b""            # an unterminated last line
    _line_number: int = 0
    _file_id: tuple | None = None
    _checked: float = float("-inf")
    recheck_interval: float = 0.05

    @classmethod
    def from_file(cls, path) -> "KeyLog":
        log = cls(path=os.fspath(path))
        log.refresh(final=True)
        return log

    @classmethod
    def from_text(cls, text: str | bytes) -> "KeyLog":
        log = cls()
        log.add_text(text)
        return log

    # -- input ------------------------------------------------------------------------------------------------
    def add_text(self, text: str | bytes) -> int:
        """Parse complete text (every line, the last one even without a line end); returns lines accepted."""
        data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
        return self._parse(data, final=True)

    def refresh(self, *, final: bool = False) -> int:
        """Read what was appended to `path` since the last call; returns the number of new secrets.

        With final=True an unterminated last line is parsed too (the writer is done). A file that shrank was
        replaced: it is read again from the start (secrets already known stay)."""
        if self.path is None:
            return 0
        try:
            st = os.stat(self.path)
        except OSError:
            return 0
        file_id = (st.st_dev, st.st_ino)
        if st.st_size < self._offset or (self._file_id is not None and file_id != self._file_id):
            self._offset, self._pending = 0, b""
        self._file_id = file_id
        added = 0
        if st.st_size > self._offset:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            self._offset += len(data)
            added += self._parse(self._pending + data, final=False)
        if final and self._pending:
            added += self._parse(b"", final=True)
        return added

    def _parse(self, data: bytes, *, final: bool) -> int:
        if not final:
            # keep an unterminated tail; a trailing CR ends its line (a LF that follows later makes an empty line)
            last = max(data.rfind(b"\n"), data.rfind(b"\r"))
            self._pending = data[last + 1:]
            data = data[:last + 1]
        else:
            data = self._pending + data
            self._pending = b""
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        added = 0
        for raw in _LINE_END.split(data):
            if not raw:
                continue                         # empty line, or the LF half of a CRLF split across reads
            self._line_number += 1
            added += self._parse_line(raw)
        return added

    def _parse_line(self, raw: bytes) -> int:
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._reject(raw.decode("utf-8", "replace"), "not UTF-8")
            return 0
        if not line or line.startswith("#"):
            return 0
        parts = line.split()
        if len(parts) != 3:
            self._reject(line, f"expected 3 fields (label, client random, secret), found {len(parts)}")
            return 0
        label, random_hex, secret_hex = parts
        if not _LABEL.match(label):
            self._reject(line, f"label {label!r} is not a key log label")
            return 0
        if not _HEX.match(random_hex) or not _HEX.match(secret_hex):
            self._reject(line, "client random or secret is not hexadecimal")
            return 0
        label = label.upper()
        sizes = _SECRET_SIZES.get(label)
        if sizes is not None and len(random_hex) != 64 and label != "RSA":
            self._reject(line, f"client random is {len(random_hex) // 2} bytes, expected 32")
            return 0
        if sizes is not None and len(secret_hex) // 2 not in sizes:
            self._reject(line, f"{label} secret is {len(secret_hex) // 2} bytes, expected {' or '.join(map(str, sizes))}")
            return 0
        key = (label, bytes.fromhex(random_hex))
        secret = bytes.fromhex(secret_hex)
        if self.secrets.get(key) == secret:
            return 0
        self.secrets[key] = secret
        return 1

    def _reject(self, text: str, reason: str) -> None:
        if len(self.rejected) < 1000:
            self.rejected.append(RejectedLine(self._line_number, text[:200], reason))

    # -- lookup -----------------------------------------------------------------------------------------------
    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self.secrets.get((label, client_random))

    def lookup(self, label: str, client_random: bytes) -> bytes | None:
        """Like get(), but on a miss reads what the writer appended since (live decoding). The file is looked
        at no more than every `recheck_interval` seconds, so a connection with no keys costs no system calls."""
        secret = self.secrets.get((label, client_random))
        if secret is None and self.follows_files():
            now = time.monotonic()
            if now - self._checked >= self.recheck_interval:
                self._checked = now
                if self.refresh():
                    secret = self.secrets.get((label, client_random))
        return secret

    def follows_files(self) -> bool:
        """Whether refresh() may find secrets that were appended since (a file is behind this key log)."""
        return self.path is not None

    def labels_for(self, client_random: bytes) -> list[str]:
        return sorted(label for (label, cr) in self.secrets if cr == client_random)

    def __len__(self) -> int:
        return len(self.secrets)

    def __contains__(self, key) -> bool:
        return key in self.secrets

    def to_text(self) -> str:
        """The secrets as a key log (one line each), e.g. for a pcapng Decryption Secrets Block."""
        return "".join(f"{label} {cr.hex()} {secret.hex()}\n" for (label, cr), secret in self.secrets.items())


def load_keylog(source) -> KeyLog:
    """A KeyLog from a path, text/bytes holding key log lines, or a KeyLog (returned as is).

    A path that does not exist raises FileNotFoundError; to follow a key log that a program has yet to create,
    pass KeyLog(path=...) (it is read as it appears and grows)."""
    if source is None:
        return KeyLog()
    if isinstance(source, KeyLog):
        return source
    if isinstance(source, bytes) or (isinstance(source, str) and ("\n" in source or "\r" in source)):
        return KeyLog.from_text(source)
    if isinstance(source, str) and len(source.split()) == 3 and not os.path.exists(source):
        return KeyLog.from_text(source)              # a single key log line
    if not os.path.exists(source):
        raise FileNotFoundError(f"key log {os.fspath(source)!r} does not exist")
    return KeyLog.from_file(source)

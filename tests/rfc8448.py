"""Read byte strings out of the RFC 8448 trace text ("Example Handshake Traces for TLS 1.3").

The trace lists values as indented hex blocks under a label, e.g.

      ClientHello (196 octets):  01 00 00 c0 03 03 66 60 26 1f f9 47 ce
         a4 9c ...

and blocks may run across page breaks (form feed, page footer and header lines).

    trace_bytes("Simple 1-RTT", "ClientHello")              # first ClientHello of section 3
    trace_bytes("Resumed 0-RTT", "payload", occurrence=0)   # the first "payload (...)" of section 4
    trace_sections()                                        # titles of the numbered sections

`section_title_substring` picks the numbered section (e.g. "3.  Simple 1-RTT Handshake") whose
title contains it; `label` is the text before " (N octets):" exactly ("ClientHello",
"complete record", "ClientHello prefix"); `occurrence` counts matches of that label inside the
section from 0. The octet count in the label is checked against the bytes read.
"""
from __future__ import annotations

import functools
import re
from tests.shared import REFERENCE

TRACE_PATH = REFERENCE / "rfc" / "draft-ietf-tls-tls13-vectors-latest-2018-09-27.txt"

# "3.  Simple 1-RTT Handshake" at the start of a line; the table of contents has dot leaders instead.
_SECTION_RE = re.compile(r"^(\d+)\.\s{2}(\S.*?)\s*$")
_LABEL_RE = re.compile(r"^\s+(?P<label>\S.*?) \((?P<count>\d+) octets\):\s*(?P<rest>.*)$")
_HEX_LINE_RE = re.compile(r"^\s+(?:[0-9a-f]{2}\s+)*[0-9a-f]{2}\s*$")
_PAGE_FURNITURE_RE = re.compile(r"^\s*$|^\f|^Thomson\s.*\[Page \d+\]$|^Internet-Draft\s")


@functools.lru_cache(maxsize=None)
def _lines() -> tuple[str, ...]:
    return tuple(TRACE_PATH.read_text(encoding="ascii").splitlines())


@functools.lru_cache(maxsize=None)
def _sections() -> tuple[tuple[str, int, int], ...]:
    """(title, first line, end line) of each numbered section body."""
    lines = _lines()
    starts = [(m.group(2), i) for i, line in enumerate(lines)
              if (m := _SECTION_RE.match(line)) and ". . ." not in line]
    return tuple((title, start, starts[k + 1][1] if k + 1 < len(starts) else len(lines))
                 for k, (title, start) in enumerate(starts))


def trace_sections() -> list[str]:
    return [title for title, _, _ in _sections()]


def _section(section_title_substring: str) -> tuple[int, int]:
    matches = [(start, end) for title, start, end in _sections() if section_title_substring in title]
    if len(matches) != 1:
        raise LookupError(f"{section_title_substring!r} matches {len(matches)} sections of {trace_sections()}")
    return matches[0]


def trace_bytes(section_title_substring: str, label: str, occurrence: int = 0) -> bytes:
    """The bytes of the `occurrence`-th block labelled `label` in the chosen section."""
    lines = _lines()
    start, end = _section(section_title_substring)
    seen = 0
    for i in range(start, end):
        m = _LABEL_RE.match(lines[i])
        if not m or m.group("label") != label:
            continue
        if seen < occurrence:
            seen += 1
            continue
        return _read_block(lines, i, end, int(m.group("count")), m.group("rest"))
    raise LookupError(f"no occurrence {occurrence} of {label!r} in section {section_title_substring!r}")


def _read_block(lines: tuple[str, ...], label_line: int, end: int, count: int, rest: str) -> bytes:
    tokens = rest.split() if rest and rest != "(empty)" else []
    i = label_line + 1
    while len(tokens) < count and i < end:
        line = lines[i]
        if _HEX_LINE_RE.match(line):
            tokens.extend(line.split())
        elif not _PAGE_FURNITURE_RE.match(line):
            break
        i += 1
    data = bytes.fromhex("".join(tokens))
    if len(data) != count:
        raise ValueError(f"block at line {label_line + 1} announces {count} octets, read {len(data)}")
    return data

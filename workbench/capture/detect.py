"""Recognising TLS from the bytes of a TCP stream, whatever the port.

A stream is TLS when it opens with a ClientHello record, or (for a capture that started mid-connection) when
its first bytes parse as a run of valid record headers. Anything else (HTTP, SSH, ...) is rejected after the
first bytes, so non-TLS connections cost nothing more.
"""
from __future__ import annotations

import enum

RECORD_HEADER = 5
MAX_RECORD_LENGTH = (1 << 14) + 2048      # TLS 1.2's ciphertext limit, the larger of the two versions
CONTENT_TYPES = (20, 21, 22, 23, 24)


class Verdict(enum.Enum):
    TLS = "tls"
    NOT_TLS = "not tls"
    NEED_MORE = "need more bytes"


def valid_header(data: bytes, pos: int = 0) -> bool:
    """Is there a plausible TLS record header (SSL 3.0 to TLS 1.3 wire versions) at `pos`?"""
    return (data[pos] in CONTENT_TYPES and data[pos + 1] == 3 and data[pos + 2] <= 4
            and ((data[pos + 3] << 8) | data[pos + 4]) <= MAX_RECORD_LENGTH)


def looks_like_client_hello(data: bytes) -> Verdict:
    """A handshake record (version 3.x) whose first message is a ClientHello with a 3.x client version."""
    n = len(data)
    if n >= 1 and data[0] != 22:
        return Verdict.NOT_TLS
    if n >= 2 and data[1] != 3:
        return Verdict.NOT_TLS
    if n >= 3 and data[2] > 4:
        return Verdict.NOT_TLS
    if n >= 5 and ((data[3] << 8) | data[4]) > MAX_RECORD_LENGTH:
        return Verdict.NOT_TLS
    if n >= 6 and data[5] != 1:
        return Verdict.NOT_TLS
    if n >= 10 and data[9] != 3:
        return Verdict.NOT_TLS
    return Verdict.TLS if n >= 10 else Verdict.NEED_MORE


def looks_like_record_stream(data: bytes, *, records_wanted: int = 2) -> Verdict:
    """The first bytes are consecutive valid record headers: `records_wanted` of them, or fewer that end
    exactly at the end of the data we have."""
    pos, seen, n = 0, 0, len(data)
    while seen < records_wanted:
        if pos + RECORD_HEADER > n:
            if pos == n and seen:
                return Verdict.TLS        # whole records up to the end of what arrived
            # a partial header: check what is there
            for i in range(pos, n):
                k = i - pos
                if (k == 0 and data[i] not in CONTENT_TYPES) or (k == 1 and data[i] != 3) or (k == 2 and data[i] > 4):
                    return Verdict.NOT_TLS
            return Verdict.NEED_MORE
        if not valid_header(data, pos):
            return Verdict.NOT_TLS
        pos += RECORD_HEADER + ((data[pos + 3] << 8) | data[pos + 4])
        seen += 1
        if pos > n:
            return Verdict.NEED_MORE if seen < records_wanted else Verdict.TLS
    return Verdict.TLS


def classify_stream(first_bytes: bytes, *, from_start: bool) -> Verdict:
    """Verdict on one direction of a TCP stream from its first bytes.

    from_start: the SYN was seen, so these are the first bytes the endpoint sent; a TLS client opens with a
    ClientHello and a TLS server with a handshake record. Without the SYN the capture may have begun in the
    middle of a stream, so a run of valid record headers is required instead."""
    if not first_bytes:
        return Verdict.NEED_MORE
    hello = looks_like_client_hello(first_bytes)
    if hello is not Verdict.NOT_TLS:
        return hello
    return looks_like_record_stream(first_bytes, records_wanted=1 if from_start else 2)

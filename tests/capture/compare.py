"""Test helper: where tshark's per-frame view of a capture and ours differ (see tshark_oracle.py)."""
from __future__ import annotations

FIELDS = ("content_types", "opaque_types", "handshake", "decrypted")


def differences(theirs, ours) -> list[str]:
    """One line per frame and field that differ, or per frame that only one side has TLS records in."""
    out = []
    for frame in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(frame), ours.get(frame)
        if a is None or b is None:
            out.append(f"frame {frame}: tshark {a}, ours {b}")
            continue
        for what in FIELDS:
            if getattr(a, what) != getattr(b, what):
                out.append(f"frame {frame} {what}: tshark {getattr(a, what)}, ours {getattr(b, what)}")
    return out

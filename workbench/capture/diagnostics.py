"""What went wrong while decoding a capture, and where: damage is reported, never raised."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    stage: str                      # "capture" (file), "tcp" (reassembly), "tls" (records), "keys" (missing secrets)
    message: str
    frame: int | None = None        # the frame number where it was noticed
    offset: int | None = None       # byte offset: in the file for "capture", in the TCP stream otherwise
    connection: int | None = None   # connection id

    def __str__(self) -> str:
        where = []
        if self.connection is not None:
            where.append(f"connection {self.connection}")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        return f"[{self.stage}] {self.message}" + (f" ({', '.join(where)})" if where else "")

    def to_dict(self) -> dict:
        return {"stage": self.stage, "message": self.message, "frame": self.frame, "offset": self.offset,
                "connection": self.connection}


class DiagnosticLog(list):
    """A list of diagnostics with a cap, so a badly damaged capture cannot fill memory with complaints."""

    def __init__(self, limit: int = 10_000):
        super().__init__()
        self.limit = limit
        self.suppressed = 0

    def add(self, diagnostic: Diagnostic) -> None:
        if len(self) < self.limit:
            self.append(diagnostic)
        else:
            self.suppressed += 1


def add_diagnostic(diagnostics: list, diagnostic: Diagnostic) -> None:
    """Add to a DiagnosticLog (which caps what it keeps) or to a plain list, whichever the caller handed us."""
    add = getattr(diagnostics, "add", None)
    if add is not None:
        add(diagnostic)
    else:
        diagnostics.append(diagnostic)

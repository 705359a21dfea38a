"""Problems in plain words: a peer refused, a key is missing, a capture is damaged at frame N.

Every failure the workbench shows goes through `describe()`, which turns an exception or a capture
diagnostic into a `Problem`: a short headline for the banner and a sentence of detail. Tracebacks are
never the message.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

from workbench.tls import errors
from workbench.tls.enums import AlertDescription, name_of


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str           # "peer", "protocol", "usage", "network", "keys", "capture", "program", "internal"
    headline: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.headline}: {self.detail}" if self.detail else self.headline


def _alert(description: int | None) -> str:
    if description is None:
        return "an alert"
    return f"{name_of(AlertDescription, description)} ({description})"


def describe(exc: BaseException, where: str = "") -> Problem:
    """A Problem for an exception raised while running a connection, a peer program, or a replay."""
    prefix = f"{where}: " if where else ""
    if isinstance(exc, errors.AlertReceived):
        return Problem("peer", f"{prefix}the peer refused", f"it sent the fatal alert {_alert(exc.description)}")
    if isinstance(exc, errors.ProtocolError):
        detail = str(exc)
        expected, received = getattr(exc, "expected", None), getattr(exc, "received", None)
        if expected or received:
            detail += f" (expected {expected or '?'}, received {received or '?'})"
        detail += f"; we sent the alert {_alert(int(exc.alert))}" if getattr(exc, "alert", None) is not None else ""
        return Problem("protocol", f"{prefix}the peer broke the protocol", detail)
    if isinstance(exc, errors.UsageError):
        return Problem("usage", f"{prefix}not possible now", str(exc))
    if type(exc).__name__ in ("PeerError", "PeerTimeout", "PeerExited", "NetnsUnavailable"):
        return Problem("program", f"{prefix}the peer program failed", _first_lines(str(exc)))
    if isinstance(exc, ConnectionRefusedError):
        return Problem("network", f"{prefix}connection refused", "nothing is listening on that address and port")
    if isinstance(exc, socket.gaierror):
        return Problem("network", f"{prefix}unknown host", f"the name does not resolve ({exc.strerror})")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Problem("network", f"{prefix}timed out", str(exc) if str(exc) not in ("", "timed out") else
                       "the peer did not answer in time")
    if isinstance(exc, ConnectionError):
        return Problem("network", f"{prefix}the connection broke", str(exc) or type(exc).__name__)
    if isinstance(exc, FileNotFoundError):
        return Problem("capture", f"{prefix}file not found", str(exc.filename or exc))
    if isinstance(exc, OSError):
        return Problem("network", f"{prefix}{exc.strerror or 'system error'}", str(exc))
    return Problem("internal", f"{prefix}unexpected error", f"{type(exc).__name__}: {exc}")


def _first_lines(text: str, lines: int = 6) -> str:
    kept = text.strip().splitlines()[:lines]
    return "\n".join(kept)


def describe_diagnostic(diagnostic) -> Problem:
    """A workbench.capture Diagnostic (damage, a missing key, a record that did not decrypt)."""
    message = diagnostic.message
    where = []
    if diagnostic.connection is not None:
        where.append(f"connection {diagnostic.connection}")
    if diagnostic.frame is not None:
        where.append(f"frame {diagnostic.frame}")
    place = " at " + ", ".join(where) if where else ""
    if diagnostic.stage == "keys":
        return Problem("keys", f"a key is missing{place}", message)
    if diagnostic.stage == "capture":
        return Problem("capture", f"the capture is damaged{place}", message)
    if diagnostic.stage == "tcp":
        return Problem("capture", f"TCP data is missing or out of order{place}", message)
    return Problem("capture", f"a TLS record could not be read{place}", message)


def describe_missing_keys(conn) -> list[Problem]:
    """The key log lines a replayed connection lacked (label, client random)."""
    return [Problem("keys", f"a key is missing for connection {conn.id}",
                    f"the key log has no {label} line for client random {random_hex[:16]}…: "
                    "the records it protects stay encrypted")
            for label, random_hex in conn.missing_keys]

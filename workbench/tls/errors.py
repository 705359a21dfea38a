"""Errors of the engine, and the one place that maps an error to the alert sent.

Two families, as in h11:
- ProtocolError: the peer sent something wrong. It carries the alert we send, and
  says what arrived and what was expected. The connection sends that alert and
  becomes closed.
- UsageError: the caller misused the API (key_update before the handshake, ...).
  Nothing is sent; the connection state is unchanged.
"""
from __future__ import annotations

from .enums import AlertDescription


class TLSError(Exception):
    """Base of every error the engine raises."""


class UsageError(TLSError):
    """Local misuse of the API; nothing was sent."""


class ProtocolError(TLSError):
    """The peer broke the protocol; `alert` is what we answer with."""

    alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, message: str, *, alert: AlertDescription | None = None,
                 expected: str | None = None, received: str | None = None):
        if alert is not None:
            self.alert = alert
        self.expected = expected
        self.received = received
        detail = message
        if expected is not None or received is not None:
            detail += f" (expected {expected or '?'}, received {received or '?'})"
        self.description = message
        super().__init__(detail)


class DecodeError(ProtocolError):
    alert = AlertDescription.decode_error


class IllegalParameter(ProtocolError):
    alert = AlertDescription.illegal_parameter


class UnexpectedMessage(ProtocolError):
    alert = AlertDescription.unexpected_message


class BadRecordMac(ProtocolError):
    alert = AlertDescription.bad_record_mac


class RecordOverflow(ProtocolError):
    alert = AlertDescription.record_overflow


class HandshakeFailure(ProtocolError):
    alert = AlertDescription.handshake_failure


class ProtocolVersionError(ProtocolError):
    alert = AlertDescription.protocol_version


class DecryptError(ProtocolError):
    alert = AlertDescription.decrypt_error


class MissingExtension(ProtocolError):
    alert = AlertDescription.missing_extension


class UnsupportedExtension(ProtocolError):
    alert = AlertDescription.unsupported_extension


class BadCertificate(ProtocolError):
    alert = AlertDescription.bad_certificate


class CertificateRequired(ProtocolError):
    alert = AlertDescription.certificate_required


class NoApplicationProtocol(ProtocolError):
    alert = AlertDescription.no_application_protocol


class AlertReceived(TLSError):
    """The peer sent a fatal alert (or close_notify) and the connection is over."""

    def __init__(self, description: int, level: int = 2):
        from .enums import name_of
        self.description = description
        self.level = level
        super().__init__(f"peer sent alert {name_of(AlertDescription, description)} ({description})")


def alert_for(error: BaseException) -> AlertDescription:
    """The alert to send for an error raised while processing peer input."""
    if isinstance(error, ProtocolError):
        return error.alert
    return AlertDescription.internal_error

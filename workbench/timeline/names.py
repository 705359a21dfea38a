"""Readable names for what the timeline shows (content types, handshake messages, alerts, versions, suites)."""
from __future__ import annotations

from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.tls.enums import AlertDescription, AlertLevel, CipherSuite, ContentType, HandshakeType, NamedGroup

_CONTENT = {
    int(ContentType.CHANGE_CIPHER_SPEC): "ChangeCipherSpec",
    int(ContentType.ALERT): "Alert",
    int(ContentType.HANDSHAKE): "Handshake",
    int(ContentType.APPLICATION_DATA): "ApplicationData",
    int(ContentType.HEARTBEAT): "Heartbeat",
}
_HANDSHAKE = {int(t): "".join(part.capitalize() for part in t.name.split("_")) for t in HandshakeType}
_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


def content_type_name(value: int | None) -> str:
    if value is None:
        return "encrypted"
    return _CONTENT.get(value, f"content type {value}")


def handshake_name(value: int, hello_retry: bool = False) -> str:
    if hello_retry:
        return "HelloRetryRequest"
    return _HANDSHAKE.get(value, f"handshake type {value}")


def alert_name(description: int | None) -> str:
    if description is None:
        return "encrypted"
    try:
        return AlertDescription(description).name
    except ValueError:
        return f"alert {description}"


def alert_level_name(level: int | None) -> str:
    if level is None:
        return "?"
    try:
        return AlertLevel(level).name.lower()
    except ValueError:
        return str(level)


def version_name(version: int | None) -> str:
    if version is None:
        return "?"
    return _VERSIONS.get(version, f"0x{version:04x}")


def suite_name(suite: int | None) -> str:
    if suite is None:
        return "?"
    try:
        return CipherSuite(suite).name
    except ValueError:
        pass
    info = CIPHER_SUITES.get(suite)
    if info is not None:
        return info.name
    try:                    # the capture layer knows the TLS 1.2 CBC suites it can decrypt
        from workbench.capture.suites import suite_name as capture_suite_name
    except ImportError:
        return f"0x{suite:04X}"
    return capture_suite_name(suite)


def group_name(group: int | None) -> str:
    if group is None:
        return "?"
    try:
        return NamedGroup(group).name.lower()
    except ValueError:
        return f"0x{group:04x}"

"""Readable names, including code points nobody named."""
from __future__ import annotations

from workbench.timeline.names import (alert_level_name, alert_name, content_type_name, group_name, handshake_name,
                                      suite_name, version_name)


def test_names_of_known_and_unknown_code_points():
    assert content_type_name(22) == "Handshake" and content_type_name(None) == "encrypted"
    assert content_type_name(99) == "content type 99"
    assert handshake_name(1) == "ClientHello" and handshake_name(2, hello_retry=True) == "HelloRetryRequest"
    assert handshake_name(24) == "KeyUpdate" and handshake_name(200) == "handshake type 200"
    assert alert_name(100) == "no_renegotiation" and alert_name(None) == "encrypted" and alert_name(255) == "alert 255"
    assert alert_level_name(2) == "fatal" and alert_level_name(None) == "?"
    assert version_name(0x0304) == "TLS 1.3" and version_name(0x7F1C) == "0x7f1c"
    assert suite_name(0x1301) == "TLS_AES_128_GCM_SHA256" and suite_name(0xFFFF) == "0xFFFF"
    assert suite_name(0xC027) == "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
    assert group_name(0x001D) == "x25519" and group_name(None) == "?"

"""The JSON export: plain values all the way down, pages, secrets on request."""
from __future__ import annotations

import json

from workbench.timeline import timeline_from_capture, to_json

from .conftest import capture_path, requires_captures


def _rfc8446():
    return timeline_from_capture(capture_path("wireshark/tls13-rfc8446.pcap"),
                                 capture_path("wireshark/tls13-rfc8446.keys"))


@requires_captures
def test_export_is_plain_json_and_keeps_the_story():
    timeline = _rfc8446()
    data = json.loads(json.dumps(timeline.to_json()))
    assert data["records_total"] == len(timeline) == len(data["records"])
    first, second = data["connections"]
    assert second["resumed_with"] == "T1" and second["early_data_accepted"] is True
    assert second["version"] == "TLS 1.3" and second["cipher_suite"] == "TLS_AES_128_GCM_SHA256"
    assert first["tickets"] == ["T1", "T2"]
    t1 = data["tickets"][0]
    assert t1["used_by"] == [{"kind": "ticket_use", "ticket": "T1", "connection": 1, "record": 9,
                              "identity_index": 0, "accepted": True}]
    assert t1["nonce"] == "00" and t1["age_add"] == 2873805630
    record = data["records"][3]
    assert record["handshake"] == ["EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"]
    assert record["handshake_types"] == [8, 11, 15, 20] and record["epoch"] == "handshake"
    assert record["content"] == "Handshake" and record["seen_by"] == ["capture"] and record["frame"] == 2
    early = [e for e in second["epochs"] if e["label"] == "early"][0]
    assert early["records"] == 2 and early["secret"] == "c e traffic"
    assert all(s["value"] for s in first["secrets"])


@requires_captures
def test_pages_and_hidden_secrets():
    data = to_json(_rfc8446(), start=9, count=3, secrets=False)
    assert [r["index"] for r in data["records"]] == [9, 10, 11]
    assert all(s["value"] is None and s["name"] for c in data["connections"] for s in c["secrets"])
    assert "records" not in to_json(_rfc8446(), records=False)

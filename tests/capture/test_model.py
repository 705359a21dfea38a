import json

from workbench.capture.model import ConnectionSummary, DecodedRecord, TicketInfo


def test_content_type_seen_by_a_reader():
    rec = DecodedRecord(0, "a:1", "b:2", "client", 1, 0.0, 23, 0x0303, 20, 0)
    assert rec.content_type == 23
    rec.protected, rec.tls13 = True, True
    assert rec.content_type is None
    rec.decrypted, rec.inner_type = True, 22
    assert rec.content_type == 22
    rec.tls13 = False                      # TLS 1.2: the outer type is the real one
    assert rec.content_type == 23


def test_summary_to_dict_is_json():
    s = ConnectionSummary(3, "a:1", "b:2", 7, client_random=b"\x01" * 32, psk_identities=[b"\x02"])
    s.tickets.append(TicketInfo(9, 0x0304, 7200, b"\xaa", 5, b"\x00"))
    d = s.to_dict()
    json.dumps(d)
    assert d["client_random"] == "01" * 32 and d["tickets"][0]["ticket"] == "aa" and d["psk_identities"] == ["02"]

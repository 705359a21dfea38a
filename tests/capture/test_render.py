import json

from workbench.capture import record_to_json, render_timeline, replay
from workbench.capture.render import describe

from .conftest import reference, requires_captures


@requires_captures
def test_record_to_json_and_timeline():
    capture = reference("illustrated-tls13/capture.pcap")
    records = list(replay(capture.path, capture.keylog))
    js = [record_to_json(rec) for rec in records]
    json.dumps(js)
    for key in ("src", "dst", "frame", "outer_type", "inner_type", "handshake", "epoch", "decrypted"):
        assert all(key in j for j in js)
    assert js[0]["src"] == "127.0.0.1:59219" and js[0]["handshake"] == [1] and js[0]["epoch"] == "plaintext"
    text = render_timeline(records)
    assert "client_hello" in text and "application-0" in text and "new_session_ticket" in text
    assert len(text.splitlines()) == len(records) + 1


@requires_captures
def test_describe_says_what_is_missing():
    capture = reference("wireshark/tls13-rfc8446.pcap (noearly keys)")
    early = next(rec for rec in replay(capture.path, capture.keylog) if rec.epoch == "early")
    assert describe(early).startswith("encrypted record") and "CLIENT_EARLY_TRAFFIC_SECRET" in describe(early)
    j = record_to_json(early, plaintext=True)
    assert j["decrypted"] is False and j["inner_type"] is None and j["plaintext"] is None and j["note"]

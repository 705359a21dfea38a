"""The TLS decoder: epochs and keys per direction (TLS 1.3 early/handshake/application-N with KeyUpdate,
HelloRetryRequest; TLS 1.2 CCS, renegotiation, abbreviated handshakes, CBC), missing keys named, summaries."""
from __future__ import annotations

from workbench.capture import replay
from workbench.capture.synthetic import write_tls13_capture
from workbench.capture.synthetic12 import write_tls12_capture

from .conftest import reference, requires_captures


def _write(tmp_path, writer, kw):
    capture, keys = str(tmp_path / "s.pcap"), str(tmp_path / "s.keys")
    with open(keys, "w") as f:
        f.write(writer(capture, **kw))
    return capture, keys


def test_key_updates_and_padding_in_the_summary(tmp_path):
    capture, keys = _write(tmp_path, write_tls13_capture, dict(records=100, key_update_every=10, padding=7))
    r = replay(capture, keys)
    records = list(r)
    updates = r.connections[0].key_updates
    assert len(updates) == sum(1 for rec in records if 24 in rec.handshake)
    for direction in ("client", "server"):
        mine = [u for u in updates if u.direction == direction]
        assert [u.generation for u in mine] == list(range(1, len(mine) + 1))
        epochs = [rec.epoch for rec in records if rec.direction == direction and rec.epoch.startswith("app")]
        assert epochs[-1] == f"application-{len(mine)}"
    data = [rec for rec in records if rec.inner_type == 23]
    assert all(rec.length == rec.plaintext_length + 1 + 7 + 16 for rec in data)       # type byte, padding, tag


def test_early_data_summary_and_epochs(tmp_path):
    capture, keys = _write(tmp_path, write_tls13_capture, dict(records=10, connections=2, early_data=True))
    r = replay(capture, keys)
    records = list(r)
    early = [rec for rec in records if rec.epoch == "early"]
    assert [(rec.inner_type, rec.handshake) for rec in early] == [(23, []), (22, [5])]
    assert early[0].plaintext.startswith(b"GET /early")
    second = r.connections[1]
    assert second.early_data_offered and second.early_data_accepted and second.resumed


def test_only_application_secrets_still_decrypt_application_data(tmp_path):
    capture, keys = _write(tmp_path, write_tls13_capture, dict(records=20))
    partial = "".join(line + "\n" for line in open(keys).read().splitlines() if "_TRAFFIC_SECRET_0" in line)
    r = replay(capture, partial)
    records = list(r)
    handshake = [rec for rec in records if rec.epoch == "handshake"]
    assert handshake and not any(rec.decrypted for rec in handshake)
    assert all("HANDSHAKE_TRAFFIC_SECRET" in rec.note for rec in handshake)
    application = [rec for rec in records if rec.epoch.startswith("application")]
    assert len(application) >= 20 and all(rec.decrypted for rec in application)
    assert {label for label, _ in r.connections[0].missing_keys} == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                                                     "SERVER_HANDSHAKE_TRAFFIC_SECRET"}


def test_tls12_renegotiation_epochs_and_outcome(tmp_path):
    capture, keys = _write(tmp_path, write_tls12_capture, dict(renegotiate="server", records=4))
    r = replay(capture, keys)
    records = list(r)
    assert [x.initiator for x in r.connections[0].renegotiations] == ["server"]
    assert r.connections[0].renegotiations[0].outcome == "completed"
    assert [rec.epoch for rec in records if rec.inner_type == 23] == ["application-0"] * 2 + ["application-1"] * 2
    assert all(rec.decrypted for rec in records if rec.protected)


def test_hello_retry_request(tmp_path):
    capture, keys = _write(tmp_path, write_tls13_capture, dict(records=6, hello_retry=True))
    r = replay(capture, keys)
    records = list(r)
    assert r.connections[0].hello_retry
    assert [t for rec in records if not rec.protected for t in rec.handshake] == [1, 2, 1, 2]
    assert all(rec.decrypted for rec in records if rec.protected)


@requires_captures
def test_summaries_tickets_and_resumption():
    capture = reference("wireshark/tls13-rfc8446.pcap")
    r = replay(capture.path, capture.keylog).run()
    first, second = r.connections[0], r.connections[1]
    assert (first.version, first.cipher_suite_name) == (0x0304, "TLS_AES_128_GCM_SHA256")
    assert len(first.tickets) == 2 and all(t.nonce is not None and t.lifetime > 0 for t in first.tickets)
    assert second.resumed and second.psk_accepted == 0 and second.psk_identities
    assert second.resumed_from is not None and second.resumed_from[0] == 0
    assert 1 in first.tickets[second.resumed_from[1]].used_by
    assert second.early_data_offered and second.early_data_accepted is True
    assert not first.missing_keys and not second.missing_keys


@requires_captures
def test_missing_early_secret_is_named_and_decoding_goes_on():
    capture = reference("wireshark/tls13-rfc8446.pcap (noearly keys)")
    r = replay(capture.path, capture.keylog)
    records = list(r)
    early = [rec for rec in records if rec.epoch == "early"]
    assert early and not any(rec.decrypted for rec in early)
    assert all("CLIENT_EARLY_TRAFFIC_SECRET" in rec.note for rec in early)
    assert [d.stage for d in r.diagnostics] == ["keys"]
    assert r.connections[1].missing_keys == [("CLIENT_EARLY_TRAFFIC_SECRET",
                                              r.connections[1].client_random.hex())]
    # the rest of that connection decrypts
    later = [rec for rec in records if rec.connection == 1 and rec.epoch.startswith("application")]
    assert later and all(rec.decrypted for rec in later)


@requires_captures
def test_renegotiation_with_missing_keys_is_reported_not_fatal():
    capture = reference("hotplace/tls12_tls12renogotiation.pcapng")
    r = replay(capture.path, capture.keylog)
    records = list(r)
    summary = r.connections[0]
    assert [x.initiator for x in summary.renegotiations] == ["client"]
    assert summary.renegotiations[0].client_random.hex().startswith("a3eb163c")
    epochs = {rec.epoch for rec in records}
    assert {"plaintext", "application-0", "application-1"} <= epochs
    second = [rec for rec in records if rec.epoch == "application-1"]
    assert second and not any(rec.decrypted for rec in second)
    assert all("CLIENT_RANDOM" in rec.note and "a3eb163c" in rec.note for rec in second)
    assert summary.missing_keys == [("CLIENT_RANDOM", summary.renegotiations[0].client_random.hex())]


@requires_captures
def test_refused_renegotiation():
    capture = reference("hotplace/tls12_tls12no_renogotiation.pcapng")
    summary = replay(capture.path, capture.keylog).run().connections[0]
    assert [(x.initiator, x.outcome) for x in summary.renegotiations] == [("client", "refused")]
    assert (1, 100) in [(a.level, a.description) for a in summary.alerts]


@requires_captures
def test_cbc_suites_both_mac_orders_decrypt():
    for name in ("hotplace/tls12_tls12etm_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng",
                 "hotplace/tls12_tls12mte_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng",
                 "illustrated-tls12/capture.pcap"):
        capture = reference(name)
        records = list(replay(capture.path, capture.keylog))
        protected = [rec for rec in records if rec.protected]
        assert protected and all(rec.decrypted for rec in protected), name
        data = [rec for rec in protected if rec.inner_type == 23]
        assert data and all(rec.plaintext_length == len(rec.plaintext) > 0 for rec in data)


@requires_captures
def test_psk_suite_without_keys_decodes_the_plaintext_part():
    capture = reference("wireshark/tls12-aes256gcm.pcap")
    r = replay(capture.path)
    records = list(r)
    plain_handshake = [t for rec in records if not rec.protected for t in rec.handshake]
    assert plain_handshake == [1, 2, 14, 16]
    assert all(not rec.decrypted and "CLIENT_RANDOM" in rec.note for rec in records if rec.protected)
    assert r.connections[0].cipher_suite_name == "TLS_PSK_WITH_AES_256_GCM_SHA384"

"""Captures made now, between OpenSSL and GnuTLS programs, agree with tshark record by record.

Each scenario runs in a private network namespace while our LiveCapture sniffs its loopback and decrypts with
the key logs the programs are writing. The capture is saved as pcapng with the key log in a Decryption Secrets
Block; then per frame the records' content types (TLS 1.3: opaque and inner), handshake message types and
decryption status must be the same for
- tshark reading that file with no key log option (the Decryption Secrets Block alone),
- our replay of that file (also from the Decryption Secrets Block alone),
- the records LiveCapture decoded while the programs were talking.
A difference is a failure. Each scenario also checks that what it was about really happened (a ticket was used,
keys were updated both ways, records were padded, early data was accepted and decrypted)."""
from __future__ import annotations

import pytest

from workbench.capture import replay
from workbench.capture.sniffer import capture_permission
from workbench.peers import missing_reason

from . import peer_lab
from .compare import differences
from .peer_lab import CLIENT_HELLO, HELLO_REQUEST, PeerLab
from .tshark_oracle import our_view, tshark_view

_allowed, _why = capture_permission()
pytestmark = [
    pytest.mark.capture, pytest.mark.interop,
    pytest.mark.skipif(not _allowed, reason=f"live capture needs root or CAP_NET_RAW: {_why}"),
    pytest.mark.skipif(missing_reason("openssl", "gnutls-cli", "gnutls-serv", "tshark") is not None,
                       reason=str(missing_reason("openssl", "gnutls-cli", "gnutls-serv", "tshark"))),
]


@pytest.fixture
def lab(private_netns, pem_files, tmp_path):
    lab = PeerLab(private_netns, pem_files, tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


def run_and_compare(lab: PeerLab, scenario, tmp_path):
    """Run the scenario, save the capture, compare the three views; returns (replay, its records)."""
    scenario(lab)
    lab.stop()
    capture = lab.capture
    assert capture.method == "sniffer", capture.reason
    saved = capture.save("session", directory=tmp_path)
    theirs = tshark_view(str(saved.capture), decode_as_port=lab.port)
    r = replay(saved.capture)
    records = list(r)
    assert r.secrets_blocks == 1
    assert differences(theirs, our_view(records)) == []
    assert differences(theirs, our_view(capture.records)) == []
    assert any(any(view.decrypted) for view in theirs.values()), "tshark decrypted nothing"
    protected = [rec for rec in records if rec.protected]
    assert protected and all(rec.decrypted for rec in protected), [
        (rec.frame, rec.note) for rec in protected if not rec.decrypted]
    assert not [d for d in r.diagnostics if d.stage in ("capture", "tcp")]
    return r, records


def test_tls13_tickets_and_resumption(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls13_tickets_and_resumption, tmp_path)
    first, second = r.connections[0], r.connections[1]
    assert first.tickets and not first.resumed
    assert second.resumed and second.psk_accepted is not None
    assert second.resumed_from is not None and second.resumed_from[0] == first.id
    assert second.id in first.tickets[second.resumed_from[1]].used_by
    assert [rec for rec in records if rec.connection == second.id and rec.handshake == [11]] == []   # no certificate


def test_tls12_ticket_resumption(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls12_ticket_resumption, tmp_path)
    first, second = r.connections[0], r.connections[1]
    assert first.version == second.version == 0x0303
    assert first.tickets and not first.resumed and second.resumed
    types = [t for rec in records if rec.connection == second.id for t in rec.handshake]
    assert 11 not in types and 16 not in types            # abbreviated: no Certificate, no ClientKeyExchange
    assert any(rec.connection == second.id and rec.inner_type == 23 for rec in records)


def test_tls13_key_updates_from_openssl_client(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls13_key_updates_from_openssl_client, tmp_path)
    updates = [(u.direction, u.request_update, u.generation) for u in r.connections[0].key_updates]
    assert updates == [("client", True, 1), ("server", False, 1), ("client", False, 2)]
    assert {rec.epoch for rec in records if rec.direction == "client"} >= {"application-0", "application-1",
                                                                         "application-2"}
    assert any(rec.epoch == "application-1" and rec.direction == "server" and rec.plaintext == b"after K\n"
               for rec in records)


def test_tls13_key_updates_from_gnutls_client(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls13_key_updates_from_gnutls_client, tmp_path)
    updates = r.connections[0].key_updates
    by_direction = {d: [u for u in updates if u.direction == d] for d in ("client", "server")}
    assert [u.request_update for u in by_direction["client"]] == [True, False]    # ^rekey^, then the answer to K
    assert [u.request_update for u in by_direction["server"]] == [False, True]    # k (also the answer), K
    last = max(u.generation for u in by_direction["server"])
    assert any(rec.direction == "server" and rec.epoch == f"application-{last}" and rec.decrypted
               for rec in records)


def test_tls12_client_initiated_renegotiation(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls12_client_initiated_renegotiation, tmp_path)
    summary = r.connections[0]
    assert [(x.initiator, x.outcome) for x in summary.renegotiations] == [("client", "completed")]
    hellos = [rec for rec in records if CLIENT_HELLO in rec.handshake]
    assert [h.protected for h in hellos] == [False, True]             # the second under the first keys
    assert {rec.epoch for rec in records} >= {"application-0", "application-1"}
    assert any(rec.epoch == "application-1" and rec.plaintext == b"after\n" for rec in records)


def test_tls12_server_initiated_renegotiation(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls12_server_initiated_renegotiation, tmp_path)
    summary = r.connections[0]
    assert [(x.initiator, x.outcome) for x in summary.renegotiations] == [("server", "completed")]
    request = next(rec for rec in records if HELLO_REQUEST in rec.handshake)
    assert request.direction == "server" and request.protected and request.decrypted
    assert any(rec.epoch == "application-1" and rec.plaintext == b"after\n" for rec in records)


def _padded(records, direction: str, block: int) -> list:
    """Protected TLS 1.3 records of `direction`, after the handshake keys, checked for the padding block."""
    mine = [rec for rec in records if rec.direction == direction and rec.tls13 and rec.decrypted]
    assert mine
    for rec in mine:
        inner = rec.length - 16                                      # AEAD tag
        assert inner % block == 0, (rec.frame, rec.length)
        assert rec.plaintext_length + 1 < inner                      # padding bytes were really there
    return mine


def test_tls13_record_padding_from_openssl_client(lab, tmp_path):
    _r, records = run_and_compare(lab, peer_lab.tls13_record_padding_from_openssl_client, tmp_path)
    padded = _padded(records, "client", peer_lab.CLIENT_PADDING)
    assert any(rec.plaintext == b"padded\n" for rec in padded)
    unpadded = [rec for rec in records if rec.direction == "server" and rec.tls13 and rec.decrypted]
    assert unpadded and all(rec.length - 16 == rec.plaintext_length + 1 for rec in unpadded)   # gnutls-serv


def test_tls13_record_padding_from_openssl_server(lab, tmp_path):
    _r, records = run_and_compare(lab, peer_lab.tls13_record_padding_from_openssl_server, tmp_path)
    padded = _padded(records, "server", peer_lab.SERVER_PADDING)
    assert any(rec.plaintext == b"padded reply\n" for rec in padded)


def _early_records(r, records):
    second = r.connections[1]
    assert second.resumed and second.early_data_offered and second.early_data_accepted is True
    early = [rec for rec in records if rec.connection == second.id and rec.epoch == "early"]
    assert early and all(rec.decrypted for rec in early)
    return early


def test_tls13_early_data_to_gnutls(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls13_early_data_to_gnutls, tmp_path)
    early = _early_records(r, records)
    assert b"".join(rec.plaintext for rec in early if rec.inner_type == 23) == peer_lab.EARLY_TEXT.encode()


def test_tls13_early_data_to_openssl(lab, tmp_path):
    r, records = run_and_compare(lab, peer_lab.tls13_early_data_to_openssl, tmp_path)
    early = _early_records(r, records)
    assert b"".join(rec.plaintext for rec in early if rec.inner_type == 23) == peer_lab.EARLY_TEXT.encode()
    assert any(5 in rec.handshake for rec in early)                  # EndOfEarlyData closes the epoch


def test_pcap_and_key_file_decrypt_the_same_and_the_file_alone_does_not(lab, tmp_path):
    """The pcap flavour: tshark given the .keys file sees what it saw in the pcapng; without it, nothing is
    decrypted (the comparison can tell decrypted from not)."""
    peer_lab.tls13_key_updates_from_openssl_client(lab)
    lab.stop()
    pcapng = lab.capture.save("both", directory=tmp_path)
    pcap = lab.capture.save("both", directory=tmp_path, format="pcap")
    assert pcap.capture.name == "both.pcap" and pcap.keylog.name == "both.keys"
    embedded = tshark_view(str(pcapng.capture), decode_as_port=lab.port)
    with_file = tshark_view(str(pcap.capture), str(pcap.keylog), decode_as_port=lab.port)
    bare = tshark_view(str(pcap.capture), decode_as_port=lab.port)
    assert differences(embedded, with_file) == []
    assert not any(any(view.decrypted) for view in bare.values())
    assert differences(with_file, bare)
    assert differences(with_file, our_view(replay(pcap.capture, pcap.keylog))) == []

"""Record protection: the RFC 8448 records byte for byte, real TLS 1.2 / 1.3 captures decrypted with
their key logs, tampering, padding, size limits and sequence numbers."""
from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.tls.capture_records import (
    CAPTURES, first_certificate_of, read_keylog, split_handshake, split_records, tcp_streams,
)
from tests.tls.rfc8448_vectors import load_trace
from workbench.tls.cipher_suites import CIPHER_SUITES, suite_info
from workbench.tls.enums import CipherSuite, ContentType
from workbench.tls.errors import BadRecordMac, ProtocolError, RecordOverflow, UnexpectedMessage, UsageError
from workbench.tls.key_schedule import finished12, finished_verify_data, key_block12, traffic_keys
from workbench.tls.record import Record
from workbench.tls.record_protection import NullProtection, TLS12AEADProtection, TLS13Protection
from workbench.tls.signatures import certificate_verify_content, verify

SUITE = suite_info(CipherSuite.TLS_AES_128_GCM_SHA256)
HANDSHAKE, ALERT, APPLICATION_DATA = ContentType.HANDSHAKE, ContentType.ALERT, ContentType.APPLICATION_DATA


def as_record(raw: bytes) -> Record:
    assert int.from_bytes(raw[3:5], "big") == len(raw) - 5
    return Record(raw[0], int.from_bytes(raw[1:3], "big"), raw[5:])


@pytest.fixture(scope="module")
def trace():
    return load_trace()


def trace_secret(trace, section, label, actor="server"):
    return trace.value(section, actor, f'derive secret "tls13 {label}"', "expanded")


# --- RFC 8448 section 3: every protected record ----------------------------------------------

def rfc8448_records(trace):
    """(traffic secret label, sender, content type, payload, complete record) in sending order."""
    send = lambda actor, what, index=0: (trace.value(3, actor, f"send {what} record", "payload", index),  # noqa: E731
                                         trace.value(3, actor, f"send {what} record", "complete record", index))
    return [
        ("s hs traffic", HANDSHAKE, *send("server", "handshake", 1)),       # EE, Certificate, CV, Finished
        ("c hs traffic", HANDSHAKE, *send("client", "handshake", 1)),       # client Finished
        ("s ap traffic", HANDSHAKE, *send("server", "handshake", 2)),       # NewSessionTicket
        ("c ap traffic", APPLICATION_DATA, *send("client", "application_data")),
        ("s ap traffic", APPLICATION_DATA, *send("server", "application_data")),
        ("c ap traffic", ALERT, *send("client", "alert")),
        ("s ap traffic", ALERT, *send("server", "alert")),
    ]


def test_rfc8448_records_are_reproduced_by_seal(trace):
    writers = {}
    records = rfc8448_records(trace)
    assert len(records) == 7
    for label, content_type, payload, complete in records:
        writer = writers.setdefault(label, TLS13Protection(SUITE, trace_secret(trace, 3, label), label))
        assert writer.seal(content_type, payload) == complete, label
    assert {label: w.sequence for label, w in writers.items()} == \
        {"s hs traffic": 1, "c hs traffic": 1, "s ap traffic": 3, "c ap traffic": 2}


def test_rfc8448_records_open_back(trace):
    readers = {}
    for label, content_type, payload, complete in rfc8448_records(trace):
        reader = readers.setdefault(label, TLS13Protection(SUITE, trace_secret(trace, 3, label), label))
        assert reader.open(as_record(complete)) == (content_type, payload), label


def test_rfc8448_early_data_record(trace):
    early = trace_secret(trace, 4, "c e traffic", actor="client")
    payload = trace.value(4, "client", "send application_data record", "payload")
    complete = trace.value(4, "client", "send application_data record", "complete record")
    assert TLS13Protection(SUITE, early, "early").seal(APPLICATION_DATA, payload) == complete
    assert TLS13Protection(SUITE, early, "early").open(as_record(complete)) == (APPLICATION_DATA, payload)


def test_records_are_not_accepted_out_of_order(trace):
    reader = TLS13Protection(SUITE, trace_secret(trace, 3, "c ap traffic"), "application")
    second = trace.value(3, "client", "send alert record", "complete record")
    with pytest.raises(BadRecordMac):
        reader.open(as_record(second))                      # sealed with sequence 1, read as 0


# --- TLS 1.3: tampering, padding, limits -------------------------------------------------------

@pytest.fixture
def pair():
    secret = os.urandom(32)
    return TLS13Protection(SUITE, secret, "application"), TLS13Protection(SUITE, secret, "application")


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("where", ["content type", "version", "ciphertext", "tag"])
def test_tampering_is_bad_record_mac(pair, where):
    writer, reader = pair
    record = as_record(writer.seal(APPLICATION_DATA, b"attack at dawn"))
    if where == "content type":
        record = Record(ContentType.HANDSHAKE, record.version, record.fragment)
    elif where == "version":
        record = Record(record.content_type, 0x0301, record.fragment)
    elif where == "ciphertext":
        record = Record(record.content_type, record.version, flip(record.fragment, 3))
    else:
        record = Record(record.content_type, record.version, flip(record.fragment, len(record.fragment) - 1))
    with pytest.raises(BadRecordMac) as error:
        reader.open(record)
    assert error.value.alert == 20
    assert reader.sequence == 0


def test_truncated_record_is_bad_record_mac(pair):
    writer, reader = pair
    record = as_record(writer.seal(APPLICATION_DATA, b"data"))
    with pytest.raises(BadRecordMac):
        reader.open(Record(record.content_type, record.version, record.fragment[:10]))


def test_padding_is_stripped(pair):
    writer, reader = pair
    plain = writer.seal(APPLICATION_DATA, b"hello")
    padded = writer.seal(HANDSHAKE, b"hello", padding=200)
    assert len(padded) == len(plain) + 200
    assert reader.open(as_record(plain)) == (APPLICATION_DATA, b"hello")
    assert reader.open(as_record(padded)) == (HANDSHAKE, b"hello")


def test_content_ending_in_zero_bytes_survives_padding(pair):
    writer, reader = pair
    assert reader.open(as_record(writer.seal(APPLICATION_DATA, b"ab\x00\x00", padding=7))) == \
        (APPLICATION_DATA, b"ab\x00\x00")


def test_all_zero_inner_plaintext_is_unexpected_message(pair):
    writer, reader = pair
    with pytest.raises(UnexpectedMessage):
        reader.open(as_record(writer.seal(0, b"", padding=12)))
    with pytest.raises(UnexpectedMessage):
        reader.open(as_record(writer.seal(0, b"\x00\x00\x00")))


def test_largest_record_round_trips(pair):
    writer, reader = pair
    data = os.urandom(2 ** 14)
    record = writer.seal(APPLICATION_DATA, data)
    assert len(record) == 5 + 2 ** 14 + 1 + 16
    assert reader.open(as_record(record)) == (APPLICATION_DATA, data)


def test_a_memoryview_slice_seals_as_its_bytes(pair):
    """send() seals the records of a large payload from slices of one memoryview, not copies."""
    writer, reader = pair
    data = os.urandom(3 * 1000)
    view = memoryview(data)
    for index, padding in enumerate((0, 5, 0)):
        part = view[index * 1000:(index + 1) * 1000]
        record = writer.seal(APPLICATION_DATA, part, padding=padding)
        assert reader.open(as_record(record)) == (APPLICATION_DATA, bytes(part))
    _, writer12, reader12 = tls12_pair(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    assert reader12.open(as_record(writer12.seal(APPLICATION_DATA, view[:1000]))) == (APPLICATION_DATA, data[:1000])


def test_oversize_payload_or_padding_is_refused_when_sealing(pair):
    writer, _ = pair
    with pytest.raises(UsageError):
        writer.seal(APPLICATION_DATA, bytes(2 ** 14 + 1))
    with pytest.raises(UsageError):
        writer.seal(APPLICATION_DATA, bytes(2 ** 14), padding=1)
    assert writer.sequence == 0


def test_oversize_ciphertext_is_record_overflow(pair):
    _, reader = pair
    with pytest.raises(RecordOverflow) as error:
        reader.open(Record(APPLICATION_DATA, 0x0303, bytes(2 ** 14 + 257)))
    assert error.value.alert == 22


def test_oversize_inner_plaintext_is_record_overflow():
    # A peer that authenticates 2^14 + 2 bytes of inner plaintext: within the ciphertext limit,
    # beyond the plaintext one. Built with the raw AEAD, as no honest sealer can make it.
    secret = os.urandom(32)
    key, iv = traffic_keys(SUITE, secret)
    inner = bytes(2 ** 14 + 1) + b"\x17"
    header = bytes((23, 3, 3)) + (len(inner) + 16).to_bytes(2, "big")
    fragment = AESGCM(key).encrypt(iv, inner, header)
    with pytest.raises(RecordOverflow):
        TLS13Protection(SUITE, secret, "application").open(Record(23, 0x0303, fragment))


def test_sequence_number_exhaustion_is_an_error(pair):
    writer, reader = pair
    writer.sequence = 2 ** 64 - 2
    reader.sequence = 2 ** 64 - 2
    assert reader.open(as_record(writer.seal(APPLICATION_DATA, b"last"))) == (APPLICATION_DATA, b"last")
    with pytest.raises(ProtocolError):
        writer.seal(APPLICATION_DATA, b"one too many")
    with pytest.raises(ProtocolError):
        reader.open(Record(APPLICATION_DATA, 0x0303, bytes(32)))


@pytest.mark.parametrize("code", [c for c, info in CIPHER_SUITES.items() if info.is_tls13])
def test_every_tls13_suite_round_trips(code):
    suite = suite_info(code)
    secret = os.urandom(suite.hash_length)
    writer, reader = TLS13Protection(suite, secret, "x"), TLS13Protection(suite, secret, "x")
    for n in range(3):
        record = writer.seal(APPLICATION_DATA, bytes([n]) * 100, padding=n)
        assert len(record) == 5 + 100 + 1 + n + suite.tag_length
        assert record[:3] == b"\x17\x03\x03"
        assert reader.open(as_record(record)) == (APPLICATION_DATA, bytes([n]) * 100)


# --- plaintext epoch ---------------------------------------------------------------------------

def test_null_protection_frames_and_returns_the_fragment():
    protection = NullProtection(record_version=0x0301)
    assert protection.seal(HANDSHAKE, b"\x01\x00\x00\x00") == b"\x16\x03\x01\x00\x04\x01\x00\x00\x00"
    assert protection.open(Record(HANDSHAKE, 0x0303, b"abc")) == (HANDSHAKE, b"abc")
    assert (protection.epoch, protection.sequence, protection.suite) == ("plaintext", 2, None)
    with pytest.raises(UsageError):
        protection.seal(HANDSHAKE, bytes(2 ** 14 + 1))
    with pytest.raises(RecordOverflow):
        protection.open(Record(HANDSHAKE, 0x0303, bytes(2 ** 14 + 1)))


# --- TLS 1.2 AEAD --------------------------------------------------------------------------------

def tls12_pair(code):
    suite = suite_info(code)
    client_key, _, client_iv, _ = key_block12(suite, os.urandom(48), os.urandom(32), os.urandom(32))
    return (suite, TLS12AEADProtection(suite, client_key, client_iv, "epoch 1"),
            TLS12AEADProtection(suite, client_key, client_iv, "epoch 1"))


@pytest.mark.parametrize("code", [CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                                  CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                  CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                                  CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256])
def test_tls12_round_trip_and_record_format(code):
    suite, writer, reader = tls12_pair(code)
    for seq, (content_type, data) in enumerate([(HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12)),
                                                (APPLICATION_DATA, os.urandom(2 ** 14)), (ALERT, b"\x01\x00")]):
        record = writer.seal(content_type, data)
        assert record[:3] == bytes((content_type, 3, 3))
        assert len(record) == 5 + suite.explicit_nonce_length + len(data) + 16
        if suite.explicit_nonce_length:
            assert record[5:13] == seq.to_bytes(8, "big")       # explicit nonce = sequence number
        assert reader.open(as_record(record)) == (content_type, data)
    assert writer.sequence == reader.sequence == 3


@pytest.mark.parametrize("code", [CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                                  CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256])
@pytest.mark.parametrize("where", ["content type", "version", "explicit nonce or first byte", "tag"])
def test_tls12_tampering_is_bad_record_mac(code, where):
    _, writer, reader = tls12_pair(code)
    record = as_record(writer.seal(APPLICATION_DATA, b"attack at dawn"))
    if where == "content type":
        record = Record(HANDSHAKE, record.version, record.fragment)
    elif where == "version":
        record = Record(record.content_type, 0x0302, record.fragment)
    elif where == "tag":
        record = Record(record.content_type, record.version, flip(record.fragment, len(record.fragment) - 1))
    else:
        record = Record(record.content_type, record.version, flip(record.fragment, 0))
    with pytest.raises(BadRecordMac):
        reader.open(record)


def test_tls12_short_and_oversize_records():
    _, writer, reader = tls12_pair(CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
    with pytest.raises(BadRecordMac):
        reader.open(Record(APPLICATION_DATA, 0x0303, bytes(23)))          # less than nonce + tag
    with pytest.raises(RecordOverflow):
        reader.open(Record(APPLICATION_DATA, 0x0303, bytes(2 ** 14 + 2049)))
    with pytest.raises(UsageError):
        writer.seal(APPLICATION_DATA, bytes(2 ** 14 + 1))


# --- real captures: TLS 1.2 ----------------------------------------------------------------------

TLS12_CAPTURES = [
    # (capture, key log, server port, suite): OpenSSL s_server/s_client, and OpenSSL s_client to a web server.
    ("hotplace/tls12_tls12_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.pcapng", "hotplace/tls12_sslkeylog", 9000,
     CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ("scapy/tls_nss_example.pcap", "scapy/tls_nss_example.keys.txt", 443,
     CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
]


def connection_streams(capture: str, server_port: int, handshake_check):
    """(client records, server records) of the connection whose ClientHello passes `handshake_check`."""
    streams = tcp_streams(CAPTURES / capture)
    for (src, dst), data in streams.items():
        if dst != server_port:
            continue
        client = split_records(data)
        if handshake_check(client[0].fragment):
            return client, split_records(streams[dst, src])
    raise AssertionError("no such connection in the capture")


def offers_tls12_only(client_hello: bytes) -> bool:
    return b"\x00\x2b" not in client_hello[38:] or b"\x03\x04" not in client_hello[38:]


@pytest.mark.parametrize("capture,keylog,port,code", TLS12_CAPTURES)
def test_tls12_capture_decrypts_with_key_block_and_verifies_finished(capture, keylog, port, code):
    suite = suite_info(code)
    client_records, server_records = connection_streams(capture, port, lambda ch: True)
    client_plain = [r for r in client_records if r.content_type == HANDSHAKE][0]
    client_hello = client_plain.fragment
    # The server's first flight: every handshake record before its ChangeCipherSpec.
    ccs = [r.content_type for r in server_records].index(ContentType.CHANGE_CIPHER_SPEC)
    server_messages = split_handshake(b"".join(r.fragment for r in server_records[:ccs]))
    server_hello = server_messages[0]
    assert int.from_bytes(server_hello[39 + server_hello[38]:41 + server_hello[38]], "big") == code
    client_random, server_random = client_hello[6:38], server_hello[6:38]
    master = read_keylog(CAPTURES / keylog)["CLIENT_RANDOM", client_random]

    client_key, server_key, client_iv, server_iv = key_block12(suite, master, client_random, server_random)
    client_reader = TLS12AEADProtection(suite, client_key, client_iv, "client epoch 1")
    server_reader = TLS12AEADProtection(suite, server_key, server_iv, "server epoch 1")

    client_ccs = [r.content_type for r in client_records].index(ContentType.CHANGE_CIPHER_SPEC)
    client_key_exchange = client_records[client_ccs - 1].fragment
    server_flight = [m for m in server_messages if m[0] != 4]            # NewSessionTicket comes later
    tickets = [m for m in server_messages if m[0] == 4]
    transcript = hashes.Hash(suite.hash())
    for message in [client_hello] + server_flight + [client_key_exchange]:
        transcript.update(message)

    finished_type, client_finished = client_reader.open(client_records[client_ccs + 1])
    assert finished_type == HANDSHAKE
    assert client_finished == b"\x14\x00\x00\x0c" + finished12(suite.hash, master, b"client finished",
                                                                 transcript.copy().finalize())
    transcript.update(client_finished)
    for ticket in tickets:
        transcript.update(ticket)
    finished_type, server_finished = server_reader.open(server_records[ccs + 1])
    assert server_finished == b"\x14\x00\x00\x0c" + finished12(suite.hash, master, b"server finished",
                                                                 transcript.finalize())

    # After the Finished: application data and the closing alerts, in each direction.
    for reader, records in ((client_reader, client_records[client_ccs + 2:]),
                            (server_reader, server_records[ccs + 2:])):
        opened = [reader.open(record) for record in records]
        assert opened and all(t == r.content_type for (t, _), r in zip(opened, records))
        assert opened[-1] == (ALERT, b"\x01\x00")                         # close_notify

    # OpenSSL's explicit nonces start at a random value and count up: open() must take the nonce
    # from the record, never assume it equals the sequence number.
    if suite.explicit_nonce_length:
        assert client_records[client_ccs + 1].fragment[:8] != bytes(8)


# --- real capture: TLS 1.3 (OpenSSL s_client, TLS_AES_256_GCM_SHA384) ----------------------------

def test_tls13_capture_decrypts_with_logged_secrets_and_verifies_finished():
    suite = suite_info(CipherSuite.TLS_AES_256_GCM_SHA384)
    keylog = read_keylog(CAPTURES / "scapy/tls_nss_example.keys.txt")
    client_records, server_records = connection_streams(
        "scapy/tls_nss_example.pcap", 443, lambda ch: ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", ch[6:38]) in keylog)
    client_hello = client_records[0].fragment
    client_random = client_hello[6:38]
    secret = lambda label: keylog[label, client_random]  # noqa: E731
    server_hello = server_records[0].fragment

    protected = lambda records: [r for r in records if r.content_type == APPLICATION_DATA]  # noqa: E731
    server_hs = TLS13Protection(suite, secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"), "handshake")
    server_ap = TLS13Protection(suite, secret("SERVER_TRAFFIC_SECRET_0"), "application")
    client_hs = TLS13Protection(suite, secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET"), "handshake")
    client_ap = TLS13Protection(suite, secret("CLIENT_TRAFFIC_SECRET_0"), "application")

    # The server's encrypted flight ends with its Finished; what follows uses the application keys.
    flight, server_iter = b"", iter(protected(server_records))
    while True:
        content_type, data = server_hs.open(next(server_iter))
        assert content_type == HANDSHAKE
        flight += data
        messages = split_handshake(flight)
        if messages[-1][0] == 20:
            break
    assert [m[0] for m in messages] == [8, 11, 15, 20]
    transcript = hashes.Hash(hashes.SHA384())
    for message in [client_hello, server_hello] + messages[:-1]:
        transcript.update(message)
    assert messages[-1][4:] == finished_verify_data(hashes.SHA384, secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
                                                    transcript.copy().finalize())
    # The decrypted flight is what the server signed: its CertificateVerify checks out.
    leaf = first_certificate_of(messages[1])
    scheme, signature = int.from_bytes(messages[2][4:6], "big"), messages[2][8:]
    cv_transcript = hashes.Hash(hashes.SHA384())
    for message in [client_hello, server_hello] + messages[:2]:
        cv_transcript.update(message)
    verify(leaf.public_key(), scheme, signature, certificate_verify_content(cv_transcript.finalize(), server=True))
    transcript.update(messages[-1])
    client_iter = iter(protected(client_records))
    content_type, client_finished = client_hs.open(next(client_iter))
    assert client_finished[4:] == finished_verify_data(hashes.SHA384, secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
                                                       transcript.finalize())

    server_rest = [server_ap.open(r) for r in server_iter]
    client_rest = [client_ap.open(r) for r in client_iter]
    assert [t for t, _ in server_rest][:2] == [HANDSHAKE, HANDSHAKE]            # two NewSessionTickets
    assert all(data[0] == 4 for t, data in server_rest[:2])
    assert client_rest[0][0] == APPLICATION_DATA and client_rest[0][1].startswith(b"GET ")
    assert server_rest[-1] == (ALERT, b"\x01\x00") and client_rest[-1] == (ALERT, b"\x01\x00")


def test_hello_retry_random_constant_used_by_the_trace_tests():
    # Guards the helper assumption in test_key_schedule: HRR is recognised by its random.
    assert hashlib.sha256(b"HelloRetryRequest").hexdigest().startswith("cf21ad74")


# --- open_raw: the bulk path's form of open() --------------------------------------------------

def _opened_both_ways(make_pair, records):
    """open() and open_raw() on two readers in step; open_raw is given a memoryview fragment."""
    by_record, by_raw = make_pair(), make_pair()
    for raw in records:
        expected = by_record.open(as_record(raw))
        assert by_raw.open_raw(raw[:5], memoryview(raw)[5:]) == expected
    assert by_raw.sequence == by_record.sequence


def test_open_raw_matches_open_for_tls13(trace):
    secret = trace_secret(trace, 3, "s ap traffic")
    records = [complete for label, _, _, complete in rfc8448_records(trace) if label == "s ap traffic"]
    _opened_both_ways(lambda: TLS13Protection(SUITE, secret, "application"), records)


@pytest.mark.parametrize("code", [0xC02F, 0xCCA8])
def test_open_raw_matches_open_for_tls12(code):
    suite = CIPHER_SUITES[code]
    key, iv = os.urandom(suite.key_length), os.urandom(suite.iv_length)
    writer = TLS12AEADProtection(suite, key, iv, "application")
    records = [writer.seal(APPLICATION_DATA, b"x" * n) for n in (0, 1, 100, 2 ** 14)]
    _opened_both_ways(lambda: TLS12AEADProtection(suite, key, iv, "application"), records)


def test_open_raw_matches_open_for_plaintext():
    record = NullProtection().seal(HANDSHAKE, b"hello")
    assert NullProtection().open_raw(record[:5], memoryview(record)[5:]) == (HANDSHAKE, b"hello")


def test_open_raw_keeps_the_checks(pair):
    writer, reader = pair
    record = writer.seal(APPLICATION_DATA, b"attack at dawn")
    with pytest.raises(BadRecordMac):
        reader.open_raw(flip(record[:5], 2), memoryview(record)[5:])       # the header is the AAD
    assert reader.sequence == 0
    with pytest.raises(RecordOverflow):
        reader.open_raw(b"\x17\x03\x03\x41\x01", memoryview(bytes(2 ** 14 + 257)))
    assert reader.open_raw(record[:5], memoryview(record)[5:]) == (APPLICATION_DATA, b"attack at dawn")

"""The record layer of Connection: data, close, alerts, size limits, padding, and what a peer may not send."""
from __future__ import annotations

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, ContentType
from workbench.tls.record import encode_record

from .pair import (connected_pair, deliver, drain, make_client_config, make_server_config, pump, split_records)

AD = AlertDescription


def app_data(conn: Connection) -> bytes:
    return b"".join(e.data for e in conn.events() if isinstance(e, events.ApplicationData))


def assert_failed_with(conn: Connection, alert: AlertDescription, exc_info) -> None:
    """The connection raised, queued exactly that fatal alert, and reported it in its events."""
    assert exc_info.value.alert == alert
    evs = drain(conn)
    sent = [e for e in evs if isinstance(e, events.AlertSent)]
    closed = [e for e in evs if isinstance(e, events.ConnectionClosed)]
    assert sent and sent[-1].description == alert and sent[-1].level == 2
    assert closed and closed[-1].error is exc_info.value and not closed[-1].by_peer
    assert conn.closed


def peer_sees_alert(sender: Connection, receiver: Connection, alert: AlertDescription) -> None:
    """Deliver the queued alert; the receiver raises AlertReceived with that description."""
    with pytest.raises(errors.AlertReceived) as info:
        deliver(sender, receiver)
    assert info.value.description == alert


# --- the happy path -------------------------------------------------------------------------------

def test_handshake_then_application_data_both_ways():
    client, server = connected_pair()
    assert client.role == "client" and server.role == "server"
    assert client.version == server.version == 0x0304
    assert client.cipher_suite == server.cipher_suite == 0x1301
    client.send(b"ping")
    pump(client, server)
    assert app_data(server) == b"ping"
    server.send(b"pong")
    pump(server, client)
    assert app_data(client) == b"pong"


def test_payload_larger_than_a_record_is_split_and_reassembled():
    client, server = connected_pair()
    drain(client), drain(server)
    payload = bytes(range(256)) * 400          # 102400 bytes
    client.send(payload)
    wire = client.data_to_send()
    records = split_records(wire)
    assert len(records) == 7                   # ceil(102400 / 16384)
    assert all(len(r) - 5 <= 2**14 + 256 for r in records)
    sent = [e for e in client.events() if isinstance(e, events.RecordSent)]
    assert [e.sequence for e in sent] == list(range(7))
    assert all(e.inner_type == ContentType.APPLICATION_DATA for e in sent)
    server.receive_data(wire)
    received = drain(server)
    assert b"".join(e.data for e in received if isinstance(e, events.ApplicationData)) == payload
    assert len([e for e in received if isinstance(e, events.RecordReceived)]) == 7
    server.send(payload)
    client.receive_data(server.data_to_send())
    assert app_data(client) == payload


def test_bytes_fed_one_at_a_time():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    for _ in range(10):
        moved = False
        for a, b in ((client, server), (server, client)):
            data = a.data_to_send()
            for i in range(len(data)):
                b.receive_data(data[i:i + 1])
            moved = moved or bool(data)
        if not moved:
            break
    assert client.handshake_complete and server.handshake_complete
    client.send(b"x" * 5000)
    data = client.data_to_send()
    for i in range(0, len(data), 7):
        server.receive_data(data[i:i + 7])
    assert app_data(server) == b"x" * 5000


def test_empty_send_sends_nothing_and_empty_record_is_delivered():
    client, server = connected_pair()
    client.send(b"")
    assert client.data_to_send() == b""
    # An empty application_data record is legal (RFC 8446 5.4).
    drain(server)
    record = client._write.seal(ContentType.APPLICATION_DATA, b"")
    server.receive_data(record)
    data_events = [e for e in drain(server) if isinstance(e, events.ApplicationData)]
    assert [e.data for e in data_events] == [b""]


# --- misuse -------------------------------------------------------------------------------------

def test_send_before_handshake_raises_usage_error_and_sends_nothing():
    client = Connection(make_client_config())
    with pytest.raises(errors.UsageError):
        client.send(b"too early")
    assert client.data_to_send() == b""
    client.start_handshake()
    client.data_to_send()
    with pytest.raises(errors.UsageError):
        client.send(b"still too early")
    assert client.data_to_send() == b""


def test_receive_before_start_and_double_start_are_usage_errors():
    client = Connection(make_client_config())
    with pytest.raises(errors.UsageError):
        client.receive_data(b"\x16\x03\x03\x00\x01\x00")
    client.start_handshake()
    with pytest.raises(errors.UsageError):
        client.start_handshake()
    server = Connection(make_server_config())
    server.start_handshake()                    # a no-op for a server
    assert server.data_to_send() == b""


def test_wrong_config_type_is_a_usage_error():
    with pytest.raises(errors.UsageError):
        Connection(object())


def test_do_handshake_exists_and_does_nothing():
    client, server = connected_pair()
    assert client.do_handshake() is None
    assert client.data_to_send() == b""


# --- closing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("first", ["client", "server"])
def test_close_notify_both_ways(first):
    client, server = connected_pair()
    drain(client), drain(server)
    closer, other = (client, server) if first == "client" else (server, client)
    closer.close()
    assert closer.closed
    closer_events = drain(closer)
    assert any(isinstance(e, events.AlertSent) and e.description == AD.close_notify and e.level == 1
               for e in closer_events)
    assert any(isinstance(e, events.ConnectionClosed) and not e.by_peer for e in closer_events)
    with pytest.raises(errors.UsageError):
        closer.send(b"after close")
    deliver(closer, other)
    other_events = drain(other)
    assert any(isinstance(e, events.AlertReceived) and e.description == AD.close_notify for e in other_events)
    closed = [e for e in other_events if isinstance(e, events.ConnectionClosed)]
    assert len(closed) == 1 and closed[0].by_peer and closed[0].error is None
    assert other.closed
    # The other side answered with its own close_notify.
    answer = [e for e in other_events if isinstance(e, events.AlertSent)]
    assert answer and answer[0].description == AD.close_notify
    deliver(other, closer)
    back = drain(closer)
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in back)
    closer.close()                              # idempotent
    assert closer.data_to_send() == b""


def test_data_before_close_notify_is_delivered_and_data_after_is_ignored():
    client, server = connected_pair()
    drain(server)
    client.send(b"last words")
    client.close()
    wire = client.data_to_send()
    server.receive_data(wire + b"\x17\x03\x03\x00\x05hello")
    evs = drain(server)
    assert [e.data for e in evs if isinstance(e, events.ApplicationData)] == [b"last words"]
    server.receive_data(b"more garbage after close")     # ignored, no error
    assert not any(isinstance(e, events.ApplicationData) for e in drain(server))


def test_close_before_handshake_started():
    client = Connection(make_client_config())
    client.close()
    assert client.closed and client.data_to_send() == b""
    with pytest.raises(errors.UsageError):
        client.start_handshake()


# --- alerts ---------------------------------------------------------------------------------------

def test_fatal_alert_received_raises_and_closes():
    client, server = connected_pair()
    drain(client)
    server._send_alert(2, AD.internal_error, "test")
    with pytest.raises(errors.AlertReceived) as info:
        deliver(server, client)
    assert info.value.description == AD.internal_error
    evs = drain(client)
    assert any(isinstance(e, events.AlertReceived) and e.description == AD.internal_error for e in evs)
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in evs)
    assert client.closed
    with pytest.raises(errors.UsageError):
        client.receive_data(b"\x17\x03\x03\x00\x01\x00")
    with pytest.raises(errors.UsageError):
        client.send(b"x")
    assert client.data_to_send() == b""        # nothing is sent after a fatal alert


def test_malformed_alert_is_decode_error():
    client, server = connected_pair()
    record = client._write.seal(ContentType.ALERT, b"\x02\x28\x00")
    with pytest.raises(errors.DecodeError) as info:
        server.receive_data(record)
    assert_failed_with(server, AD.decode_error, info)


def test_empty_alert_record_is_unexpected_message():
    client, server = connected_pair()
    record = client._write.seal(ContentType.ALERT, b"")
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(record)
    assert_failed_with(server, AD.unexpected_message, info)


def test_user_canceled_is_a_warning():
    client, server = connected_pair()
    drain(server)
    server.receive_data(client._write.seal(ContentType.ALERT, b"\x01\x5a"))
    assert not server.closed
    assert any(isinstance(e, events.AlertReceived) and e.description == AD.user_canceled for e in drain(server))


# --- what a peer may not send ---------------------------------------------------------------------

def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def test_tampered_handshake_record_is_bad_record_mac():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    deliver(client, server)
    flight = server.data_to_send()
    records = split_records(flight)
    encrypted = records[-1]
    assert encrypted[0] == ContentType.APPLICATION_DATA
    tampered = b"".join(records[:-1]) + flip(encrypted, len(encrypted) // 2)
    with pytest.raises(errors.BadRecordMac) as info:
        client.receive_data(tampered)
    assert_failed_with(client, AD.bad_record_mac, info)
    # The alert goes out protected with the client's handshake keys, which the server reads.
    peer_sees_alert(client, server, AD.bad_record_mac)


def test_tampered_application_record_is_bad_record_mac():
    client, server = connected_pair()
    client.send(b"secret")
    record = client.data_to_send()
    with pytest.raises(errors.BadRecordMac) as info:
        server.receive_data(flip(record, 7))
    assert_failed_with(server, AD.bad_record_mac, info)
    peer_sees_alert(server, client, AD.bad_record_mac)


def test_tampered_record_header_is_bad_record_mac():
    client, server = connected_pair()
    client.send(b"secret")
    record = bytearray(client.data_to_send())
    record[2] = 0x01                             # the header is the AEAD's additional data
    with pytest.raises(errors.BadRecordMac):
        server.receive_data(bytes(record))


def test_oversized_protected_record_is_record_overflow():
    client, server = connected_pair()
    length = 2**14 + 257
    with pytest.raises(errors.RecordOverflow) as info:
        server.receive_data(b"\x17\x03\x03" + length.to_bytes(2, "big") + bytes(length))
    assert_failed_with(server, AD.record_overflow, info)
    peer_sees_alert(server, client, AD.record_overflow)


def test_oversized_plaintext_record_is_record_overflow():
    server = Connection(make_server_config())
    with pytest.raises(errors.RecordOverflow) as info:
        server.receive_data(encode_record(ContentType.HANDSHAKE, b"\x01" + bytes(2**14)))
    assert_failed_with(server, AD.record_overflow, info)


def test_inner_plaintext_over_limit_is_record_overflow():
    client, server = connected_pair()
    # 2^14 bytes of data plus the content type plus one byte of padding: 2^14 + 2 > 2^14 + 1.
    inner = b"a" * 2**14 + b"\x17" + b"\x00"
    write = client._write
    nonce = (write._iv ^ write.sequence).to_bytes(12, "big")
    header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
    record = header + write._aead.encrypt(nonce, inner, header)
    with pytest.raises(errors.RecordOverflow):
        server.receive_data(record)


def test_handshake_message_over_the_size_limit_is_rejected():
    client = Connection(make_client_config())
    server = Connection(make_server_config(max_handshake_message_size=100))
    client.start_handshake()
    with pytest.raises(errors.DecodeError) as info:
        deliver(client, server)
    assert "limit" in str(info.value)
    assert_failed_with(server, AD.decode_error, info)


def test_application_data_before_the_handshake_is_unexpected_message():
    server = Connection(make_server_config())
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(b"\x17\x03\x03\x00\x10" + bytes(16))
    assert info.value.received and info.value.expected
    assert_failed_with(server, AD.unexpected_message, info)


def test_plaintext_application_data_is_unexpected_message():
    client = Connection(make_client_config())
    client.start_handshake()
    with pytest.raises(errors.UnexpectedMessage):
        client.receive_data(b"\x17\x03\x03\x00\x03abc")


def test_unprotected_record_where_protected_expected_is_unexpected_message():
    client, server = connected_pair()
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(encode_record(ContentType.HANDSHAKE, b"\x14\x00\x00\x00"))
    assert "unprotected" in str(info.value)
    assert_failed_with(server, AD.unexpected_message, info)


def test_unknown_content_type_is_unexpected_message():
    client, server = connected_pair()
    with pytest.raises(errors.UnexpectedMessage):
        server.receive_data(b"\x63\x03\x03\x00\x01\x00")


def test_unknown_inner_content_type_is_unexpected_message():
    client, server = connected_pair()
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(client._write.seal(ContentType.HEARTBEAT, b"\x01"))
    assert info.value.received == "heartbeat"


def test_empty_handshake_record_is_unexpected_message():
    server = Connection(make_server_config())
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(encode_record(ContentType.HANDSHAKE, b""))
    assert_failed_with(server, AD.unexpected_message, info)


def test_handshake_message_straddling_a_key_change_is_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    deliver(client, server)
    records = split_records(server.data_to_send())
    server_hello = records[0]
    assert server_hello[0] == ContentType.HANDSHAKE
    # The start of another handshake message in the ServerHello's record: it would straddle the key change.
    fragment = server_hello[5:] + b"\x08\x00"
    with pytest.raises(errors.UnexpectedMessage) as info:
        client.receive_data(encode_record(ContentType.HANDSHAKE, fragment))
    assert "key change" in str(info.value)


def test_application_data_inside_a_fragmented_handshake_message_is_unexpected_message():
    client, server = connected_pair()
    write = server._write
    part = write.seal(ContentType.HANDSHAKE, b"\x04\x00\x00\x20" + bytes(4))   # half a NewSessionTicket
    data = write.seal(ContentType.APPLICATION_DATA, b"interleaved")
    with pytest.raises(errors.UnexpectedMessage):
        client.receive_data(part + data)


# --- change_cipher_spec ---------------------------------------------------------------------------

def test_change_cipher_spec_after_the_handshake_is_unexpected_message():
    client, server = connected_pair()
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(b"\x14\x03\x03\x00\x01\x01")
    assert_failed_with(server, AD.unexpected_message, info)


def test_change_cipher_spec_with_wrong_payload_is_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    with pytest.raises(errors.UnexpectedMessage):
        server.receive_data(client.data_to_send() + b"\x14\x03\x03\x00\x01\x02")


def test_one_change_cipher_spec_is_dropped_a_second_is_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    server.receive_data(client.data_to_send() + b"\x14\x03\x03\x00\x01\x01")
    assert any(isinstance(e, events.ChangeCipherSpecReceived) for e in drain(server))
    with pytest.raises(errors.UnexpectedMessage) as info:
        server.receive_data(b"\x14\x03\x03\x00\x01\x01")
    assert "second" in str(info.value)


def test_change_cipher_spec_before_client_hello_is_unexpected_message():
    server = Connection(make_server_config())
    with pytest.raises(errors.UnexpectedMessage):
        server.receive_data(b"\x14\x03\x03\x00\x01\x01")


# --- padding and record size limit ----------------------------------------------------------------

def test_padding_both_ways():
    client, server = connected_pair(
        make_client_config(padding=100),
        make_server_config(padding=lambda content_type, length: 255 - length % 256))
    drain(client), drain(server)
    client.send(b"a" * 10)
    wire = client.data_to_send()
    assert len(wire) == 5 + 10 + 1 + 100 + 16
    server.receive_data(wire)
    assert app_data(server) == b"a" * 10
    server.send(b"b" * 10)
    wire = server.data_to_send()
    assert len(wire) == 5 + 10 + 1 + 245 + 16
    client.receive_data(wire)
    assert app_data(client) == b"b" * 10


def test_padding_is_applied_to_handshake_records_and_clamped_at_the_limit():
    client = Connection(make_client_config(padding=2**14))
    server = Connection(make_server_config(padding=2**14))
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    sent = [e for e in drain(server) if isinstance(e, events.RecordSent) and e.inner_type is not None]
    # Every protected record is padded to the full 2^14 + 1 inner plaintext, plus the tag.
    assert sent and all(e.length == 2**14 + 1 + 16 for e in sent)
    client.send(b"z" * 2**14)
    wire = client.data_to_send()
    assert len(wire) == 5 + 2**14 + 1 + 16
    server.receive_data(wire)
    assert app_data(server) == b"z" * 2**14


def test_record_size_limit_when_both_sides_send_it():
    client, server = connected_pair(make_client_config(record_size_limit=1000),
                                    make_server_config(record_size_limit=2000))
    assert client.negotiated.peer_record_size_limit == 2000
    assert server.negotiated.peer_record_size_limit == 1000
    drain(client), drain(server)
    server.send(b"s" * 5000)
    records = split_records(server.data_to_send())
    assert max(len(r) - 5 - 16 for r in records) == 1000          # inner plaintext <= the client's limit
    client.send(b"c" * 5000)
    client_records = split_records(client.data_to_send())
    assert max(len(r) - 5 - 16 for r in client_records) == 2000
    for r in records:
        client.receive_data(r)
    assert app_data(client) == b"s" * 5000


def test_record_size_limit_is_enforced_on_receive():
    client, server = connected_pair(make_client_config(record_size_limit=1000),
                                    make_server_config(record_size_limit=2000))
    # A server that ignores the client's limit: a 1500-byte record.
    record = server._write.seal(ContentType.APPLICATION_DATA, b"x" * 1500)
    with pytest.raises(errors.RecordOverflow) as info:
        client.receive_data(record)
    assert_failed_with(client, AD.record_overflow, info)


def test_record_size_limit_from_one_side_only_changes_nothing():
    client, server = connected_pair(make_client_config(record_size_limit=1000), make_server_config())
    assert server.negotiated.peer_record_size_limit is None
    server.send(b"s" * 5000)
    assert len(split_records(server.data_to_send())) == 1


# --- internal errors never escape bare ---------------------------------------------------------------

def test_a_bug_while_processing_peer_data_becomes_internal_error():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()

    class Boom:
        expected = (1,)

        def handle(self, conn, message, raw):
            raise KeyError("boom")

    server._state = Boom()
    with pytest.raises(errors.ProtocolError) as info:
        deliver(client, server)
    assert info.value.alert == AD.internal_error
    assert isinstance(info.value.__cause__, KeyError)
    assert_failed_with(server, AD.internal_error, info)

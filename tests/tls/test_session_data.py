"""The client's session data: the versioned blob, session_data() / set_session_data() /
session_flags(), refusals of bad blobs (always a clear error and a full handshake), and the wallet."""
from __future__ import annotations

import hashlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.tls import Connection, events
from workbench.tls.enums import SessionFlag
from workbench.tls.errors import UsageError
from workbench.tls.session_data import (FORMAT_VERSION, MAGIC, NoSessionData, SessionData, SessionDataError,
                                        decode)
from workbench.tls.wallet import TicketWallet

from .pair import connected_pair, drain, make_client_config, make_server_config, pump

NOW = 1_700_000_000.0
SESSION13 = SessionData(tls_version=0x0304, cipher_suite=0x1301, secret=bytes(range(32)), ticket=b"T" * 100,
                        lifetime=7200, received_at=NOW, age_add=0xDEADBEEF, nonce=b"\x00\x01",
                        server_name="localhost", alpn=b"h2", max_early_data=16384)
SESSION12 = SessionData(tls_version=0x0303, cipher_suite=0xC02F, secret=bytes(48), ticket=b"", lifetime=300,
                        received_at=NOW, session_id=b"S" * 32, server_name=None, extended_master_secret=True)


def rebuild(body: bytes, version: int = FORMAT_VERSION) -> bytes:
    """A blob with a valid checksum around hand-made fields."""
    head = MAGIC + bytes((version,)) + len(body).to_bytes(2, "big") + body
    return head + hashlib.sha256(head).digest()


def field(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + len(value).to_bytes(2, "big") + value


# --- the codec ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("session", [SESSION13, SESSION12], ids=["tls13", "tls12"])
def test_round_trip(session):
    blob = session.encode()
    assert blob.startswith(MAGIC + bytes((FORMAT_VERSION,)))
    assert decode(blob) == session


def test_describe_names_every_field_but_never_shows_the_secret():
    described = SESSION13.describe()
    assert described["cipher_suite"] == "TLS_AES_128_GCM_SHA256" and described["tls_version"] == "TLS13"
    assert described["secret"] == "32 bytes" and described["alpn"] == "h2" and described["age_add"] == 0xDEADBEEF
    assert bytes(range(32)).hex() not in repr(described)


def test_every_truncation_is_refused():
    blob = SESSION13.encode()
    for cut in range(len(blob)):
        with pytest.raises(SessionDataError) as info:
            decode(blob[:cut])
        assert info.value.reason in ("truncated", "foreign")


def test_every_flipped_bit_is_refused():
    blob = SESSION13.encode()
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            damaged = bytearray(blob)
            damaged[position] ^= bit
            with pytest.raises(SessionDataError):
                decode(bytes(damaged))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data):
    with pytest.raises(SessionDataError):
        decode(data)


@pytest.mark.parametrize("blob, reason", [
    (b"-----BEGIN SSL SESSION PARAMETERS-----\nMIIB\n", "foreign"),
    (b"\x30\x82\x01\x00" + bytes(200), "foreign"),
    (b"TWSD", "truncated"),
    ("a string", "type"),
])
def test_foreign_data_is_refused_with_its_reason(blob, reason):
    with pytest.raises(SessionDataError) as info:
        decode(blob)
    assert info.value.reason == reason
    assert str(info.value).startswith("session data refused:")


def test_extra_bytes_after_the_checksum_are_refused():
    with pytest.raises(SessionDataError, match="unexpected bytes"):
        decode(SESSION13.encode() + b"\x00")


def test_a_later_format_version_is_refused():
    blob = rebuild(SESSION13.encode()[7:-32], version=2)
    with pytest.raises(SessionDataError) as info:
        decode(blob)
    assert info.value.reason == "version"


def test_unknown_fields_are_skipped_and_known_ones_checked():
    body = SESSION13.encode()[7:-32]
    assert decode(rebuild(body + field(200, b"from a later version"))) == SESSION13
    with pytest.raises(SessionDataError, match="twice"):
        decode(rebuild(body + field(5, (1).to_bytes(4, "big"))))
    with pytest.raises(SessionDataError, match="expected 4"):
        decode(rebuild(field(5, b"\x01") + body))


@pytest.mark.parametrize("change, message", [
    (dict(secret=bytes(20)), "secret of 20 bytes"),
    (dict(cipher_suite=0xC02F), "does not belong"),
    (dict(cipher_suite=0x1399), "not one this engine implements"),
    (dict(ticket=b""), "without a ticket"),
])
def test_inconsistent_sessions_are_refused(change, message):
    from dataclasses import replace
    with pytest.raises(SessionDataError, match=message):
        decode(replace(SESSION13, **change).encode())


# --- the connection API ------------------------------------------------------------------------------

def test_session_data_before_the_handshake_completes_is_a_clear_error():
    client = Connection(make_client_config())
    with pytest.raises(NoSessionData, match="before the handshake completed"):
        client.session_data()
    client.start_handshake()
    with pytest.raises(NoSessionData, match="before the handshake completed"):
        client.session_data()


def test_tls13_without_a_ticket_says_so_instead_of_returning_dummy_data():
    client, server = connected_pair(server_config=make_server_config(ticket_count=0))
    assert SessionFlag.SESSION_TICKET not in client.session_flags()
    with pytest.raises(NoSessionData, match="no session ticket has arrived yet"):
        client.session_data()
    server.send_ticket()
    pump(client, server)
    assert SessionFlag.SESSION_TICKET in client.session_flags()
    assert SessionFlag.SESSION_TICKET in server.session_flags()
    assert decode(client.session_data()).ticket == [e.ticket for e in drain(client)
                                                    if isinstance(e, events.TicketReceived)][0]


def test_each_call_after_a_new_ticket_returns_the_latest_ticket():
    client, server = connected_pair()
    first = decode(client.session_data())
    assert client.session_data() == client.session_data()           # no new ticket: the same data
    received = [e.ticket for e in drain(client) if isinstance(e, events.TicketReceived)]
    assert first.ticket == received[-1] and len(received) == 2
    ticket = server.send_ticket()
    pump(client, server)
    latest = decode(client.session_data())
    assert latest.ticket == ticket and latest.nonce == b"\x00\x02"
    assert latest.secret != first.secret                      # each nonce gives its own PSK


def test_session_data_describes_the_session():
    client, _ = connected_pair(make_client_config(alpn_protocols=("h2",)),
                               make_server_config(alpn_protocols=("h2",), max_early_data=1000))
    session = decode(client.session_data())
    assert (session.tls_version, session.cipher_suite, session.server_name, session.alpn,
            session.max_early_data, session.lifetime) == (0x0304, client.cipher_suite, "localhost", b"h2", 1000, 7200)
    assert abs(session.received_at - time.time()) < 60


def test_session_data_is_for_clients_only():
    _, server = connected_pair()
    with pytest.raises(UsageError, match="for clients"):
        server.session_data()


def test_set_session_data_after_start_is_a_usage_error():
    client, _ = connected_pair()
    blob = client.session_data()
    late = Connection(make_client_config())
    late.start_handshake()
    with pytest.raises(UsageError, match="before start_handshake"):
        late.set_session_data(blob)


def full_handshake_after(client: Connection, server_config=None) -> list:
    server = Connection(server_config or make_server_config())
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and not client.negotiated.resumed
    return drain(client)


@pytest.mark.parametrize("damage", [
    lambda b: b[:40],
    lambda b: b[:-1] + bytes((b[-1] ^ 1,)),
    lambda b: b"not session data at all",
])
def test_damaged_blob_raises_and_the_connection_does_a_full_handshake(damage):
    client, _ = connected_pair()
    blob = damage(client.session_data())
    fresh = Connection(make_client_config())
    with pytest.raises(SessionDataError):
        fresh.set_session_data(blob)
    evs = full_handshake_after(fresh)
    assert not any(e.kind == "resumption" for e in evs)


def test_damaged_blob_in_the_config_is_reported_in_an_event_and_the_handshake_is_full():
    client, _ = connected_pair()
    blob = bytearray(client.session_data())
    blob[20] ^= 0xFF
    evs = full_handshake_after(Connection(make_client_config(session_data=bytes(blob))))
    refused = [e for e in evs if isinstance(e, events.ResumptionRefused)]
    assert len(refused) == 1 and "checksum" in refused[0].reason


def test_expired_session_is_refused():
    now = [time.time()]
    config = make_client_config(clock=lambda: now[0])
    client, _ = connected_pair(config)
    blob = client.session_data()
    now[0] += 7201
    with pytest.raises(SessionDataError) as info:
        Connection(config).set_session_data(blob)
    assert info.value.reason == "expired"


def test_session_of_another_server_is_refused():
    client, _ = connected_pair()
    other = Connection(make_client_config(server_name="other.test"))
    with pytest.raises(SessionDataError, match="issued by server 'localhost'") as info:
        other.set_session_data(client.session_data())
    assert info.value.reason == "server_name"


def test_session_whose_hash_no_offered_suite_uses_is_refused():
    client, _ = connected_pair(make_client_config(cipher_suites=(0x1302,)))       # SHA-384
    sha256_only = Connection(make_client_config(cipher_suites=(0x1301, 0x1303)))
    with pytest.raises(SessionDataError, match="hash"):
        sha256_only.set_session_data(client.session_data())


def test_client_config_checks_session_settings():
    with pytest.raises(UsageError, match="session_data"):
        make_client_config(session_data="text")
    with pytest.raises(UsageError, match="psk_modes"):
        make_client_config(psk_modes=(7,))
    with pytest.raises(UsageError, match="wallet"):
        make_client_config(wallet={})
    assert "session_data" not in repr(make_client_config(session_data=b"secret-bearing"))


# --- single use and the wallet -----------------------------------------------------------------------

def test_a_tls13_ticket_is_offered_once_by_default():
    config = make_client_config()
    client, _ = connected_pair(config)
    blob = client.session_data()
    first = Connection(config)
    first.set_session_data(blob)
    first.start_handshake()                       # offered: spent
    with pytest.raises(SessionDataError) as info:
        Connection(config).set_session_data(blob)
    assert info.value.reason == "spent" and "RFC 8446 C.4" in str(info.value)


def test_ticket_reuse_policy_allows_offering_a_ticket_twice():
    config = make_client_config(ticket_reuse=True)
    client, _ = connected_pair(config)
    blob = client.session_data()
    for _ in range(2):
        conn = Connection(config)
        conn.set_session_data(blob)
        conn.start_handshake()


def test_wallet_keeps_unused_tickets_and_takes_the_newest_once():
    wallet = TicketWallet(max_per_server=2)
    from dataclasses import replace
    a, b, c = (replace(SESSION13, ticket=bytes([i]) * 40) for i in range(3))
    for s in (a, b, c):
        wallet.deposit(s)
    assert wallet.unused("localhost") == [b, c] and len(wallet) == 2
    assert wallet.take("localhost", NOW) == c
    wallet.spend(c, NOW)
    assert wallet.is_spent(c) and not wallet.is_spent(b)
    assert wallet.take("localhost", NOW) == b and wallet.take("localhost", NOW) is None
    assert wallet.take("elsewhere", NOW) is None
    wallet.deposit(replace(SESSION13, ticket=b"old" * 20, received_at=NOW - 7200))
    assert wallet.take("localhost", NOW) is None                 # expired
    wallet.spend(SESSION12, NOW)
    assert not wallet.is_spent(SESSION12)                        # TLS 1.2 sessions may be resumed again


def test_received_tickets_go_to_the_wallet_and_resume_from_it():
    config = make_client_config(resume_from_wallet=True)
    server_config = make_server_config()
    connected_pair(config, server_config)          # a full handshake: two tickets in the wallet
    assert len(config.wallet) == 2
    client, _ = connected_pair(config, server_config)
    assert client.negotiated.resumed
    (offered,) = [e.ticket for e in drain(client) if isinstance(e, events.ResumptionOffered)]
    held = [s.ticket for s in config.wallet.unused("localhost")]
    assert len(held) == 3 and offered not in held          # one spent, two new ones


def test_the_claimed_ticket_age_is_rounded_down_never_up():
    """A ticket reaches the client after the server made it: the age the client claims must not
    exceed the server's, which GnuTLS checks to the millisecond before it accepts 0-RTT."""
    from workbench.tls.session_data import SessionData
    age = SessionData.age_ms                        # needs only the time the ticket was received
    fake = type("Held", (), {"received_at": 100.0})()
    assert age(fake, 100.0 + 0.0129) == 12          # 12.9 ms held: claims 12, not 13
    assert age(fake, 100.0 + 0.005) == 5            # float noise does not turn 5 ms into 4
    assert age(fake, 99.0) == 0                     # a clock that went back claims no age

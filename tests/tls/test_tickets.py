"""Server tickets: the key ring (sealing, rotation, grace period, key file), the stateful store, the
session state sealed inside, the bounded cache, and NewSessionTicket issuance by a server."""
from __future__ import annotations

import os
import stat
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.tls import Connection, events
from workbench.tls.errors import UsageError
from workbench.tls.messages import NewSessionTicket
from workbench.tls.server_session import ServerSession
from workbench.tls.session_cache import SessionCache
from workbench.tls.tickets import SessionTickets, TicketKeyRing, TicketRefused

from .pair import connected_pair, drain, make_client_config, make_server_config, pump, seeded_rng

NOW = 1_700_000_000.0
SESSION = ServerSession(0x0304, 0x1301, bytes(range(32)), NOW, 7200, age_add=12345, max_early_data=4096,
                        server_name="localhost", alpn=b"h2", peer_certificates=(b"cert-1", b"cert-2"))


def ring(**kwargs) -> TicketKeyRing:
    return TicketKeyRing(b"k" * 32, **kwargs)


# --- the sealed session ------------------------------------------------------------------------------

def test_server_session_round_trips():
    assert ServerSession.decode(SESSION.encode()) == SESSION
    bare = ServerSession(0x0303, 0xC02B, bytes(48), NOW, 300, extended_master_secret=True)
    assert ServerSession.decode(bare.encode()) == bare


def test_server_session_truncated_fails_cleanly():
    data = SESSION.encode()
    from workbench.tls.errors import DecodeError
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            ServerSession.decode(data[:cut])


# --- key ring: sealing and rotation ------------------------------------------------------------------

def test_sealed_ticket_opens_and_hides_the_session():
    keys = ring()
    ticket = keys.seal(SESSION.encode(), now=NOW, rng=os.urandom)
    assert SESSION.secret not in ticket and b"localhost" not in ticket
    assert keys.open(ticket, now=NOW + 10) == SESSION.encode()
    assert ticket[:4] == keys.ring_id and int.from_bytes(ticket[4:8], "big") == keys.period(NOW)


@pytest.mark.parametrize("position", [0, 5, 9, 25, -1])
def test_altered_ticket_is_refused(position):
    keys = ring()
    ticket = bytearray(keys.seal(b"state", now=NOW, rng=os.urandom))
    ticket[position] ^= 0x01
    with pytest.raises(TicketRefused):
        keys.open(bytes(ticket), now=NOW)


def test_ticket_of_another_key_ring_is_refused_with_its_reason():
    ticket = ring().seal(b"state", now=NOW, rng=os.urandom)
    with pytest.raises(TicketRefused, match="another ticket key"):
        TicketKeyRing(b"x" * 32).open(ticket, now=NOW)
    with pytest.raises(TicketRefused, match="too short"):
        ring().open(b"short", now=NOW)


def test_rotation_keeps_the_previous_key_for_the_grace_period_only():
    keys = ring(rotation_interval=60, grace_period=30)
    start = 60 * 1000.0                        # the beginning of period 1000
    ticket = keys.seal(b"state", now=start + 10, rng=os.urandom)
    newer = keys.seal(b"state", now=start + 70, rng=os.urandom)
    assert ticket[:8] != newer[:8]             # rotated: another key name
    assert keys.open(ticket, now=start + 89.9) == b"state"      # next period, inside the grace period
    with pytest.raises(TicketRefused, match="rotated out"):
        keys.open(ticket, now=start + 90)
    assert keys.open(newer, now=start + 90) == b"state"


def test_a_key_one_period_ahead_is_accepted():
    """Two processes share a key file; the one whose clock runs ahead already rotated."""
    keys = ring(rotation_interval=60, grace_period=0)
    ahead = keys.seal(b"state", now=60 * 1001 + 1, rng=os.urandom)
    assert keys.open(ahead, now=60 * 1001 - 1) == b"state"


def test_key_ring_arguments_are_checked():
    with pytest.raises(UsageError):
        TicketKeyRing(b"short")
    with pytest.raises(UsageError):
        ring(rotation_interval=0)
    with pytest.raises(UsageError):
        ring(grace_period=-1)


# --- the key file ------------------------------------------------------------------------------------

def test_key_file_is_created_private_and_loaded_identically(tmp_path):
    path = tmp_path / "ticket.keys"
    first = TicketKeyRing.load_or_create(path, rotation_interval=120, grace_period=60)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = TicketKeyRing.load_or_create(path)           # another process: loads, does not replace
    assert (second.secret, second.rotation_interval, second.grace_period) == (first.secret, 120, 60)
    ticket = first.seal(b"shared", now=NOW, rng=os.urandom)
    assert second.open(ticket, now=NOW) == b"shared"


def test_key_file_errors_are_clear(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        TicketKeyRing.load(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.write_text("secret: 00\n")
    with pytest.raises(UsageError, match="not a TLS Workbench ticket key file"):
        TicketKeyRing.load(bad)
    bad.write_text("format: tls-workbench-ticket-keys 1\nsecret: zz\n")
    with pytest.raises(UsageError):
        TicketKeyRing.load(bad)


def test_saving_again_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "keys"
    ring().save(path)
    TicketKeyRing(b"n" * 32).save(path)
    assert TicketKeyRing.load(path).secret == b"n" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


# --- SessionTickets: stateless and stateful ----------------------------------------------------------

def test_stateless_tickets_resume_many_times_until_expiry():
    tickets = SessionTickets(ring())
    ticket = tickets.issue(SESSION, now=NOW, rng=os.urandom)
    assert tickets.redeem(ticket, now=NOW + 1) == SESSION
    assert tickets.redeem(ticket, now=NOW + 2) == SESSION
    with pytest.raises(TicketRefused, match="expired"):
        tickets.redeem(ticket, now=NOW + 7200)


def test_stateless_tickets_without_keys_make_them_from_the_rng():
    tickets = SessionTickets()
    with pytest.raises(TicketRefused, match="no ticket key"):
        tickets.redeem(b"x" * 60, now=NOW)
    rng = seeded_rng(1)
    ticket = tickets.issue(SESSION, now=NOW, rng=rng)
    assert tickets.keys is not None and tickets.redeem(ticket, now=NOW) == SESSION


def test_stateful_tickets_are_random_identities_used_once():
    tickets = SessionTickets(stateful=True, identity_length=20)
    ticket = tickets.issue(SESSION, now=NOW, rng=os.urandom)
    assert len(ticket) == 20 and len(tickets.store) == 1
    assert tickets.redeem(ticket, now=NOW) == SESSION
    with pytest.raises(TicketRefused, match="store"):
        tickets.redeem(ticket, now=NOW)


def test_stateful_store_is_bounded_and_expires():
    tickets = SessionTickets(stateful=True, store_size=3)
    issued = [tickets.issue(SESSION, now=NOW, rng=os.urandom) for _ in range(5)]
    assert len(tickets.store) == 3 and tickets.store.evicted == 2
    with pytest.raises(TicketRefused):
        tickets.redeem(issued[0], now=NOW)
    assert tickets.redeem(issued[4], now=NOW) == SESSION
    with pytest.raises(TicketRefused):
        tickets.redeem(issued[3], now=NOW + 7200)


def test_session_cache_purges_expired_before_evicting_live_entries():
    cache: SessionCache[str, int] = SessionCache(2)
    cache.put("old", 1, expires_at=10, now=0)
    cache.put("live", 2, expires_at=100, now=0)
    cache.put("new", 3, expires_at=100, now=50)         # "old" expired: no live entry is evicted
    assert cache.get("live", 50) == 2 and cache.get("new", 50) == 3 and cache.evicted == 0
    assert not cache.add_if_absent("other", 4, expires_at=100, now=50)     # full of live entries: refused
    assert cache.add_if_absent("other", 4, expires_at=200, now=100)        # they expired: room again


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_never_opened(data):
    with pytest.raises(TicketRefused):
        SessionTickets(ring()).redeem(data, now=NOW)


# --- issuing NewSessionTickets -----------------------------------------------------------------------

def tickets_sent(evs):
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageSent)
            and isinstance(e.message, NewSessionTicket)]


def test_server_sends_two_tickets_by_default_with_distinct_nonces_and_age_adds():
    client, server = connected_pair()
    sent = tickets_sent(drain(server))
    assert len(sent) == 2
    assert [t.ticket_nonce for t in sent] == [b"\x00\x00", b"\x00\x01"]
    assert sent[0].ticket_age_add != sent[1].ticket_age_add and sent[0].ticket != sent[1].ticket
    assert all(t.ticket_lifetime == 7200 and t.extensions == () for t in sent)   # no 0-RTT unless configured
    received = [e for e in drain(client) if isinstance(e, events.TicketReceived)]
    assert [e.ticket for e in received] == [t.ticket for t in sent]


@pytest.mark.parametrize("count", [0, 1, 5])
def test_ticket_count_is_configurable(count):
    _, server = connected_pair(server_config=make_server_config(ticket_count=count))
    assert len(tickets_sent(drain(server))) == count


def test_ticket_carries_lifetime_and_early_data_limit_and_the_event_says_so():
    config = make_server_config(ticket_lifetime=600, max_early_data=16384, ticket_count=1,
                                tickets=SessionTickets(stateful=True))
    _, server = connected_pair(server_config=config)
    evs = drain(server)
    (nst,) = tickets_sent(evs)
    assert nst.ticket_lifetime == 600 and nst.extensions[0].max_early_data_size == 16384
    (issued,) = [e for e in evs if isinstance(e, events.TicketIssued)]
    assert (issued.ticket, issued.lifetime, issued.age_add, issued.nonce, issued.max_early_data, issued.mode) == \
        (nst.ticket, 600, nst.ticket_age_add, nst.ticket_nonce, 16384, "stateful")


def test_send_ticket_sends_one_more_on_demand():
    client, server = connected_pair(server_config=make_server_config(ticket_count=0))
    drain(client), drain(server)
    ticket = server.send_ticket()
    pump(client, server)
    (nst,) = tickets_sent(drain(server))
    assert nst.ticket == ticket and nst.ticket_nonce == b"\x00\x00"
    assert [e.ticket for e in drain(client) if isinstance(e, events.TicketReceived)] == [ticket]
    server.send_ticket()
    pump(client, server)
    assert tickets_sent(drain(server))[0].ticket_nonce == b"\x00\x01"


def test_send_ticket_misuse_is_a_usage_error():
    server = Connection(make_server_config())
    with pytest.raises(UsageError, match="before the handshake"):
        server.send_ticket()
    client, server = connected_pair()
    with pytest.raises(UsageError, match="for servers"):
        client.send_ticket()
    server.close()
    with pytest.raises(UsageError, match="closed"):
        server.send_ticket()


def test_server_config_checks_ticket_settings():
    with pytest.raises(UsageError):
        make_server_config(ticket_count=-1)
    with pytest.raises(UsageError):
        make_server_config(ticket_lifetime=604801)         # RFC 8446 4.6.1: at most seven days
    with pytest.raises(UsageError):
        make_server_config(tickets="keys.txt")
    assert isinstance(make_server_config(tickets=ring()).tickets, SessionTickets)


def test_tickets_are_reproducible_with_an_injected_rng_and_clock():
    now = time.time()        # the test certificates are valid around now

    def run():
        config = make_server_config(rng=seeded_rng(7), clock=lambda: now)
        _, server = connected_pair(make_client_config(rng=seeded_rng(8), clock=lambda: now), config)
        return [t.ticket for t in tickets_sent(drain(server))]
    assert run() == run()

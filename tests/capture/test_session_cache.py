from workbench.capture.model import TicketInfo
from workbench.capture.session_cache import SessionCache


def test_tickets_and_master_secrets_with_a_bound():
    cache = SessionCache(limit=2)
    infos = [TicketInfo(i, 0x0304, 60, bytes([i]) * 8) for i in range(3)]
    for i, info in enumerate(infos):
        cache.add_ticket(info.ticket, connection=i, index=0, info=info)
    assert cache.find_ticket(infos[0].ticket) is None                 # the oldest went first
    assert cache.find_ticket(infos[2].ticket) == (2, 0, infos[2])
    cache.add_ticket(b"", 9, 0, infos[0])                              # empty tickets are not stored
    assert cache.find_ticket(b"") is None
    cache.add_master_secret(b"id:" + b"\x01" * 32, b"m" * 48)
    cache.add_master_secret(b"id:", b"x" * 48)                         # no session id: nothing to key on
    assert cache.master_secret(b"id:" + b"\x01" * 32) == b"m" * 48 and cache.master_secret(b"id:") is None

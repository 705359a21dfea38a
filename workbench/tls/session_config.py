"""Checks of the session settings in ClientConfig and ServerConfig (tickets, resumption, 0-RTT).

config.py calls these from __post_init__, so a wrong setting raises UsageError before any byte is sent.
"""
from __future__ import annotations

import math
from typing import Any

from .early_data import ReplayRegister
from .enums import PskKeyExchangeMode
from .errors import UsageError
from .psk import MAX_TICKET_LIFETIME
from .session_cache import SessionCache
from .tickets import SessionTickets, TicketKeyRing
from .wallet import TicketWallet

DEFAULT_TICKET_COUNT = 2
DEFAULT_TICKET_LIFETIME = 7200


def _check_psk_modes(values: Any) -> tuple[int, ...]:
    try:
        modes = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise UsageError(f"psk_modes must be a sequence of PskKeyExchangeMode values, got {values!r}") from None
    if not modes:
        raise UsageError("psk_modes must not be empty")
    for mode in modes:
        if mode not in (PskKeyExchangeMode.PSK_KE, PskKeyExchangeMode.PSK_DHE_KE):
            raise UsageError(f"psk_modes: {mode} is not psk_ke (0) or psk_dhe_ke (1)")
    if len(set(modes)) != len(modes):
        raise UsageError(f"psk_modes lists a mode twice: {modes}")
    return tuple(PskKeyExchangeMode(m) for m in modes)


def _check_count(name: str, value: Any, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise UsageError(f"{name} must be an integer 0..{maximum}, got {value!r}")
    return value


def check_client(cfg: Any) -> None:
    cfg.psk_modes = _check_psk_modes(cfg.psk_modes)
    if cfg.session_data is not None and not isinstance(cfg.session_data, (bytes, bytearray)):
        raise UsageError(f"session_data must be the bytes session_data() returned, got {type(cfg.session_data).__name__}")
    if cfg.wallet is None:
        cfg.wallet = TicketWallet()
    elif not isinstance(cfg.wallet, TicketWallet):
        raise UsageError(f"wallet must be a TicketWallet, got {type(cfg.wallet).__name__}")
    for name in ("ticket_reuse", "resume_from_wallet"):
        if not isinstance(getattr(cfg, name), bool):
            raise UsageError(f"{name} must be True or False")


def check_server(cfg: Any) -> None:
    cfg.psk_modes = _check_psk_modes(cfg.psk_modes)
    cfg.ticket_count = _check_count("ticket_count", cfg.ticket_count, 255)
    cfg.ticket_lifetime = _check_count("ticket_lifetime", cfg.ticket_lifetime, MAX_TICKET_LIFETIME)
    cfg.max_early_data = _check_count("max_early_data", cfg.max_early_data, 2**32 - 1)
    tolerance = cfg.early_data_age_tolerance
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) \
            or tolerance < 0:
        raise UsageError(f"early_data_age_tolerance must be seconds >= 0, got {tolerance!r}")
    if cfg.tickets is None:
        cfg.tickets = SessionTickets()
    elif isinstance(cfg.tickets, TicketKeyRing):
        cfg.tickets = SessionTickets(cfg.tickets)
    elif not isinstance(cfg.tickets, SessionTickets):
        raise UsageError(f"tickets must be SessionTickets or a TicketKeyRing, got {type(cfg.tickets).__name__}")
    if cfg.session_cache is None:
        cfg.session_cache = SessionCache(10000)
    elif not isinstance(cfg.session_cache, SessionCache):
        raise UsageError(f"session_cache must be a SessionCache, got {type(cfg.session_cache).__name__}")
    if cfg.anti_replay is None:
        cfg.anti_replay = ReplayRegister()
    elif not isinstance(cfg.anti_replay, ReplayRegister):
        raise UsageError(f"anti_replay must be a ReplayRegister, got {type(cfg.anti_replay).__name__}")

"""Session tickets on the server: the keys that seal them, their rotation, and the stateful store.

Stateless (the default): a ticket is the session state sealed with AES-256-GCM,

    key_name (8: ring id 4 + key period 4) | nonce (12) | AEAD(session state) with key_name as AAD

The keys come from one secret: the key of period n = floor(now / rotation_interval) is
HMAC-SHA256(secret, "tls-workbench ticket key" + n). Every server process that holds the same
secret (a key file, see TicketKeyRing.load_or_create) seals with the same key at the same time
and rotates on the same schedule without talking to the others. A ticket sealed in period n is
still opened until `grace_period` seconds after period n ended; after that it is refused, and
the handshake falls back to a full one, saying why.

Stateful (an option): a ticket is a random identity; the session waits in a bounded store
with expiry and is removed when redeemed, so each ticket resumes at most once.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets as _secrets
import threading
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecodeError, UsageError
from .server_session import ServerSession
from .session_cache import SessionCache

Rng = Callable[[int], bytes]

_RING_ID_SIZE = 4
_KEY_NAME_SIZE = 8
_NONCE_SIZE = 12
_TAG_SIZE = 16
_KEY_FILE_FORMAT = "tls-workbench-ticket-keys 1"
DEFAULT_ROTATION_INTERVAL = 3600.0      # a new key every hour ...
DEFAULT_GRACE_PERIOD = 7200.0           # ... and the previous ones opened for the default ticket lifetime


class TicketRefused(Exception):
    """A ticket this server will not resume; the message is the reason shown in ResumptionRefused."""


def _check_seconds(name: str, value: float, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < minimum:
        raise UsageError(f"{name} must be a number of seconds >= {minimum}, got {value!r}")
    return float(value)


class TicketKeyRing:
    """The ticket keys derived from one secret, one per rotation period."""

    def __init__(self, secret: bytes, *, rotation_interval: float = DEFAULT_ROTATION_INTERVAL,
                 grace_period: float = DEFAULT_GRACE_PERIOD, path: str | os.PathLike | None = None):
        if not isinstance(secret, (bytes, bytearray)) or len(secret) < 16:
            raise UsageError("a ticket key ring needs a secret of at least 16 bytes")
        self.secret = bytes(secret)
        self.rotation_interval = _check_seconds("rotation_interval", rotation_interval, 1)
        self.grace_period = _check_seconds("grace_period", grace_period, 0)
        self.path = None if path is None else Path(path)
        self.ring_id = hashlib.sha256(b"tls-workbench ticket ring" + self.secret).digest()[:_RING_ID_SIZE]
        self._aeads: dict[int, AESGCM] = {}

    @classmethod
    def generate(cls, rng: Rng = os.urandom, **kwargs) -> "TicketKeyRing":
        return cls(rng(32), **kwargs)

    # --- the schedule ------------------------------------------------------------------------

    def period(self, now: float) -> int:
        return int(now // self.rotation_interval)

    def key_name(self, period: int) -> bytes:
        return self.ring_id + (period % 2**32).to_bytes(4, "big")

    def retired_at(self, period: int) -> float:
        """When tickets sealed in `period` stop being accepted."""
        return (period + 1) * self.rotation_interval + self.grace_period

    def _aead(self, period: int) -> AESGCM:
        aead = self._aeads.get(period)
        if aead is None:
            key = hmac.new(self.secret, b"tls-workbench ticket key" + period.to_bytes(8, "big"),
                           hashlib.sha256).digest()
            if len(self._aeads) > 64:
                self._aeads.clear()
            aead = self._aeads[period] = AESGCM(key)
        return aead

    # --- sealing -----------------------------------------------------------------------------

    def seal(self, plaintext: bytes, *, now: float, rng: Rng) -> bytes:
        period = self.period(now)
        name = self.key_name(period)
        nonce = rng(_NONCE_SIZE)
        return name + nonce + self._aead(period).encrypt(nonce, plaintext, name)

    def open(self, ticket: bytes, *, now: float) -> bytes:
        """The plaintext of a ticket sealed by this ring; TicketRefused says why not."""
        if len(ticket) < _KEY_NAME_SIZE + _NONCE_SIZE + _TAG_SIZE:
            raise TicketRefused(f"ticket of {len(ticket)} bytes is too short to be one of ours")
        name, nonce, sealed = ticket[:_KEY_NAME_SIZE], ticket[_KEY_NAME_SIZE:_KEY_NAME_SIZE + _NONCE_SIZE], \
            ticket[_KEY_NAME_SIZE + _NONCE_SIZE:]
        if name[:_RING_ID_SIZE] != self.ring_id:
            raise TicketRefused("ticket sealed under another ticket key (not this server's key file)")
        current = self.period(now)
        # The key name keeps the period modulo 2^32. The next period is accepted too: another
        # process sharing the key file, its clock a little ahead, may have rotated already.
        named = int.from_bytes(name[_RING_ID_SIZE:], "big")
        period = current + 1 if (named - current) % 2**32 == 1 else current - ((current - named) % 2**32)
        if now >= self.retired_at(period):
            raise TicketRefused(f"ticket key rotated out: sealed in key period {period}, accepted until "
                                f"{self.retired_at(period):.0f} (grace period {self.grace_period:g} s), "
                                f"now {now:.0f}")
        try:
            return self._aead(period).decrypt(nonce, sealed, name)
        except InvalidTag:
            raise TicketRefused("ticket does not authenticate under its key (damaged or forged)") from None

    # --- the key file ------------------------------------------------------------------------

    def to_text(self) -> str:
        return (f"# TLS Workbench session ticket keys. Keep this file secret: whoever reads it can\n"
                f"# decrypt every session resumed with tickets sealed under it.\n"
                f"format: {_KEY_FILE_FORMAT}\n"
                f"secret: {self.secret.hex()}\n"
                f"rotation-interval: {self.rotation_interval:g}\n"
                f"grace-period: {self.grace_period:g}\n")

    @classmethod
    def from_text(cls, text: str, path: str | os.PathLike | None = None) -> "TicketKeyRing":
        where = f"ticket key file {path}" if path is not None else "ticket key text"
        values: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise UsageError(f"{where}, line {number}: expected 'name: value'")
            values[key.strip()] = value.strip()
        if values.get("format") != _KEY_FILE_FORMAT:
            raise UsageError(f"{where}: not a TLS Workbench ticket key file (format line missing or different)")
        try:
            secret = bytes.fromhex(values["secret"])
            interval = float(values.get("rotation-interval", DEFAULT_ROTATION_INTERVAL))
            grace = float(values.get("grace-period", DEFAULT_GRACE_PERIOD))
        except KeyError:
            raise UsageError(f"{where}: no secret line") from None
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
        return cls(secret, rotation_interval=interval, grace_period=grace, path=path)

    def save(self, path: str | os.PathLike, *, exclusive: bool = False) -> None:
        """Write the key file (mode 0600). exclusive: fail with FileExistsError if it exists."""
        path = Path(path)
        data = self.to_text().encode("ascii")
        if exclusive:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        else:
            # Replace atomically so that a process loading it never sees half a file.
            temporary = path.with_name(f".{path.name}.{_secrets.token_hex(4)}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TicketKeyRing":
        try:
            text = Path(path).read_text(encoding="ascii")
        except OSError as exc:
            raise UsageError(f"cannot read ticket key file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"ticket key file {path} is not text") from None
        return cls.from_text(text, path)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike, *, rng: Rng = os.urandom, **kwargs) -> "TicketKeyRing":
        """The ring in `path`, made (with a fresh secret) if the file does not exist yet.
        Two processes racing to make it end up with the same file: the loser loads the winner's."""
        try:
            return cls.load(path) if Path(path).exists() else cls._create(path, rng, kwargs)
        except FileExistsError:
            return cls.load(path)

    @classmethod
    def _create(cls, path, rng: Rng, kwargs) -> "TicketKeyRing":
        ring = cls.generate(rng, **kwargs)
        ring.save(path, exclusive=True)
        return ring

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        return (f"<TicketKeyRing {self.ring_id.hex()}{where}: rotation every {self.rotation_interval:g} s, "
                f"grace {self.grace_period:g} s>")


class SessionTickets:
    """The tickets of one server (shared by every connection made from its ServerConfig).

    stateless (default): sealed with `keys` (a TicketKeyRing; one is generated from the
    connection's rng on first use if none is given).
    stateful: a random identity of `identity_length` bytes, the session kept in a store of at
    most `store_size` entries until it expires or is redeemed (single use).
    """

    def __init__(self, keys: TicketKeyRing | None = None, *, stateful: bool = False, store_size: int = 10000,
                 identity_length: int = 32):
        if keys is not None and not isinstance(keys, TicketKeyRing):
            raise UsageError(f"keys must be a TicketKeyRing, got {type(keys).__name__}")
        if not isinstance(identity_length, int) or not 16 <= identity_length <= 0xFFFF:
            raise UsageError(f"identity_length must be 16..65535 bytes, got {identity_length!r}")
        self.keys = keys
        self.stateful = bool(stateful)
        self.identity_length = identity_length
        self.store: SessionCache[bytes, ServerSession] = SessionCache(store_size)
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "stateful" if self.stateful else "stateless"

    def issue(self, session: ServerSession, *, now: float, rng: Rng) -> bytes:
        """A ticket for `session`."""
        if self.stateful:
            identity = rng(self.identity_length)
            self.remember(identity, session, now=now)
            return identity
        with self._lock:           # connections on several threads: one ring, made once
            if self.keys is None:
                self.keys = TicketKeyRing.generate(rng)
        return self.keys.seal(session.encode(), now=now, rng=rng)

    def remember(self, identity: bytes, session: ServerSession, *, now: float) -> None:
        """Put a session in the stateful store under `identity` (until it expires)."""
        self.store.put(bytes(identity), session, session.expires_at(), now)

    def redeem(self, ticket: bytes, *, now: float) -> ServerSession:
        """The session a ticket stands for; TicketRefused says why it cannot be used.
        A stateful ticket is removed from the store: it resumes once."""
        if self.stateful:
            session = self.store.pop(bytes(ticket), now)
            if session is None:
                raise TicketRefused("ticket unknown to this server's session store "
                                    "(never issued here, already used, expired or evicted)")
        else:
            if self.keys is None:
                raise TicketRefused("this server has issued no tickets yet (it holds no ticket key)")
            plaintext = self.keys.open(ticket, now=now)
            try:
                session = ServerSession.decode(plaintext)
            except DecodeError as exc:
                raise TicketRefused(f"ticket content is not a session: {exc}") from None
        if session.expired(now):
            raise TicketRefused(f"ticket expired {now - session.expires_at():.0f} s ago "
                                f"(lifetime {session.lifetime} s)")
        return session

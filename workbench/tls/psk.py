"""TLS 1.3 resumption PSKs: the ticket's PSK, the obfuscated ticket age, and the binders.

RFC 8446 4.2.11: each offered PSK carries a binder, an HMAC (the Finished computation
keyed with the "res binder" key) over the transcript up to the ClientHello truncated just
before the binders list. Its handshake header still announces the full length. After a
HelloRetryRequest the transcript in front of it is message_hash(ClientHello1) + HRR.
"""
from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Sequence

from .enums import PskKeyExchangeMode
from .extensions import PreSharedKeyClientHello, PskIdentity
from .key_schedule import KeySchedule, Transcript, hash_of, resumption_psk
from .messages import ClientHello, encode_handshake

MAX_TICKET_LIFETIME = 604800          # seven days (RFC 8446 4.6.1)
AGE_MODULUS = 2 ** 32

PSK_MODES = (PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE)


def ticket_psk(hash_cls: type, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)."""
    return resumption_psk(hash_cls, resumption_master_secret, ticket_nonce)


def obfuscate_age(age_ms: int, age_add: int) -> int:
    """obfuscated_ticket_age = (ticket age in ms + ticket_age_add) mod 2^32."""
    return (int(age_ms) + age_add) % AGE_MODULUS


def client_ticket_age(obfuscated_age: int, age_add: int) -> int:
    """The age in ms the client claims, recovered from its obfuscated_ticket_age."""
    return (obfuscated_age - age_add) % AGE_MODULUS


def with_placeholder_binders(hello: ClientHello, identities: Sequence[PskIdentity],
                             hash_lengths: Sequence[int]) -> ClientHello:
    """The ClientHello ending with pre_shared_key whose binders are zeros of the right sizes,
    so that the encoded length (and any padding computed from it) is final."""
    psk = PreSharedKeyClientHello(tuple(identities), tuple(bytes(n) for n in hash_lengths))
    return replace(hello, extensions=hello.extensions + (psk,))


def truncated_client_hello(encoded_hello: bytes, psk: PreSharedKeyClientHello) -> bytes:
    """The ClientHello up to and including the identities: what the binders cover."""
    return encoded_hello[:len(encoded_hello) - psk.binders_length()]


def binder_hash(hash_cls: type, truncated_hello: bytes, before: Transcript | None = None) -> bytes:
    """Transcript-Hash(earlier messages + truncated ClientHello); `before` holds
    message_hash(ClientHello1) + HelloRetryRequest on a second ClientHello."""
    if before is None:
        return hash_of(hash_cls, truncated_hello)
    return before.digest_with(truncated_hello)


def compute_binder(schedule: KeySchedule, truncated_hash: bytes, *, resumption: bool = True) -> bytes:
    """The binder of one PSK whose early secret `schedule` holds."""
    return schedule.binder(schedule.binder_key(resumption), truncated_hash)


def bind(hello: ClientHello, schedules: Sequence[KeySchedule], before: Transcript | None = None) -> ClientHello:
    """Replace the placeholder binders of `hello` (pre_shared_key last) with the real ones."""
    psk = hello.extensions[-1]
    if not isinstance(psk, PreSharedKeyClientHello):
        raise ValueError("pre_shared_key must be the last extension of the ClientHello")
    truncated = truncated_client_hello(encode_handshake(hello), psk)
    binders = tuple(compute_binder(s, binder_hash(s.hash, truncated, before)) for s in schedules)
    return replace(hello, extensions=hello.extensions[:-1] + (PreSharedKeyClientHello(psk.identities, binders),))


def binder_matches(expected: bytes, received: bytes) -> bool:
    return hmac.compare_digest(expected, received)

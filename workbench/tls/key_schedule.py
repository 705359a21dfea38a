"""Key derivation: the TLS 1.3 key schedule (RFC 8446 section 7) and the TLS 1.2 PRF
(RFC 5246 section 5, extended master secret RFC 7627), plus the running handshake transcript.

Every derived secret of a TLS 1.3 handshake is recorded as a `DerivedSecret` in
`KeySchedule.derived`, in derivation order, so the engine can turn them into events and the
key-schedule view can draw where each one came from.
"""
from __future__ import annotations

import functools
import hashlib
from hmac import digest as _hmac_digest
from dataclasses import dataclass
from typing import Any, Callable

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from .cipher_suites import CipherSuiteInfo
from .enums import HandshakeType
from .errors import UsageError
from .frozen import fast_frozen_init

# --- HKDF (RFC 5869) and the TLS 1.3 labels -------------------------------------------------------

_LABEL_PREFIX = b"tls13 "

# The handshake derives a dozen secrets per connection: keep hash instances and the constant
# part of each HkdfLabel (length, label, context length) instead of rebuilding them on every call.
_HASH_INSTANCES: dict[type, hashes.HashAlgorithm] = {}
_LABEL_HEADS: dict[tuple[bytes, int, int], bytes] = {}
_LABEL_HEADS_LIMIT = 256              # exporter labels come from callers; do not grow without bound


def _hash(hash_cls: type) -> hashes.HashAlgorithm:
    instance = _HASH_INSTANCES.get(hash_cls)
    if instance is None:
        instance = _HASH_INSTANCES[hash_cls] = hash_cls()
    return instance


# HMAC (RFC 2104) for a key used once, on hashlib's one-shot hashes (see _hashlib_constructor):
# about three quarters of the cost of keying one of cryptography's HMAC objects (whose
# construction also runs ABC instance checks) and finalizing it. A key used for several labels is
# better served by a keyed cryptography HMAC copied per label (LabelExpander).
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _hmac_once(hash_cls: type, key: bytes, data: bytes) -> bytes:
    new = _HASHLIB_CONSTRUCTORS.get(hash_cls) or _hashlib_constructor(hash_cls)
    block_size = hash_cls.block_size
    if len(key) > block_size:
        key = new(key).digest()
    key = key.ljust(block_size, b"\x00")
    return new(key.translate(_OPAD) + new(key.translate(_IPAD) + data).digest()).digest()


def hkdf_extract(hash_cls: type, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract. An empty salt is the same as a string of zeros (HMAC pads the key with zeros)."""
    return _hmac_once(hash_cls, salt, ikm)


def _label_head(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure (RFC 8446 7.1) up to the context itself: head + context is the
    `info` of HKDF-Expand."""
    key = (label, length, len(context))
    head = _LABEL_HEADS.get(key)
    if head is None:
        full_label = _LABEL_PREFIX + label
        head = length.to_bytes(2, "big") + bytes((len(full_label),)) + full_label + bytes((len(context),))
        if len(_LABEL_HEADS) < _LABEL_HEADS_LIMIT:
            _LABEL_HEADS[key] = head
    return head


def _label_info(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure (RFC 8446 7.1), the `info` of HKDF-Expand."""
    return _label_head(label, context, length) + context


class LabelExpander:
    """HKDF-Expand-Label from one secret, for several labels.

    An output no longer than the hash is one HMAC block, T(1) = HMAC(secret, info || 0x01)
    (RFC 5869 2.3); that is every secret, key and IV of TLS 1.3. The HMAC is keyed once and
    copied per label, which costs half of a fresh HKDFExpand. Longer outputs (exporters) take
    cryptography's HKDFExpand, which also enforces the 255-block limit.
    """

    __slots__ = ("_hash_cls", "_secret", "_keyed", "_digest_size")

    def __init__(self, hash_cls: type, secret: bytes):
        self._hash_cls = hash_cls
        self._secret = secret
        self._digest_size = hash_cls.digest_size
        self._keyed = hmac.HMAC(secret, _HASH_INSTANCES.get(hash_cls) or _hash(hash_cls))

    def expand(self, label: bytes, context: bytes, length: int) -> bytes:
        if length > self._digest_size:
            info = _label_info(label, context, length)
            return HKDFExpand(_hash(self._hash_cls), length, info).derive(self._secret)
        head = _LABEL_HEADS.get((label, length, len(context))) or _label_head(label, context, length)
        mac = self._keyed.copy()
        mac.update(head + context + b"\x01")
        return mac.finalize()[:length]


def hkdf_expand_label(hash_cls: type, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label; `label` is given without the "tls13 " prefix."""
    if length > hash_cls.digest_size:
        return HKDFExpand(_hash(hash_cls), length, _label_info(label, context, length)).derive(secret)
    # One block (see LabelExpander), with a key used once.
    return _hmac_once(hash_cls, secret, _label_head(label, context, length) + context + b"\x01")[:length]


def derive_secret(hash_cls: type, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret, taking the transcript hash (not the messages) so callers hash once."""
    return hkdf_expand_label(hash_cls, secret, label, transcript_hash, hash_cls.digest_size)


def traffic_keys(suite: CipherSuiteInfo, secret: bytes) -> tuple[bytes, bytes]:
    """The record protection (key, iv) of one traffic secret (RFC 8446 7.3)."""
    expander = LabelExpander(suite.hash, secret)
    return expander.expand(b"key", b"", suite.key_length), expander.expand(b"iv", b"", suite.iv_length)


def next_traffic_secret(hash_cls: type, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 for a KeyUpdate (RFC 8446 7.2)."""
    return hkdf_expand_label(hash_cls, secret, b"traffic upd", b"", hash_cls.digest_size)


def finished_verify_data(hash_cls: type, base_key: bytes, transcript_hash: bytes) -> bytes:
    """Finished.verify_data (RFC 8446 4.4.4); also the PSK binder when base_key is the binder key."""
    finished_key = hkdf_expand_label(hash_cls, base_key, b"finished", b"", hash_cls.digest_size)
    return _hmac_once(hash_cls, finished_key, transcript_hash)


def resumption_psk(hash_cls: type, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK a NewSessionTicket stands for (RFC 8446 4.6.1)."""
    return hkdf_expand_label(hash_cls, resumption_master_secret, b"resumption", ticket_nonce,
                             hash_cls.digest_size)


# Running hashes use hashlib (OpenSSL underneath, as for cryptography): its objects copy and
# digest without the per-call checks of cryptography's Hash, and digest() leaves them usable.
_HASHLIB_CONSTRUCTORS: dict[type, Callable[..., Any]] = {}


class _CryptographyRunningHash:
    """cryptography's Hash in hashlib's shape (update, copy, digest), for a hash hashlib lacks."""

    __slots__ = ("_context",)

    def __init__(self, hash_cls: type, data: bytes = b"", *, context: hashes.Hash | None = None):
        self._context = context if context is not None else hashes.Hash(_hash(hash_cls))
        if data:
            self._context.update(data)

    def update(self, data: bytes) -> None:
        self._context.update(data)

    def copy(self) -> "_CryptographyRunningHash":
        return _CryptographyRunningHash(None, context=self._context.copy())

    def digest(self) -> bytes:
        return self._context.copy().finalize()


def _hashlib_constructor(hash_cls: type) -> Callable[..., Any]:
    """A constructor (data=b"") -> running hash object with update, copy and digest."""
    constructor = _HASHLIB_CONSTRUCTORS.get(hash_cls)
    if constructor is None:
        name = hash_cls.name
        try:
            hashlib.new(name)
            constructor = getattr(hashlib, name, None) or functools.partial(hashlib.new, name)
        except ValueError:
            constructor = functools.partial(_CryptographyRunningHash, hash_cls)
        _HASHLIB_CONSTRUCTORS[hash_cls] = constructor
    return constructor


def hash_of(hash_cls: type, data: bytes) -> bytes:
    return _hashlib_constructor(hash_cls)(data).digest()


_EMPTY_HASHES: dict[type, bytes] = {}


def _empty_hash(hash_cls: type) -> bytes:
    value = _EMPTY_HASHES.get(hash_cls)
    if value is None:
        value = _EMPTY_HASHES[hash_cls] = hash_of(hash_cls, b"")
    return value


# --- transcript ---------------------------------------------------------------------------------

class Transcript:
    """The running hash of the handshake messages.

    The hash may be unknown until the ServerHello picks a suite: until `set_hash()` the raw
    messages are buffered. Asking for the hash after each message costs one digest of the
    running hash object, never a rehash from the start.
    """

    __slots__ = ("hash", "_context", "_pending", "messages")

    def __init__(self, hash_cls: type | None = None, *, keep_messages: bool = False):
        self.hash: type | None = None
        self._context = None                    # a hashlib object once the hash is known
        self._pending: list[bytes] = []
        # The messages the hash covers, for display; None unless asked for (it costs memory).
        self.messages: list[bytes] | None = [] if keep_messages else None
        if hash_cls is not None:
            self.set_hash(hash_cls)

    def set_hash(self, hash_cls: type) -> None:
        if self.hash is not None:
            if self.hash is hash_cls:
                return
            raise UsageError(f"transcript hash already set to {self.hash.name}")
        self._context = _hashlib_constructor(hash_cls)()
        self.hash = hash_cls
        for message in self._pending:
            self._context.update(message)
        self._pending.clear()

    def update(self, raw_handshake_message: bytes) -> None:
        if self._context is not None:
            self._context.update(raw_handshake_message)
        else:
            self._pending.append(raw_handshake_message)
        if self.messages is not None:
            self.messages.append(raw_handshake_message)

    def buffered(self) -> tuple[bytes, ...]:
        """The messages held while the hash is unknown (a client's ClientHello before the ServerHello:
        a TLS 1.2 handshake takes them over when the server picks 1.2)."""
        return tuple(self._pending)

    def _require_hash(self):
        if self._context is None:
            raise UsageError("the transcript hash is not known yet (set_hash() after the ServerHello)")
        return self._context

    def digest(self) -> bytes:
        context = self._context
        if context is None:
            self._require_hash()            # raises
        return context.digest()

    def digest_with(self, extra: bytes) -> bytes:
        """The hash of everything so far plus `extra`, leaving the transcript unchanged
        (the PSK binder covers a truncated ClientHello that is never added as such)."""
        context = self._require_hash().copy()
        context.update(extra)
        return context.digest()

    def restart_after_hello_retry(self) -> None:
        """Replace ClientHello1 by the synthetic message_hash message (RFC 8446 4.4.1).

        Call it when the transcript holds ClientHello1 only, before adding the HelloRetryRequest.
        """
        digest = self.digest()
        synthetic = bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(digest))) + digest
        self._context = _hashlib_constructor(self.hash)(synthetic)
        if self.messages is not None:
            self.messages[:] = [synthetic]


# --- TLS 1.3 key schedule -----------------------------------------------------------------------

# Without a PSK the early secret is HKDF-Extract(0, 0) and its "derived" successor is fixed too:
# constants per hash, computed once (RFC 8446 7.1).
_NO_PSK_SECRETS: dict[type, tuple[bytes, bytes]] = {}


def _no_psk_secrets(hash_cls: type) -> tuple[bytes, bytes]:
    """(early secret, the salt of the handshake secret) of a handshake without a PSK."""
    secrets = _NO_PSK_SECRETS.get(hash_cls)
    if secrets is None:
        zeros = bytes(hash_cls.digest_size)
        early = hkdf_extract(hash_cls, zeros, zeros)
        salt = derive_secret(hash_cls, early, b"derived", _empty_hash(hash_cls))
        secrets = _NO_PSK_SECRETS[hash_cls] = (early, salt)
    return secrets


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class DerivedSecret:
    name: str
    value: bytes
    keylog_label: str | None
    derived_from: tuple[str, ...] = ()


class KeySchedule:
    """The TLS 1.3 key schedule of one handshake, stage by stage (RFC 8446 7.1).

    Stages in order: early() [binder_key(), client_early_traffic_secret()], handshake(),
    master(), resumption_master_secret(); update_traffic_secret() ratchets after the handshake.
    Each stage returns the secrets the engine needs and appends every secret it made to `derived`.
    """

    def __init__(self, suite: CipherSuiteInfo):
        self.suite = suite
        self.hash: type = suite.hash
        self.hash_length: int = suite.hash_length
        self.derived: list[DerivedSecret] = []
        self._zeros = bytes(self.hash_length)
        self._empty_hash = _empty_hash(self.hash)
        self._early_secret: bytes | None = None
        self._early_without_psk = False
        self._handshake_secret: bytes | None = None
        self._handshake_expander: LabelExpander | None = None
        self._master_secret: bytes | None = None
        self._master_expander: LabelExpander | None = None
        # Current application traffic secret and its generation, per direction (True = client).
        self._application: dict[bool, tuple[bytes, int]] = {}

    def _record(self, name: str, value: bytes, keylog_label: str | None = None,
                derived_from: tuple[str, ...] = ()) -> bytes:
        self.derived.append(DerivedSecret(name, value, keylog_label, derived_from))
        return value

    def _derive(self, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
        return derive_secret(self.hash, secret, label, transcript_hash)

    # Early stage

    def early(self, psk: bytes | None = None) -> bytes:
        """The early secret: HKDF-Extract(0, PSK), with zeros for the PSK in a full handshake."""
        if self._early_secret is not None:
            raise UsageError("the early secret is already derived")
        if psk is None:
            secret = _no_psk_secrets(self.hash)[0]
            self._early_without_psk = True
        else:
            secret = hkdf_extract(self.hash, self._zeros, psk)
        self._early_secret = self._record("early secret", secret, None, ("PSK",) if psk is not None else ())
        return secret

    def _require_early(self) -> bytes:
        if self._early_secret is None:
            raise UsageError("derive the early secret first")
        return self._early_secret

    def binder_key(self, resumption: bool = True) -> bytes:
        """The binder key: "res binder" for a ticket PSK, "ext binder" for an external PSK."""
        label, name = (b"res binder", "binder key (res)") if resumption else (b"ext binder", "binder key (ext)")
        return self._record(name, self._derive(self._require_early(), label, self._empty_hash),
                            None, ("early secret",))

    def binder(self, binder_key: bytes, truncated_transcript_hash: bytes) -> bytes:
        """The PSK binder value over the transcript up to the truncated ClientHello."""
        return finished_verify_data(self.hash, binder_key, truncated_transcript_hash)

    def client_early_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """client_early_traffic_secret (and the early exporter secret); transcript = ClientHello."""
        early = self._require_early()
        secret = self._record("c e traffic", self._derive(early, b"c e traffic", transcript_hash),
                              "CLIENT_EARLY_TRAFFIC_SECRET", ("early secret", "ClientHello"))
        self._record("e exp master", self._derive(early, b"e exp master", transcript_hash),
                     "EARLY_EXPORTER_SECRET", ("early secret", "ClientHello"))
        return secret

    # Handshake stage

    def handshake(self, shared_secret: bytes | None, transcript_hash: bytes) -> tuple[bytes, bytes]:
        """(client, server) handshake traffic secrets; transcript = ClientHello..ServerHello.
        shared_secret is the (EC)DHE output, None for psk_ke."""
        if self._handshake_secret is not None:
            raise UsageError("the handshake secret is already derived")
        if self._early_secret is None:
            self.early(None)
        if self._early_without_psk:
            salt = _no_psk_secrets(self.hash)[1]
        else:
            salt = self._derive(self._early_secret, b"derived", self._empty_hash)
        ikm = shared_secret if shared_secret is not None else self._zeros
        inputs = ("early secret", "(EC)DHE") if shared_secret is not None else ("early secret",)
        secret = self._handshake_secret = self._record("handshake secret", hkdf_extract(self.hash, salt, ikm),
                                                       None, inputs)
        expander = self._handshake_expander = LabelExpander(self.hash, secret)   # also master()'s salt
        size = self.hash_length
        client = self._record("c hs traffic", expander.expand(b"c hs traffic", transcript_hash, size),
                              "CLIENT_HANDSHAKE_TRAFFIC_SECRET", ("handshake secret", "ClientHello..ServerHello"))
        server = self._record("s hs traffic", expander.expand(b"s hs traffic", transcript_hash, size),
                              "SERVER_HANDSHAKE_TRAFFIC_SECRET", ("handshake secret", "ClientHello..ServerHello"))
        return client, server

    # Master stage

    def master(self, transcript_hash: bytes) -> tuple[bytes, bytes]:
        """(client, server) application traffic secrets 0 and the exporter master secret;
        transcript = ClientHello..server Finished."""
        if self._handshake_secret is None:
            raise UsageError("derive the handshake secret first")
        if self._master_secret is not None:
            raise UsageError("the master secret is already derived")
        size = self.hash_length
        salt = self._handshake_expander.expand(b"derived", self._empty_hash, size)
        secret = self._master_secret = self._record("master secret", hkdf_extract(self.hash, salt, self._zeros),
                                                    None, ("handshake secret",))
        expander = self._master_expander = LabelExpander(self.hash, secret)     # also the resumption secret
        context = ("master secret", "ClientHello..server Finished")
        client = self._record("c ap traffic", expander.expand(b"c ap traffic", transcript_hash, size),
                              "CLIENT_TRAFFIC_SECRET_0", context)
        server = self._record("s ap traffic", expander.expand(b"s ap traffic", transcript_hash, size),
                              "SERVER_TRAFFIC_SECRET_0", context)
        self._record("exp master", expander.expand(b"exp master", transcript_hash, size), "EXPORTER_SECRET", context)
        self._application = {True: (client, 0), False: (server, 0)}
        return client, server

    def _require_master(self) -> bytes:
        if self._master_secret is None:
            raise UsageError("derive the master secret first")
        return self._master_secret

    def resumption_master_secret(self, transcript_hash: bytes) -> bytes:
        """transcript = ClientHello..client Finished."""
        self._require_master()
        return self._record("res master", self._master_expander.expand(b"res master", transcript_hash,
                                                                       self.hash_length),
                            None, ("master secret", "ClientHello..client Finished"))

    def exporter_master_secret(self) -> bytes | None:
        return next((d.value for d in reversed(self.derived) if d.name == "exp master"), None)

    def finished(self, base_key: bytes, transcript_hash: bytes) -> bytes:
        """Finished.verify_data with base_key = the sender's handshake traffic secret."""
        return finished_verify_data(self.hash, base_key, transcript_hash)

    def update_traffic_secret(self, client: bool) -> bytes:
        """KeyUpdate: the next application traffic secret of one direction ("c ap traffic N")."""
        self._require_master()
        current, generation = self._application[client]
        following = next_traffic_secret(self.hash, current)
        side = "c" if client else "s"
        self._application[client] = (following, generation + 1)
        # The key log format only names generation 0; readers ratchet the rest themselves.
        return self._record(f"{side} ap traffic {generation + 1}", following, None,
                            (f"{side} ap traffic" + (f" {generation}" if generation else ""),))

    def application_generation(self, client: bool) -> int:
        return self._application[client][1]


# --- TLS 1.2 ------------------------------------------------------------------------------------

def prf12(hash_cls: type, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.2 PRF: P_hash(secret, label + seed) (RFC 5246 section 5).

    Each HMAC is one call of the standard library's one-shot hmac.digest (OpenSSL underneath): a
    handshake runs the PRF eight times, and object set-up cost more than the hashing itself."""
    label_seed = label + seed
    name = hash_cls.name
    digest = _hmac_digest
    a = digest(secret, label_seed, name)
    out = b""
    while True:
        out += digest(secret, a + label_seed, name)
        if len(out) >= length:
            return out[:length]
        a = digest(secret, a, name)


def master_secret12(hash_cls: type, pre_master: bytes, client_random: bytes, server_random: bytes) -> bytes:
    return prf12(hash_cls, pre_master, b"master secret", client_random + server_random, 48)


def extended_master_secret12(hash_cls: type, pre_master: bytes, session_hash: bytes) -> bytes:
    """RFC 7627: session_hash is the handshake hash up to and including ClientKeyExchange."""
    return prf12(hash_cls, pre_master, b"extended master secret", session_hash, 48)


def derived_master_secret12(master_secret: bytes, extended: bool) -> DerivedSecret:
    """The TLS 1.2 master secret as a DerivedSecret (key log line CLIENT_RANDOM)."""
    inputs = ("pre-master secret", "session hash") if extended else ("pre-master secret", "randoms")
    return DerivedSecret("master secret (1.2)", master_secret, "CLIENT_RANDOM", inputs)


def key_block12(suite: CipherSuiteInfo, master_secret: bytes, client_random: bytes,
                server_random: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(client_write_key, server_write_key, client_write_iv, server_write_iv) for an AEAD suite
    (no MAC keys; RFC 5246 6.3). Note the seed order: server_random first."""
    k, i = suite.key_length, suite.iv_length
    block = prf12(suite.hash, master_secret, b"key expansion", server_random + client_random, 2 * (k + i))
    return block[:k], block[k:2 * k], block[2 * k:2 * k + i], block[2 * k + i:]


def finished12(hash_cls: type, master_secret: bytes, label: bytes, handshake_hash: bytes) -> bytes:
    """Finished.verify_data of TLS 1.2 (12 bytes); label b"client finished" or b"server finished"."""
    return prf12(hash_cls, master_secret, label, handshake_hash, 12)

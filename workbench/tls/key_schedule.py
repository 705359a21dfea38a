"""Key derivation: the TLS 1.3 key schedule (RFC 8446 section 7) and the TLS 1.2 PRF
(RFC 5246 section 5, extended master secret RFC 7627), plus the running handshake transcript.

Every derived secret of a TLS 1.3 handshake is recorded as a `DerivedSecret` in
`KeySchedule.derived`, in derivation order, so the engine can turn them into events and the
key-schedule view can draw where each one came from.
"""
from __future__ import annotations

import functools
import hashlib
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


# HMAC is cryptography's. How a key is used decides the shape: a key used once (extract,
# Finished) is keyed, fed and finalized; a key used for several MACs (a stage's secrets, a key and
# its IV, the TLS 1.2 PRF) is keyed once and each MAC continues a copy, which costs half of keying
# anew (keying also runs ABC instance checks on the algorithm).

def _hmac_once(hash_cls: type, key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, _HASH_INSTANCES.get(hash_cls) or _hash(hash_cls))
    mac.update(data)
    return mac.finalize()


def _keyed(hash_cls: type, key: bytes) -> hmac.HMAC:
    """An HMAC keyed with `key`, to be copied for each MAC."""
    return hmac.HMAC(key, _HASH_INSTANCES.get(hash_cls) or _hash(hash_cls))


def _mac(keyed: hmac.HMAC, data: bytes) -> bytes:
    mac = keyed.copy()
    mac.update(data)
    return mac.finalize()


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
    each MAC continues a copy of it. Longer outputs (exporters) take cryptography's HKDFExpand, which also enforces the
    255-block limit.
    """

    __slots__ = ("_hash_cls", "_secret", "_keyed", "_digest_size")

    def __init__(self, hash_cls: type, secret: bytes):
        self._hash_cls = hash_cls
        self._secret = secret
        self._digest_size = hash_cls.digest_size
        self._keyed = _keyed(hash_cls, secret)

    def hmac(self, data: bytes) -> bytes:
        """HMAC(secret, data): HKDF-Extract with this secret as the salt."""
        return _mac(self._keyed, data)

    def expand(self, label: bytes, context: bytes, length: int) -> bytes:
        if length > self._digest_size:
            info = _label_info(label, context, length)
            return HKDFExpand(_hash(self._hash_cls), length, info).derive(self._secret)
        head = _LABEL_HEADS.get((label, length, len(context))) or _label_head(label, context, length)
        return self.hmac(head + context + b"\x01")[:length]

    def derive_secrets(self, labels: tuple[bytes, ...], transcript_hash: bytes) -> list[bytes]:
        """Derive-Secret(secret, label, messages) for each label, given Hash(messages): the
        secrets of one key schedule stage in one call (they share the transcript hash)."""
        size = self._digest_size
        context_length = len(transcript_hash)
        tail = transcript_hash + b"\x01"
        mac = self.hmac
        secrets = []
        for label in labels:
            head = _LABEL_HEADS.get((label, size, context_length)) or _label_head(label, transcript_hash, size)
            secrets.append(mac(head + tail))
        return secrets


def hkdf_expand_label(hash_cls: type, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label; `label` is given without the "tls13 " prefix."""
    if length > hash_cls.digest_size:
        return HKDFExpand(_hash(hash_cls), length, _label_info(label, context, length)).derive(secret)
    # One block (see LabelExpander), with a key used once.
    return _hmac_once(hash_cls, secret, _label_head(label, context, length) + context + b"\x01")[:length]


def derive_secret(hash_cls: type, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret, taking the transcript hash (not the messages) so callers hash once."""
    return hkdf_expand_label(hash_cls, secret, label, transcript_hash, hash_cls.digest_size)


def _one_block_info(label: bytes, length: int) -> bytes:
    """HKDF-Expand's input for T(1) of a label without context: HkdfLabel || 0x01."""
    info = _ONE_BLOCK_INFOS.get((label, length))
    if info is None:
        info = _ONE_BLOCK_INFOS[(label, length)] = _label_head(label, b"", length) + b"\x01"
    return info


_ONE_BLOCK_INFOS: dict[tuple[bytes, int], bytes] = {}      # fixed labels only ("key", "iv", "finished")
_TRAFFIC_INFOS: dict[tuple[int, int], tuple[bytes, bytes]] = {}     # (key length, IV length) -> their infos


def traffic_keys(suite: CipherSuiteInfo, secret: bytes) -> tuple[bytes, bytes]:
    """The record protection (key, iv) of one traffic secret (RFC 8446 7.3)."""
    hash_cls, key_length, iv_length = suite.hash, suite.key_length, suite.iv_length
    if key_length > hash_cls.digest_size or iv_length > hash_cls.digest_size:
        return (hkdf_expand_label(hash_cls, secret, b"key", b"", key_length),
                hkdf_expand_label(hash_cls, secret, b"iv", b"", iv_length))
    infos = _TRAFFIC_INFOS.get((key_length, iv_length))
    if infos is None:
        infos = _TRAFFIC_INFOS[(key_length, iv_length)] = (_one_block_info(b"key", key_length),
                                                           _one_block_info(b"iv", iv_length))
    # Eight epochs per handshake. Each output is one HMAC block (see LabelExpander): key the
    # HMAC once, copy it for the key, and finish the original with the IV.
    keyed = _keyed(hash_cls, secret)
    key = _mac(keyed, infos[0])
    keyed.update(infos[1])
    return key[:key_length], keyed.finalize()[:iv_length]


def next_traffic_secret(hash_cls: type, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 for a KeyUpdate (RFC 8446 7.2)."""
    return hkdf_expand_label(hash_cls, secret, b"traffic upd", b"", hash_cls.digest_size)


def finished_verify_data(hash_cls: type, base_key: bytes, transcript_hash: bytes) -> bytes:
    """Finished.verify_data (RFC 8446 4.4.4); also the PSK binder when base_key is the binder key."""
    # finished_key = HKDF-Expand-Label(base_key, "finished", "", Hash.length): one HMAC block.
    finished_key = _hmac_once(hash_cls, base_key, _one_block_info(b"finished", hash_cls.digest_size))
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
# constants per hash, computed once (RFC 8446 7.1). So is the HMAC keyed with that salt, which
# extracts the handshake secret: keyed once, not on every handshake.
_NO_PSK_SECRETS: dict[type, tuple[bytes, bytes, "LabelExpander"]] = {}


def _no_psk_secrets(hash_cls: type) -> tuple[bytes, bytes, "LabelExpander"]:
    """(early secret, the salt of the handshake secret, that salt keyed for HMAC) of a handshake
    without a PSK."""
    secrets = _NO_PSK_SECRETS.get(hash_cls)
    if secrets is None:
        zeros = bytes(hash_cls.digest_size)
        early = hkdf_extract(hash_cls, zeros, zeros)
        salt = derive_secret(hash_cls, early, b"derived", _empty_hash(hash_cls))
        secrets = _NO_PSK_SECRETS[hash_cls] = (early, salt, LabelExpander(hash_cls, salt))
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
        ikm = shared_secret if shared_secret is not None else self._zeros
        if self._early_without_psk:
            extracted = _no_psk_secrets(self.hash)[2].hmac(ikm)          # HKDF-Extract(fixed salt, ikm)
        else:
            extracted = hkdf_extract(self.hash, self._derive(self._early_secret, b"derived", self._empty_hash), ikm)
        inputs = ("early secret", "(EC)DHE") if shared_secret is not None else ("early secret",)
        secret = self._handshake_secret = self._record("handshake secret", extracted, None, inputs)
        expander = self._handshake_expander = LabelExpander(self.hash, secret)   # also master()'s salt
        client, server = expander.derive_secrets((b"c hs traffic", b"s hs traffic"), transcript_hash)
        context = ("handshake secret", "ClientHello..ServerHello")
        self._record("c hs traffic", client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", context)
        self._record("s hs traffic", server, "SERVER_HANDSHAKE_TRAFFIC_SECRET", context)
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
        client, server, exporter = expander.derive_secrets((b"c ap traffic", b"s ap traffic", b"exp master"),
                                                           transcript_hash)
        context = ("master secret", "ClientHello..server Finished")
        self._record("c ap traffic", client, "CLIENT_TRAFFIC_SECRET_0", context)
        self._record("s ap traffic", server, "SERVER_TRAFFIC_SECRET_0", context)
        self._record("exp master", exporter, "EXPORTER_SECRET", context)
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

    Every HMAC of one call shares the secret: it is keyed once and each MAC continues a copy,
    about a third of the cost of the standard library's hmac.digest, which sets up OpenSSL's HMAC
    anew every time. A handshake runs the PRF eight times, 24 HMACs."""
    keyed = _keyed(hash_cls, secret)
    label_seed = label + seed
    a = _mac(keyed, label_seed)                          # A(1)
    out = b""
    while True:
        out += _mac(keyed, a + label_seed)               # HMAC(A(i) + seed)
        if len(out) >= length:
            return out[:length]
        a = _mac(keyed, a)                               # A(i + 1)


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

"""Decoding the TLS records of one connection, in wire order, decrypting with a key log.

`TLSConnectionDecoder.record()` takes each framed record (either direction, in the order the capture saw them)
and returns a DecodedRecord. It follows the handshake to know which keys protect which record:

TLS 1.3: early data (CLIENT_EARLY_TRAFFIC_SECRET, until EndOfEarlyData), handshake traffic secrets from the
ServerHello on, application traffic secrets after each side's Finished, KeyUpdate ("traffic upd" ratchet,
"application-N"), record padding, HelloRetryRequest. Where a key is missing or does not authenticate, the next
epoch's keys are tried (a server that refused 0-RTT, a key log with only some lines), as Wireshark does.

TLS 1.2: the master secret (CLIENT_RANDOM line, or for an abbreviated handshake the secret of the session it
resumes) gives each direction new keys at its ChangeCipherSpec; a renegotiation (ClientHello under encryption)
brings new randoms and new keys at the next ChangeCipherSpec. AEAD (GCM, CCM, ChaCha20-Poly1305) and AES-CBC
with HMAC (MAC-then-encrypt and encrypt-then-MAC) suites.

A missing key is named (label, client random) in the record's note and once per connection in the
diagnostics; decoding goes on with the next record.
"""
from __future__ import annotations

from workbench.tls import messages as m
from workbench.tls.errors import ProtocolError
from workbench.tls.extensions import (
    EarlyData, EncryptThenMac, PreSharedKeyClientHello, PreSharedKeyServerHello, ServerName,
    SessionTicket, SupportedVersionsClientHello, SupportedVersionsServerHello,
)
from workbench.tls.key_schedule import key_block12, next_traffic_secret, prf12

from .diagnostics import Diagnostic, add_diagnostic
from .keylog import KeyLog
from .model import AlertInfo, ConnectionSummary, DecodedRecord, KeyUpdateInfo, RenegotiationInfo, TicketInfo
from .record_ciphers import DecryptFailed, Tls12AeadOpener, Tls12CbcOpener, Tls13Opener, is_tls13
from .session_cache import SessionCache
from .suites import CBCSuite, lookup_suite, suite_name
from workbench.tls.cipher_suites import CIPHER_SUITES

CLIENT, SERVER = 0, 1
_NAMES = ("client", "server")
_CCS, _ALERT, _HANDSHAKE, _APPDATA = 20, 21, 22, 23
TLS13 = 0x0304
_NO_RENEGOTIATION = 100
_MAX_HANDSHAKE_MESSAGE = 1 << 24


class _AnyOf:
    """Several candidate openers for one epoch (the suite of 0-RTT data is not known before the ServerHello);
    the first that authenticates a record becomes the only one."""

    __slots__ = ("openers",)

    def __init__(self, openers):
        self.openers = list(openers)

    def open(self, record: bytes, seq: int):
        for opener in self.openers:
            try:
                result = opener.open(record, seq)
            except DecryptFailed:
                continue
            self.openers = [opener]
            return result
        raise DecryptFailed("record did not authenticate under any candidate suite")

    @property
    def suite(self):
        return self.openers[0].suite if len(self.openers) == 1 else None


class _Missing(Exception):
    """A key is not available (yet): the message says which."""


class _Epoch:
    """Keys for one direction: an opener (None when unknown) and, for TLS 1.3 application data, the secret
    the next KeyUpdate ratchets.

    Keys are resolved lazily, when the first record of the epoch arrives, and looked up again while they are
    missing: a live capture may see the ServerHello before the endpoint has written its key log line."""

    __slots__ = ("label", "opener", "secret", "generation", "missing", "resolve")

    def __init__(self, label: str, opener=None, secret: bytes | None = None, generation: int = 0,
                 missing: str | None = None, resolve=None):
        self.label = label
        self.opener = opener
        self.secret = secret
        self.generation = generation
        self.missing = missing
        self.resolve = resolve          # () -> (opener, secret), raises _Missing

    def ready(self) -> bool:
        if self.opener is None and self.resolve is not None:
            try:
                self.opener, self.secret = self.resolve()
            except _Missing as exc:
                self.missing = str(exc)
                return False
            self.resolve = None
            self.missing = None
        return self.opener is not None


class _Direction:
    __slots__ = ("name", "protected", "tls13", "epoch", "seq", "later", "reassembler", "finished", "lost")

    def __init__(self, name: str):
        self.name = name
        self.protected = False         # records are encrypted from here on
        self.tls13 = False             # ... under TLS 1.3 (only outer type 23 is protected)
        self.epoch = _Epoch("plaintext")
        self.seq = 0
        self.later: list[_Epoch] = []  # epochs expected next, tried when the current keys fail
        self.reassembler = m.HandshakeReassembler(_MAX_HANDSHAKE_MESSAGE)
        self.finished = False
        self.lost = 0                  # after a hole in the stream: how many lost records to allow for


class _Handshake:
    """Parameters of one handshake (the first, or a renegotiation)."""

    __slots__ = ("index", "client_random", "server_random", "session_id", "ticket", "suite", "version",
                 "encrypt_then_mac", "full", "keys12", "master_secret", "ccs_seen", "finished_seen", "renegotiation")

    def __init__(self, index: int):
        self.index = index
        self.client_random: bytes | None = None
        self.server_random: bytes | None = None
        self.session_id = b""
        self.ticket = b""
        self.suite: int | None = None
        self.version: int | None = None
        self.encrypt_then_mac = False
        self.full = False               # a key exchange was seen (not an abbreviated handshake)
        self.keys12 = None              # (client opener, server opener), or a note saying why there are none
        self.master_secret: bytes | None = None
        self.ccs_seen = [False, False]
        self.finished_seen = [False, False]
        self.renegotiation: RenegotiationInfo | None = None


class TLSConnectionDecoder:
    def __init__(self, summary: ConnectionSummary, endpoints: tuple[str, str], keylog: KeyLog,
                 cache: SessionCache | None = None, diagnostics=None):
        self.summary = summary
        self.endpoints = (endpoints, endpoints[::-1])   # (src, dst) of client records, of server records
        self.keylog = keylog
        self.cache = cache if cache is not None else SessionCache()
        self.diagnostics = diagnostics if diagnostics is not None else []
        self.dirs = (_Direction("client"), _Direction("server"))
        self.hs = _Handshake(0)
        self.tls13 = False
        self.established = False                # the first handshake completed (post-handshake / renegotiation)
        self._reported: set = set()
        self._frame = 0

    # -- records ----------------------------------------------------------------------------------------------
    def record(self, side: int, ctype: int, version: int, raw: bytes, offset: int, frame: int,
               time: float) -> DecodedRecord:
        d = self.dirs[side]
        self._frame = frame
        src, dst = self.endpoints[side]
        rec = DecodedRecord(self.summary.id, src, dst, d.name, frame, time, ctype, version, len(raw) - 5, offset)
        rec.raw = raw
        summary = self.summary
        summary.records += 1
        if d.protected and (ctype == _APPDATA or not d.tls13):
            rec.protected = True
            rec.tls13 = d.tls13
            rec.epoch = d.epoch.label
            result = self._open(d, raw, rec)
            if result is None:
                if ctype == _ALERT and not d.tls13:
                    summary.alerts.append(AlertInfo(frame, d.name, None, None))
                elif ctype == _CCS and not d.tls13:
                    self._ccs12(side, rec)
                elif ctype == _HANDSHAKE and not d.tls13 and self.established and side == CLIENT \
                        and not self._renegotiating():
                    self._renegotiation_unseen(rec)
                return rec
            inner, content = result
            rec.decrypted = True
            summary.decrypted_records += 1
        else:
            rec.epoch = "plaintext"
            inner, content = ctype, raw[5:]
        rec.inner_type = inner
        rec.plaintext_length = len(content)
        rec.plaintext = content
        if inner == _HANDSHAKE:
            self._handshake_content(side, d, content, rec)
        elif inner == _APPDATA:
            pass
        elif inner == _CCS:
            if not self.tls13 and not (d.tls13 and not rec.protected):
                self._ccs12(side, rec)
        elif inner == _ALERT:
            self._alerts(side, content, rec)
        return rec

    def _open(self, d: _Direction, raw: bytes, rec: DecodedRecord):
        epoch = d.epoch
        failure = None
        if epoch.opener is not None or epoch.ready():
            try:
                result = epoch.opener.open(raw, d.seq)
                rec.sequence = d.seq
                d.seq += 1
                d.lost = 0
                return result
            except DecryptFailed as exc:
                failure = f"{exc} in epoch {epoch.label} (sequence {d.seq})"
                if d.lost:
                    result = self._open_after_loss(d, raw, rec)
                    if result is not None:
                        return result
        for i, later in enumerate(d.later):
            if not later.ready():
                continue
            try:
                result = later.opener.open(raw, 0)
            except DecryptFailed:
                continue
            self._install(d, later)
            d.later = d.later[i + 1:]
            rec.epoch = later.label
            rec.sequence = 0
            d.seq = 1
            return result
        rec.sequence = d.seq
        d.seq += 1
        rec.note = failure or epoch.missing or f"no keys for epoch {epoch.label}"
        return None

    def _open_after_loss(self, d: _Direction, raw: bytes, rec: DecodedRecord):
        """Records were lost with a hole in the stream: the sequence number moved on by an unknown amount."""
        opener = d.epoch.opener
        for skipped in range(1, d.lost + 1):
            try:
                result = opener.open(raw, d.seq + skipped)
            except DecryptFailed:
                continue
            rec.sequence = d.seq + skipped
            rec.note = f"{skipped} record(s) lost before this one"
            d.seq += skipped + 1
            d.lost = 0
            return result
        return None

    def stream_gap(self, side: int) -> None:
        """Bytes of this direction were lost: records may be missing, and a handshake message cut."""
        d = self.dirs[side]
        d.lost = 4096
        if d.reassembler.has_partial:
            d.reassembler = m.HandshakeReassembler(_MAX_HANDSHAKE_MESSAGE)

    def _install(self, d: _Direction, epoch: _Epoch) -> None:
        if d.reassembler.has_partial:
            self._diag("tls", f"{d.name} handshake message cut by a key change; its start is dropped")
            d.reassembler = m.HandshakeReassembler(_MAX_HANDSHAKE_MESSAGE)
        d.epoch = epoch
        d.seq = 0
        d.lost = 0
        d.protected = True

    def _switch(self, side: int, label_prefix: str) -> None:
        """Move a direction to its next expected epoch whose label starts with `label_prefix`."""
        d = self.dirs[side]
        for i, later in enumerate(d.later):
            if later.label.startswith(label_prefix):
                self._install(d, later)
                d.later = d.later[i + 1:]
                return

    # -- handshake messages -------------------------------------------------------------------------------
    def _handshake_content(self, side: int, d: _Direction, content: bytes, rec: DecodedRecord) -> None:
        try:
            d.reassembler.feed(content)
        except ProtocolError as exc:
            rec.note = f"handshake stream broken: {exc}"
            d.reassembler = m.HandshakeReassembler(_MAX_HANDSHAKE_MESSAGE)
            return
        while True:
            raw = d.reassembler.pop()
            if raw is None:
                break
            rec.handshake.append(raw[0])
            rec.messages.append(raw)
            try:
                self._message(side, raw, rec)
            except ProtocolError as exc:
                rec.note = f"malformed handshake message type {raw[0]}: {exc}"
                self._diag("tls", rec.note)

    def _message(self, side: int, raw: bytes, rec: DecodedRecord) -> None:
        htype = raw[0]
        if htype == 1 and side == CLIENT:
            self._client_hello(raw, rec)
        elif htype == 2 and side == SERVER:
            self._server_hello(raw, rec)
        elif htype == 8 and side == SERVER:
            ee = m.decode_handshake(raw, tls13=True)
            if self.summary.early_data_offered:
                self.summary.early_data_accepted = ee.get_extension(EarlyData) is not None
        elif htype == 20:
            self._finished(side, rec)
        elif htype == 5 and side == CLIENT:
            self._switch(CLIENT, "handshake")
        elif htype == 4 and side == SERVER:
            self._new_session_ticket(raw, rec)
        elif htype == 24 and self.tls13:
            self._key_update(side, raw, rec)
        elif htype in (11, 12, 16) and not self.tls13:
            self.hs.full = True
        elif htype == 0 and side == SERVER and not self.tls13:
            self.summary.renegotiations.append(RenegotiationInfo(rec.frame, "server", "requested"))

    def _client_hello(self, raw: bytes, rec: DecodedRecord) -> None:
        s = self.summary
        try:
            ch = m.decode_handshake(raw, tls13=True)
        except ProtocolError as exc:
            rec.note = f"ClientHello not fully decoded: {exc}"
            ch = None
        random = ch.random if ch is not None else bytes(raw[6:38])
        renegotiation = self.established and not self.tls13
        if renegotiation or self.hs.client_random is None or (random != self.hs.client_random):
            if self.hs.client_random is not None:
                self.hs = _Handshake(self.hs.index + 1)
            self.hs.client_random = random
        if renegotiation:
            info = RenegotiationInfo(rec.frame, "client", "started", random)
            if s.renegotiations and s.renegotiations[-1].outcome == "requested":
                info.initiator = "server"
                s.renegotiations[-1] = info
            else:
                s.renegotiations.append(info)
            self.hs.renegotiation = info
            return self._client_hello_fields(ch, first=False)
        if s.client_random is None:
            s.client_random = random
        self._client_hello_fields(ch, first=True)

    def _client_hello_fields(self, ch, *, first: bool) -> None:
        s, hs = self.summary, self.hs
        if ch is None:
            return
        hs.session_id = ch.legacy_session_id
        ticket_ext = ch.get_extension(SessionTicket)
        hs.ticket = ticket_ext.ticket if ticket_ext is not None else b""
        versions = ch.get_extension(SupportedVersionsClientHello)
        if first:
            s.offered_versions = list(versions.versions) if versions is not None else [ch.legacy_version]
            sni = ch.get_extension(ServerName)
            s.server_name = sni.host_name if sni is not None else s.server_name
        psk = ch.get_extension(PreSharedKeyClientHello)
        if psk is not None:
            s.psk_identities = [identity.identity for identity in psk.identities]
            for identity in psk.identities:
                self._ticket_used(identity.identity)
        elif hs.ticket:
            self._ticket_used(hs.ticket)
        offers13 = versions is not None and TLS13 in versions.versions
        if offers13 and ch.get_extension(EarlyData) is not None and not s.hello_retry:
            s.early_data_offered = True
            self._enter_early(ch)

    def _ticket_used(self, ticket: bytes) -> None:
        found = self.cache.find_ticket(ticket)
        if found is not None and self.summary.id not in found[2].used_by:
            found[2].used_by.append(self.summary.id)

    def _enter_early(self, ch) -> None:
        d = self.dirs[CLIENT]
        client_random = self.hs.client_random
        offered = [c for c in ch.cipher_suites if c in CIPHER_SUITES and is_tls13(CIPHER_SUITES[c])]

        def resolve():
            secret = self._secret("CLIENT_EARLY_TRAFFIC_SECRET", client_random)
            # The 0-RTT suite is the resumed session's; it is not named before the ServerHello, so each offered
            # TLS 1.3 suite whose hash has the secret's length is a candidate.
            candidates = [Tls13Opener(CIPHER_SUITES[c], secret) for c in offered
                          if CIPHER_SUITES[c].hash_length == len(secret)]
            if not candidates:
                raise _Missing("no offered TLS 1.3 suite fits the early traffic secret")
            return _AnyOf(candidates), secret

        d.tls13 = True
        self._install(d, _Epoch("early", resolve=resolve))

    def _server_hello(self, raw: bytes, rec: DecodedRecord) -> None:
        s, hs = self.summary, self.hs
        try:
            sh = m.decode_handshake(raw, tls13=True)
        except ProtocolError as exc:
            rec.note = f"ServerHello not decoded: {exc}"
            return
        if sh.is_hello_retry_request:
            s.hello_retry = True
            self.tls13 = True                       # only TLS 1.3 has HelloRetryRequest
            client = self.dirs[CLIENT]
            if client.epoch.label == "early":            # 0-RTT is refused after a HelloRetryRequest
                client.protected, client.epoch, client.later = False, _Epoch("plaintext"), []
            return
        sv = sh.get_extension(SupportedVersionsServerHello)
        version = sv.version if sv is not None else sh.legacy_version
        hs.server_random = sh.random
        hs.suite = sh.cipher_suite
        hs.version = version
        hs.encrypt_then_mac = sh.get_extension(EncryptThenMac) is not None
        if hs.index == 0:
            s.server_random = sh.random
            s.version = version
            s.cipher_suite = sh.cipher_suite
            s.cipher_suite_name = suite_name(sh.cipher_suite)
        if version == TLS13:
            self.tls13 = True
            psk = sh.get_extension(PreSharedKeyServerHello)
            if psk is not None:
                s.psk_accepted = psk.selected_identity
                s.resumed = True
                if psk.selected_identity < len(s.psk_identities):
                    found = self.cache.find_ticket(s.psk_identities[psk.selected_identity])
                    if found is not None:
                        s.resumed_from = (found[0], found[1])
            self._enter_handshake13()
        else:
            client = self.dirs[CLIENT]
            if client.epoch.label == "early":
                client.protected, client.tls13, client.epoch, client.later = False, False, _Epoch("plaintext"), []
            if hs.index == 0 and hs.session_id and sh.legacy_session_id_echo == hs.session_id:
                s.resumed = True
            hs.session_id = sh.legacy_session_id_echo

    def _enter_handshake13(self) -> None:
        info = CIPHER_SUITES.get(self.hs.suite)
        cr = self.hs.client_random
        for side, (hs_label, ap_label) in enumerate((
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"))):
            d = self.dirs[side]
            d.tls13 = True
            hs_epoch = self._epoch13("handshake", info, hs_label, cr)
            ap_epoch = self._epoch13("application-0", info, ap_label, cr)
            if side == CLIENT and d.epoch.label == "early":
                d.later = [hs_epoch, ap_epoch]           # early data goes on until EndOfEarlyData
            else:
                self._install(d, hs_epoch)
                d.later = [ap_epoch]

    def _epoch13(self, label: str, info, keylog_label: str, client_random: bytes) -> _Epoch:
        if info is None or not is_tls13(info):
            return _Epoch(label, missing=f"cipher suite {suite_name(self.hs.suite)} cannot be decrypted")

        def resolve():
            secret = self._secret(keylog_label, client_random)
            if len(secret) != info.hash_length:
                raise _Missing(f"{keylog_label} has {len(secret)} bytes, {info.name} needs {info.hash_length}")
            return Tls13Opener(info, secret), secret

        return _Epoch(label, resolve=resolve)

    def _finished(self, side: int, rec: DecodedRecord) -> None:
        d = self.dirs[side]
        hs = self.hs
        hs.finished_seen[side] = True
        if self.tls13:
            if d.epoch.label in ("handshake", "early"):
                self._switch(side, "application-0")
            if side == CLIENT:
                self.established = True
            return
        if all(hs.finished_seen):
            self.established = True
            if hs.renegotiation is not None and hs.renegotiation.outcome in ("started", "requested"):
                hs.renegotiation.outcome = "completed"

    def _key_update(self, side: int, raw: bytes, rec: DecodedRecord) -> None:
        d = self.dirs[side]
        request = len(raw) > 4 and raw[4] == 1
        old = d.epoch
        generation = old.generation + 1
        epoch = _Epoch(f"application-{generation}", generation=generation)
        info = CIPHER_SUITES.get(self.hs.suite)
        old.ready()
        if old.secret is not None and info is not None:
            secret = next_traffic_secret(info.hash, old.secret)
            epoch.secret = secret
            epoch.opener = Tls13Opener(info, secret)
        else:
            epoch.missing = f"the {d.name} application traffic secret before this KeyUpdate is unknown"
        self._install(d, epoch)
        d.later = []
        self.summary.key_updates.append(KeyUpdateInfo(rec.frame, d.name, request, generation))

    def _new_session_ticket(self, raw: bytes, rec: DecodedRecord) -> None:
        s = self.summary
        try:
            nst = m.decode_handshake(raw, tls13=self.tls13)
        except ProtocolError as exc:
            rec.note = f"NewSessionTicket not decoded: {exc}"
            return
        if self.tls13:
            early = nst.get_extension(EarlyData)
            info = TicketInfo(rec.frame, TLS13, nst.ticket_lifetime, nst.ticket, nst.ticket_age_add,
                              nst.ticket_nonce, early.max_early_data_size if early is not None else None)
        else:
            info = TicketInfo(rec.frame, 0x0303, nst.ticket_lifetime_hint, nst.ticket)
            master = self.keylog.get("CLIENT_RANDOM", self.hs.client_random) if self.hs.client_random else None
            master = master or self.hs.master_secret
            if master is not None:
                self.cache.add_master_secret(b"ticket:" + nst.ticket, master)
        s.tickets.append(info)
        self.cache.add_ticket(info.ticket, s.id, len(s.tickets) - 1, info)

    # -- TLS 1.2 key changes ------------------------------------------------------------------------------
    def _ccs12(self, side: int, rec: DecodedRecord) -> None:
        d = self.dirs[side]
        hs = self.hs
        if hs.client_random is not None and hs.server_random is None and not d.protected:
            return      # between ClientHello and ServerHello: a TLS 1.3 middlebox-compatibility CCS
        if hs.ccs_seen[side] and d.protected and hs.client_random is None:
            return
        hs.ccs_seen[side] = True
        if hs.renegotiation is not None and all(hs.ccs_seen) and hs.renegotiation.outcome == "started":
            hs.renegotiation.outcome = "completed"      # both sides changed keys (Finished may stay unreadable)
        if hs.index == 0 and not hs.full and side == SERVER and not self.summary.resumed:
            self.summary.resumed = hs.server_random is not None
        if d.protected and self.established and hs.renegotiation is None and not self._renegotiating():
            # a ChangeCipherSpec of a renegotiation we could not read
            self._renegotiation_unseen(rec)
        if isinstance(hs.keys12, str):
            epoch = _Epoch(f"application-{hs.index}", missing=hs.keys12)
        else:
            epoch = _Epoch(f"application-{hs.index}", resolve=lambda: (self._keys12(hs)[side], None))
        d.tls13 = False
        self._install(d, epoch)
        d.later = []

    def _renegotiating(self) -> bool:
        r = self.summary.renegotiations
        return bool(r) and r[-1].outcome in ("started", "not decrypted") and r[-1] is self.hs.renegotiation

    def _renegotiation_unseen(self, rec: DecodedRecord) -> None:
        """A renegotiation happens under keys we do not have: nothing of it can be read, nor its keys known."""
        self.hs = _Handshake(self.hs.index + 1)
        info = RenegotiationInfo(rec.frame, rec.direction, "not decrypted")
        self.hs.renegotiation = info
        self.hs.keys12 = "the renegotiation handshake was not decrypted, so its keys are unknown"
        self.summary.renegotiations.append(info)

    def _keys12(self, hs: _Handshake):
        """(client opener, server opener) of a TLS 1.2 handshake; raises _Missing saying why there are none."""
        if hs.keys12 is None:
            hs.keys12 = self._derive12(hs)
        return hs.keys12

    def _derive12(self, hs: _Handshake):
        if hs.client_random is None or hs.server_random is None:
            raise _Missing("the handshake that set these keys was not seen")
        suite = lookup_suite(hs.suite)
        if suite is None or suite.version != 0x0303:
            raise _Missing(f"cipher suite {suite_name(hs.suite)} cannot be decrypted")
        if hs.version is not None and hs.version < 0x0303:
            raise _Missing(f"TLS version 0x{hs.version:04x}: only TLS 1.2 key derivation is supported")
        master = self.keylog.lookup("CLIENT_RANDOM", hs.client_random)
        if master is None and not hs.full:
            # abbreviated handshake: the resumed session's master secret, if this capture showed it earlier
            master = (self.cache.master_secret(b"ticket:" + hs.ticket) if hs.ticket else None) \
                or (self.cache.master_secret(b"id:" + hs.session_id) if hs.session_id else None)
        if master is None:
            master = self._secret("CLIENT_RANDOM", hs.client_random)      # raises _Missing, reported once
        hs.master_secret = master
        if hs.session_id:
            self.cache.add_master_secret(b"id:" + hs.session_id, master)
        cr, sr = hs.client_random, hs.server_random
        if isinstance(suite, CBCSuite):
            mac, key = suite.mac_length, suite.key_length
            block = prf12(suite.hash, master, b"key expansion", sr + cr, 2 * (mac + key))
            cmac, smac = block[:mac], block[mac:2 * mac]
            ckey, skey = block[2 * mac:2 * mac + key], block[2 * mac + key:2 * (mac + key)]
            etm = hs.encrypt_then_mac
            return (Tls12CbcOpener(suite, ckey, cmac, encrypt_then_mac=etm),
                    Tls12CbcOpener(suite, skey, smac, encrypt_then_mac=etm))
        ckey, skey, civ, siv = key_block12(suite, master, cr, sr)
        return Tls12AeadOpener(suite, ckey, civ), Tls12AeadOpener(suite, skey, siv)

    # -- alerts ---------------------------------------------------------------------------------------------
    def _alerts(self, side: int, content: bytes, rec: DecodedRecord) -> None:
        s = self.summary
        for i in range(0, len(content) - 1, 2):
            level, description = content[i], content[i + 1]
            s.alerts.append(AlertInfo(rec.frame, _NAMES[side], level, description))
            r = self.hs.renegotiation
            if description == _NO_RENEGOTIATION and r is not None and r.outcome == "started":
                r.outcome = "refused"

    # -- keys ---------------------------------------------------------------------------------------------------
    def _secret(self, label: str, client_random: bytes | None) -> bytes:
        """The secret from the key log; raises _Missing (reported once per connection) when it is not there."""
        secret = self.keylog.lookup(label, client_random) if client_random is not None else None
        if secret is not None:
            return secret
        cr = client_random.hex() if client_random else "?"
        note = f"missing {label} for client random {cr}"
        key = (label, cr)
        if key not in self._reported:
            self._reported.add(key)
            self.summary.missing_keys.append(key)
            self._diag("keys", note)
        raise _Missing(note)

    def _diag(self, stage: str, message: str) -> None:
        add_diagnostic(self.diagnostics,
                       Diagnostic(stage, message, frame=self._frame or None, connection=self.summary.id))

    def close(self) -> None:
        """End of the connection: report handshake messages left incomplete; drop the key material."""
        for d in self.dirs:
            if d.reassembler.has_partial:
                self._diag("tls", f"{d.name} handshake message incomplete at the end of the connection "
                                  f"({d.reassembler.pending_bytes} bytes)")
            d.epoch = _Epoch(d.epoch.label)
            d.later = []

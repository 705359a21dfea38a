"""Key schedule and transcript against every secret of the RFC 8448 traces; the TLS 1.2 PRF vector."""
from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes

from tests.tls.rfc8448_vectors import load_trace
from workbench.tls.cipher_suites import CIPHER_SUITES, suite_info
from workbench.tls.enums import CipherSuite
from workbench.tls.errors import UsageError
from workbench.tls.key_schedule import (
    KeySchedule, LabelExpander, Transcript, derive_secret, derived_master_secret12, extended_master_secret12,
    finished12, finished_verify_data, hkdf_expand_label, hkdf_extract, key_block12, master_secret12,
    next_traffic_secret, prf12, resumption_psk, traffic_keys,
)

SUITE = suite_info(CipherSuite.TLS_AES_128_GCM_SHA256)      # every RFC 8448 trace uses it
SHA256 = hashes.SHA256
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


@pytest.fixture(scope="module")
def trace():
    return load_trace()


def secret(trace, section, title, name="expanded", actor="server", index=0):
    return trace.value(section, actor, title, name, index)


def derive(label):
    return f'derive secret "tls13 {label}"'


# --- primitives -------------------------------------------------------------------------------

def test_hkdf_expand_label_matches_the_info_bytes_of_the_trace(trace):
    early = secret(trace, 3, 'extract secret "early"', "secret")
    empty_hash = hashlib.sha256(b"").digest()
    step = trace.values(3, "server", 'derive secret for handshake "tls13 derived"')
    assert step["info"] == b"\x00\x20\x0dtls13 derived\x20" + empty_hash
    assert hkdf_expand_label(SHA256, early, b"derived", empty_hash, 32) == step["expanded"]
    assert derive_secret(SHA256, early, b"derived", empty_hash) == step["expanded"]


def test_hkdf_extract_with_zero_salt_is_the_early_secret(trace):
    assert hkdf_extract(SHA256, bytes(32), bytes(32)) == secret(trace, 3, 'extract secret "early"', "secret")
    assert hkdf_extract(SHA256, b"", bytes(32)) == secret(trace, 3, 'extract secret "early"', "secret")


# --- transcript -------------------------------------------------------------------------------

def test_transcript_buffers_until_the_hash_is_known():
    transcript = Transcript(keep_messages=True)
    transcript.update(b"first")
    with pytest.raises(UsageError):
        transcript.digest()
    transcript.set_hash(SHA256)
    transcript.update(b"second")
    assert transcript.digest() == hashlib.sha256(b"firstsecond").digest()
    assert transcript.digest_with(b"third") == hashlib.sha256(b"firstsecondthird").digest()
    assert transcript.digest() == hashlib.sha256(b"firstsecond").digest()     # digest_with left it alone
    assert transcript.messages == [b"first", b"second"]
    with pytest.raises(UsageError):
        transcript.set_hash(hashes.SHA384)


def test_transcript_keeps_no_messages_by_default():
    transcript = Transcript(SHA256)
    transcript.update(b"x")
    assert transcript.messages is None


def test_restart_after_hello_retry_replaces_client_hello_by_message_hash():
    transcript = Transcript(SHA256, keep_messages=True)
    transcript.update(b"ClientHello1")
    transcript.restart_after_hello_retry()
    synthetic = b"\xfe\x00\x00\x20" + hashlib.sha256(b"ClientHello1").digest()
    assert transcript.digest() == hashlib.sha256(synthetic).digest()
    assert transcript.messages == [synthetic]


# --- RFC 8448: full handshakes (sections 3, 5, 6, 7) --------------------------------------------

def run_full_handshake(trace, section):
    """Drive Transcript + KeySchedule with the trace's messages; return what they produced."""
    messages = trace.handshake_messages(section)
    transcript = Transcript(SHA256)
    schedule = KeySchedule(SUITE)
    shared_secret = secret(trace, section, 'extract secret "handshake"', "IKM")
    out = {"hashes": {}}
    server_hellos = 0
    for actor, name, raw in messages:
        if name == "ServerHello":
            server_hellos += 1
            if raw[6:38] == HRR_RANDOM:
                transcript.restart_after_hello_retry()
                transcript.update(raw)
                continue
        if name == "Finished":
            base = out["server_hs"] if actor == "server" else out["client_hs"]
            out[f"{actor}_finished"] = schedule.finished(base, transcript.digest())
        if name == "NewSessionTicket":
            continue                                   # post-handshake: not in the transcript
        transcript.update(raw)
        if name == "ServerHello":
            out["hashes"]["hs"] = transcript.digest()
            out["client_hs"], out["server_hs"] = schedule.handshake(shared_secret, transcript.digest())
        if name == "Finished" and actor == "server":
            out["hashes"]["ap"] = transcript.digest()
            out["client_ap"], out["server_ap"] = schedule.master(transcript.digest())
        if name == "Finished" and actor == "client":
            out["hashes"]["res"] = transcript.digest()
            out["res_master"] = schedule.resumption_master_secret(transcript.digest())
    out["derived"] = {d.name: d for d in schedule.derived}
    out["hrr"] = server_hellos == 2
    return out


@pytest.mark.parametrize("section", [3, 5, 6, 7])
def test_full_handshake_secrets(trace, section):
    out = run_full_handshake(trace, section)
    assert out["hrr"] == (section == 5)
    derived = out["derived"]
    assert derived["early secret"].value == secret(trace, section, 'extract secret "early"', "secret")
    assert derived["handshake secret"].value == secret(trace, section, 'extract secret "handshake"', "secret")
    assert derived["master secret"].value == secret(trace, section, 'extract secret "master"', "secret")
    for label, key in (("c hs traffic", "hs"), ("s hs traffic", "hs"), ("c ap traffic", "ap"),
                       ("s ap traffic", "ap"), ("exp master", "ap")):
        assert out["hashes"][key] == secret(trace, section, derive(label), "hash"), label
        assert derived[label].value == secret(trace, section, derive(label)), label
    assert out["hashes"]["res"] == secret(trace, section, derive("res master"), "hash", actor="client")
    assert out["res_master"] == secret(trace, section, derive("res master"), actor="client")
    finished = 'calculate finished "tls13 finished"'
    assert out["server_finished"] == secret(trace, section, finished, "finished")
    assert out["client_finished"] == secret(trace, section, finished, "finished", actor="client")


@pytest.mark.parametrize("section", [3, 5, 6, 7])
def test_full_handshake_traffic_keys(trace, section):
    out = run_full_handshake(trace, section)
    cases = [
        ("server", "derive write traffic keys for handshake data", out["server_hs"]),
        ("server", "derive read traffic keys for handshake data", out["client_hs"]),
        ("server", "derive write traffic keys for application data", out["server_ap"]),
        ("client", "derive write traffic keys for application data", out["client_ap"]),
    ]
    for actor, title, traffic_secret in cases:
        assert trace.value(section, actor, title, "PRK") == traffic_secret, title
        key, iv = traffic_keys(SUITE, traffic_secret)
        assert key == trace.value(section, actor, title, "key expanded"), title
        assert iv == trace.value(section, actor, title, "iv expanded"), title


def test_derived_secrets_carry_names_order_and_key_log_labels(trace):
    out = run_full_handshake(trace, 3)
    labels = {name: d.keylog_label for name, d in out["derived"].items()}
    assert labels == {
        "early secret": None, "handshake secret": None, "c hs traffic": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "s hs traffic": "SERVER_HANDSHAKE_TRAFFIC_SECRET", "master secret": None,
        "c ap traffic": "CLIENT_TRAFFIC_SECRET_0", "s ap traffic": "SERVER_TRAFFIC_SECRET_0",
        "exp master": "EXPORTER_SECRET", "res master": None,
    }
    assert list(out["derived"]) == list(labels)
    assert out["derived"]["handshake secret"].derived_from == ("early secret", "(EC)DHE")


def test_resumption_psk_of_the_ticket(trace):
    out = run_full_handshake(trace, 3)
    ticket = dict((name, raw) for _, name, raw in trace.handshake_messages(3))["NewSessionTicket"]
    nonce = ticket[13:13 + ticket[12]]                 # header(4) lifetime(4) age_add(4) nonce<1>
    step = 'generate resumption secret "tls13 resumption"'
    assert nonce == secret(trace, 3, step, "hash")
    psk = resumption_psk(SHA256, out["res_master"], nonce)
    assert psk == secret(trace, 3, step)
    # ... and it is the PSK the resumed handshake of section 4 starts from.
    assert psk == secret(trace, 4, 'extract secret "early"', "IKM", actor="client")


# --- RFC 8448 section 4: resumption with 0-RTT --------------------------------------------------

def test_resumed_handshake_with_early_data(trace):
    psk = secret(trace, 4, 'extract secret "early"', "IKM", actor="client")
    schedule = KeySchedule(SUITE)
    transcript = Transcript(SHA256)
    assert schedule.early(psk) == secret(trace, 4, 'extract secret "early"', "secret", actor="client")

    binder_step = trace.values(4, "client", "calculate PSK binder")
    truncated = binder_step["ClientHello prefix"]
    binder_hash = transcript.digest_with(truncated)
    assert binder_hash == binder_step["binder hash"]
    binder_key = schedule.binder_key(resumption=True)
    assert binder_key == binder_step["PRK"]
    binder = schedule.binder(binder_key, binder_hash)
    assert binder == binder_step["finished"]
    client_hello = trace.value(4, "client", "send handshake record", "payload")
    assert client_hello == truncated + b"\x00\x21\x20" + binder      # binders list: one 32-byte binder

    transcript.update(client_hello)
    assert transcript.digest() == secret(trace, 4, derive("c e traffic"), "hash", actor="client")
    early_traffic = schedule.client_early_traffic_secret(transcript.digest())
    assert early_traffic == secret(trace, 4, derive("c e traffic"), actor="client")
    derived = {d.name: d for d in schedule.derived}
    assert derived["e exp master"].value == secret(trace, 4, derive("e exp master"), actor="client")
    assert derived["e exp master"].keylog_label == "EARLY_EXPORTER_SECRET"
    assert derived["c e traffic"].keylog_label == "CLIENT_EARLY_TRAFFIC_SECRET"
    assert derived["binder key (res)"].value == binder_key
    title = "derive write traffic keys for early application data"
    assert traffic_keys(SUITE, early_traffic) == (trace.value(4, "client", title, "key expanded"),
                                                  trace.value(4, "client", title, "iv expanded"))

    messages = {(actor, name): raw for actor, name, raw in trace.handshake_messages(4)}
    transcript.update(messages["server", "ServerHello"])
    shared = secret(trace, 4, 'extract secret "handshake"', "IKM")
    client_hs, server_hs = schedule.handshake(shared, transcript.digest())
    assert transcript.digest() == secret(trace, 4, derive("c hs traffic"), "hash")
    assert client_hs == secret(trace, 4, derive("c hs traffic"))
    assert server_hs == secret(trace, 4, derive("s hs traffic"))
    assert derived["early secret"].derived_from == ("PSK",)

    transcript.update(messages["server", "EncryptedExtensions"])
    finished = 'calculate finished "tls13 finished"'
    assert schedule.finished(server_hs, transcript.digest()) == secret(trace, 4, finished, "finished")
    transcript.update(messages["server", "Finished"])
    client_ap, server_ap = schedule.master(transcript.digest())
    assert client_ap == secret(trace, 4, derive("c ap traffic"))
    assert server_ap == secret(trace, 4, derive("s ap traffic"))
    assert schedule.exporter_master_secret() == secret(trace, 4, derive("exp master"))

    transcript.update(messages["client", "EndOfEarlyData"])
    assert schedule.finished(client_hs, transcript.digest()) == secret(trace, 4, finished, "finished", actor="client")
    transcript.update(messages["client", "Finished"])
    assert schedule.resumption_master_secret(transcript.digest()) == \
        secret(trace, 4, derive("res master"), actor="client")
    assert [d.name for d in schedule.derived] == [
        "early secret", "binder key (res)", "c e traffic", "e exp master", "handshake secret",
        "c hs traffic", "s hs traffic", "master secret", "c ap traffic", "s ap traffic", "exp master", "res master"]


# --- key update ratchet and misuse ----------------------------------------------------------

def test_key_update_ratchets_each_direction_separately(trace):
    schedule = KeySchedule(SUITE)
    schedule.handshake(bytes(32), b"\x00" * 32)
    client_0, server_0 = schedule.master(b"\x11" * 32)
    client_1 = schedule.update_traffic_secret(client=True)
    client_2 = schedule.update_traffic_secret(client=True)
    assert client_1 == hkdf_expand_label(SHA256, client_0, b"traffic upd", b"", 32)
    assert client_1 == next_traffic_secret(SHA256, client_0)
    assert client_2 == next_traffic_secret(SHA256, client_1)
    assert schedule.update_traffic_secret(client=False) == next_traffic_secret(SHA256, server_0)
    assert (schedule.application_generation(True), schedule.application_generation(False)) == (2, 1)
    last = schedule.derived[-3:]
    assert [(d.name, d.keylog_label, d.derived_from) for d in last] == [
        ("c ap traffic 1", None, ("c ap traffic",)), ("c ap traffic 2", None, ("c ap traffic 1",)),
        ("s ap traffic 1", None, ("s ap traffic",))]


def test_stages_out_of_order_are_usage_errors():
    schedule = KeySchedule(SUITE)
    with pytest.raises(UsageError):
        schedule.master(bytes(32))
    with pytest.raises(UsageError):
        schedule.binder_key()
    with pytest.raises(UsageError):
        schedule.update_traffic_secret(client=True)
    schedule.handshake(None, bytes(32))                      # psk_ke-style: no (EC)DHE input
    with pytest.raises(UsageError):
        schedule.handshake(None, bytes(32))
    assert schedule.derived[1].derived_from == ("early secret",)


def test_sha384_suite_uses_48_byte_secrets():
    suite = suite_info(CipherSuite.TLS_AES_256_GCM_SHA384)
    schedule = KeySchedule(suite)
    client, server = schedule.handshake(bytes(48), hashlib.sha384(b"").digest())
    assert len(client) == len(server) == 48 and client != server
    key, iv = traffic_keys(suite, client)
    assert (len(key), len(iv)) == (32, 12)


# --- TLS 1.2 --------------------------------------------------------------------------------

def test_prf12_sha256_published_vector():
    # The TLS 1.2 PRF test vector posted to the IETF TLS list (P_SHA256, 100 bytes).
    out = prf12(SHA256, bytes.fromhex("9bbe436ba940f017b17652849a71db35"), b"test label",
                bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100)
    assert out == bytes.fromhex(
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
        "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66")


def test_prf12_output_is_a_prefix_of_longer_output():
    long = prf12(hashes.SHA384, b"secret", b"label", b"seed", 200)
    assert prf12(hashes.SHA384, b"secret", b"label", b"seed", 47) == long[:47]
    assert prf12(hashes.SHA384, b"secret", b"label", b"seed", 48) == long[:48]


def _reference_prf12(hash_cls, secret, label, seed, length):
    """P_hash (RFC 5246 5) written out with the standard library's HMAC."""
    import hmac
    name, out, a = hash_cls.name, b"", label + seed
    while len(out) < length:
        a = hmac.digest(secret, a, name)
        out += hmac.digest(secret, a + label + seed, name)
    return out[:length]


@pytest.mark.parametrize("hash_cls", [hashes.SHA256, hashes.SHA384])
@pytest.mark.parametrize("secret_length", [0, 1, 48, 64, 65, 128, 129, 200])
def test_prf12_matches_its_definition_for_every_secret_and_output_length(hash_cls, secret_length):
    """The secret padded once serves every HMAC of a call, secrets longer than a block included."""
    secret = bytes(range(secret_length))
    for length in (1, 12, 40, 48, 97, 200):
        assert prf12(hash_cls, secret, b"key expansion", b"\x07" * 64, length) == \
            _reference_prf12(hash_cls, secret, b"key expansion", b"\x07" * 64, length)


def test_tls12_derivations_are_the_prf_with_their_labels():
    pre_master, client_random, server_random = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    master = master_secret12(SHA256, pre_master, client_random, server_random)
    assert master == prf12(SHA256, pre_master, b"master secret", client_random + server_random, 48)
    assert extended_master_secret12(SHA256, pre_master, b"\x04" * 32) == \
        prf12(SHA256, pre_master, b"extended master secret", b"\x04" * 32, 48)
    assert finished12(SHA256, master, b"client finished", b"\x05" * 32) == \
        prf12(SHA256, master, b"client finished", b"\x05" * 32, 12)
    gcm = suite_info(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    block = prf12(SHA256, master, b"key expansion", server_random + client_random, 40)
    assert key_block12(gcm, master, client_random, server_random) == (block[:16], block[16:32], block[32:36],
                                                                      block[36:40])
    chacha = suite_info(CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
    keys = key_block12(chacha, master, client_random, server_random)
    assert [len(k) for k in keys] == [32, 32, 12, 12]


def test_tls12_master_secret_as_a_derived_secret():
    record = derived_master_secret12(b"\x01" * 48, extended=True)
    assert (record.name, record.keylog_label, record.derived_from) == \
        ("master secret (1.2)", "CLIENT_RANDOM", ("pre-master secret", "session hash"))
    assert derived_master_secret12(b"\x01" * 48, extended=False).derived_from[1] == "randoms"


# --- the one-block HKDF-Expand and the hashlib transcript -------------------------------------

def _reference_expand_label(hash_cls, secret, label, context, length):
    """HKDF-Expand-Label with cryptography's HKDFExpand, as the module did before its one-block path."""
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes((len(full),)) + full + bytes((len(context),)) + context
    return HKDFExpand(hash_cls(), length, info).derive(secret)


@pytest.mark.parametrize("hash_cls", [hashes.SHA256, hashes.SHA384])
@pytest.mark.parametrize("length", [1, 12, 16, 32, 48, 64, 100, 255])
def test_expand_label_matches_hkdf_expand_for_every_length(hash_cls, length):
    secret, context = bytes(range(hash_cls.digest_size)), b"\x5a" * 32
    expected = _reference_expand_label(hash_cls, secret, b"some label", context, length)
    assert hkdf_expand_label(hash_cls, secret, b"some label", context, length) == expected
    assert LabelExpander(hash_cls, secret).expand(b"some label", context, length) == expected


def test_label_expander_serves_several_labels_from_one_secret():
    secret = bytes(range(32))
    expander = LabelExpander(SHA256, secret)
    for label, context, length in ((b"key", b"", 16), (b"iv", b"", 12), (b"finished", b"", 32),
                                   (b"c hs traffic", b"\x01" * 32, 32), (b"key", b"", 16)):
        assert expander.expand(label, context, length) == \
            _reference_expand_label(SHA256, secret, label, context, length)


def test_expand_beyond_255_blocks_is_refused_as_before():
    with pytest.raises(ValueError):
        hkdf_expand_label(SHA256, bytes(32), b"x", b"", 255 * 32 + 1)


def test_full_handshake_without_psk_uses_the_fixed_early_secrets_of_each_hash():
    for suite in (SUITE, suite_info(CipherSuite.TLS_AES_256_GCM_SHA384)):
        size = suite.hash_length
        schedule = KeySchedule(suite)
        schedule.early(None)
        client, _ = schedule.handshake(b"\x07" * size, bytes(size))
        early = hkdf_extract(suite.hash, bytes(size), bytes(size))
        salt = derive_secret(suite.hash, early, b"derived", hashlib.new(suite.hash.name, b"").digest())
        handshake_secret = hkdf_extract(suite.hash, salt, b"\x07" * size)
        assert schedule.derived[0].value == early
        assert client == derive_secret(suite.hash, handshake_secret, b"c hs traffic", bytes(size))


def test_transcript_of_a_hash_hashlib_lacks_falls_back_to_cryptography(monkeypatch):
    import workbench.tls.key_schedule as key_schedule
    monkeypatch.setattr(key_schedule, "_HASHLIB_CONSTRUCTORS", {})
    real_new = hashlib.new

    def no_sha256(name, *args, **kwargs):
        if name == "sha256":
            raise ValueError("unsupported hash type")
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(key_schedule.hashlib, "new", no_sha256)
    transcript = Transcript(SHA256)
    transcript.update(b"first")
    assert transcript.digest_with(b"second") == hashlib.sha256(b"firstsecond").digest()
    assert transcript.digest() == hashlib.sha256(b"first").digest()
    transcript.restart_after_hello_retry()
    synthetic = b"\xfe\x00\x00\x20" + hashlib.sha256(b"first").digest()
    assert transcript.digest() == hashlib.sha256(synthetic).digest()
    assert type(transcript._context).__name__ == "_CryptographyRunningHash"


@pytest.mark.parametrize("hash_cls", [hashes.SHA256, hashes.SHA384])
@pytest.mark.parametrize("key_length", [0, 1, 32, 48, 64, 128, 129, 200])
def test_extract_and_finished_match_cryptography_for_every_key_length(hash_cls, key_length):
    """The single-use HMAC on hashlib agrees with cryptography's, keys longer than a block included."""
    from cryptography.hazmat.primitives import hmac
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    key, data = bytes(range(key_length)), b"\x5a" * 40
    assert hkdf_extract(hash_cls, key, data) == HKDF.extract(hash_cls(), key, data)
    finished_key = _reference_expand_label(hash_cls, key, b"finished", b"", hash_cls.digest_size)
    mac = hmac.HMAC(finished_key, hash_cls())
    mac.update(data)
    assert finished_verify_data(hash_cls, key, data) == mac.finalize()


@pytest.mark.parametrize("code", [c for c, info in CIPHER_SUITES.items() if info.is_tls13])
def test_traffic_keys_of_every_tls13_suite_match_hkdf_expand(code):
    suite = suite_info(code)
    secret = bytes(range(1, suite.hash_length + 1))
    assert traffic_keys(suite, secret) == (
        _reference_expand_label(suite.hash, secret, b"key", b"", suite.key_length),
        _reference_expand_label(suite.hash, secret, b"iv", b"", suite.iv_length))


@pytest.mark.parametrize("hash_cls", [hashes.SHA256, hashes.SHA384])
@pytest.mark.parametrize("secret_length", [0, 32, 48, 128, 129, 200])
def test_label_expander_hmac_and_stage_secrets_match_the_reference(hash_cls, secret_length):
    """The secret absorbed once serves every MAC, secrets longer than a block included."""
    import hmac
    secret = bytes(range(secret_length))
    expander = LabelExpander(hash_cls, secret)
    for data in (b"", b"\x5a" * 40, bytes(300)):
        assert expander.hmac(data) == hmac.digest(secret, data, hash_cls.name)
        assert expander.hmac(data) == hmac.digest(secret, data, hash_cls.name)      # copies, not consumed
    labels = (b"c ap traffic", b"s ap traffic", b"exp master")
    for transcript_hash in (bytes(hash_cls.digest_size), b"\x01" * 20):
        assert expander.derive_secrets(labels, transcript_hash) == [
            _reference_expand_label(hash_cls, secret, label, transcript_hash, hash_cls.digest_size)
            for label in labels]

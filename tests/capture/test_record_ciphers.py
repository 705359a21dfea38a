import os

import pytest
from cryptography.hazmat.primitives import hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from workbench.capture.record_ciphers import DecryptFailed, make_aead, Tls12AeadOpener, Tls12CbcOpener, Tls13Opener
from workbench.capture.suites import CBC_SUITES
from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.tls.key_schedule import traffic_keys


def _header(ctype, length):
    return bytes([ctype, 3, 3]) + length.to_bytes(2, "big")


def _tls13_record(suite, secret, seq, inner):
    key, iv = traffic_keys(suite, secret)
    header = _header(23, len(inner) + 16)
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    return header + make_aead(suite, key).encrypt(nonce, inner, header)


@pytest.mark.parametrize("code", [0x1301, 0x1302, 0x1303, 0x1304])
def test_tls13_inner_type_and_padding(code):
    suite = CIPHER_SUITES[code]
    secret = os.urandom(suite.hash_length)
    opener = Tls13Opener(suite, secret)
    assert opener.open(_tls13_record(suite, secret, 0, b"hello\x17"), 0) == (23, b"hello")
    assert opener.open(_tls13_record(suite, secret, 5, b"hi\x16" + bytes(40)), 5) == (22, b"hi")
    with pytest.raises(DecryptFailed):
        opener.open(_tls13_record(suite, secret, 5, b"hi\x16"), 6)          # wrong sequence number
    with pytest.raises(DecryptFailed):
        opener.open(_tls13_record(suite, secret, 0, bytes(20)), 0)         # padding only: no content type


def test_tls12_gcm_explicit_nonce_and_chacha():
    gcm = CIPHER_SUITES[0xC02F]
    key, iv = os.urandom(16), os.urandom(4)
    explicit = (9).to_bytes(8, "big")
    aad = (3).to_bytes(8, "big") + _header(23, 4)[:3] + (4).to_bytes(2, "big")
    body = explicit + AESGCM(key).encrypt(iv + explicit, b"data", aad)
    assert Tls12AeadOpener(gcm, key, iv).open(_header(23, len(body)) + body, 3) == (23, b"data")
    chacha = CIPHER_SUITES[0xCCA8]
    key, iv = os.urandom(32), os.urandom(12)
    nonce = (int.from_bytes(iv, "big") ^ 7).to_bytes(12, "big")
    aad = (7).to_bytes(8, "big") + b"\x15\x03\x03" + (2).to_bytes(2, "big")
    body = ChaCha20Poly1305(key).encrypt(nonce, b"\x01\x00", aad)
    assert Tls12AeadOpener(chacha, key, iv).open(_header(21, len(body)) + body, 7) == (21, b"\x01\x00")
    with pytest.raises(DecryptFailed):
        Tls12AeadOpener(chacha, key, iv).open(_header(21, len(body)) + body, 8)


def _mac(suite, key, data):
    h = hmac.HMAC(key, suite.mac_hash())
    h.update(data)
    return h.finalize()


def _cbc(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + e.update(data) + e.finalize()


def _pad(data, pad):
    return data + bytes([pad]) * (pad + 1)


@pytest.mark.parametrize("code", [0xC013, 0xC027, 0xC028])
def test_cbc_mac_then_encrypt(code):
    suite = CBC_SUITES[code]
    key, mac_key, iv = os.urandom(suite.key_length), os.urandom(suite.mac_length), os.urandom(16)
    content, seq = b"GET / HTTP/1.1\r\n", 4
    mac = _mac(suite, mac_key, seq.to_bytes(8, "big") + b"\x17\x03\x03" + len(content).to_bytes(2, "big") + content)
    plain = content + mac
    body = _cbc(key, iv, _pad(plain, 15 - len(plain) % 16))
    opener = Tls12CbcOpener(suite, key, mac_key, encrypt_then_mac=False)
    assert opener.open(_header(23, len(body)) + body, seq) == (23, content)
    with pytest.raises(DecryptFailed):
        opener.open(_header(23, len(body)) + body, seq + 1)
    with pytest.raises(DecryptFailed):
        opener.open(_header(23, 20) + body[:20], seq)


@pytest.mark.parametrize("code", [0xC013, 0xC027])
def test_cbc_encrypt_then_mac(code):
    suite = CBC_SUITES[code]
    key, mac_key, iv = os.urandom(suite.key_length), os.urandom(suite.mac_length), os.urandom(16)
    content, seq = b"\x14\x00\x00\x0c" + bytes(12), 0
    body = _cbc(key, iv, _pad(content, 15 - len(content) % 16))
    mac = _mac(suite, mac_key, seq.to_bytes(8, "big") + b"\x16\x03\x03" + len(body).to_bytes(2, "big") + body)
    record = _header(22, len(body) + len(mac)) + body + mac
    opener = Tls12CbcOpener(suite, key, mac_key, encrypt_then_mac=True)
    assert opener.open(record, seq) == (22, content)
    tampered = record[:-1] + bytes([record[-1] ^ 1])
    with pytest.raises(DecryptFailed):
        opener.open(tampered, seq)

from cryptography.hazmat.primitives import hashes

from workbench.capture.suites import CBC_SUITES, lookup_suite, suite_name
from workbench.tls.cipher_suites import CIPHER_SUITES


def test_suite_table():
    assert lookup_suite(0x1301) is CIPHER_SUITES[0x1301]
    assert lookup_suite(0xC027).mac_hash is hashes.SHA256 and lookup_suite(0xC028).hash is hashes.SHA384
    assert lookup_suite(0x00A9).name == "TLS_PSK_WITH_AES_256_GCM_SHA384"
    assert lookup_suite(0x0005) is None and suite_name(0x0005) == "0x0005" and suite_name(None) is None


def test_cbc_suites_are_tls12_with_consistent_sizes():
    for suite in CBC_SUITES.values():
        assert suite.version == 0x0303 and suite.key_length in (16, 32)
        assert suite.mac_length == suite.mac_hash.digest_size and suite.name.startswith("TLS_")

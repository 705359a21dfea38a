"""Synthetic TLS 1.3 captures cover what no reference capture has: KeyUpdates, record padding, 0-RTT with its
key, HelloRetryRequest, every TLS 1.3 suite. tshark must agree with our replay on each; the generator makes
the key log."""
from __future__ import annotations

import pytest

from workbench.capture import replay
from workbench.capture.synthetic import write_tls13_capture

from .compare import differences
from .conftest import requires_tshark, write_synthetic
from .tshark_oracle import our_view, tshark_view

TLS13_CASES = {
    "aes128gcm-keyupdate-padding-0rtt": dict(records=120, connections=2, key_update_every=7, padding=5,
                                             early_data=True),
    "aes256gcm-sha384-keyupdate": dict(records=80, suite=0x1302, key_update_every=3),
    "chacha-big-padding": dict(records=60, suite=0x1303, padding=300, key_update_every=25),
    "ccm": dict(records=40, suite=0x1304),
    "hello-retry": dict(records=20, hello_retry=True, connections=2),
}


@requires_tshark
@pytest.mark.parametrize("name", TLS13_CASES)
def test_tls13_synthetic_agrees_with_tshark(tmp_path, name):
    capture, keys = write_synthetic(tmp_path, write_tls13_capture, **TLS13_CASES[name])
    r = replay(capture, keys)
    records = list(r)
    assert differences(tshark_view(capture, keys), our_view(records)) == []
    assert all(rec.decrypted for rec in records if rec.protected) and list(r.diagnostics) == []


def test_synthetic_pcapng_with_secrets_block_needs_no_key_log(tmp_path):
    capture = str(tmp_path / "s.pcapng")
    write_tls13_capture(capture, records=30, pcapng=True, secrets_block=True)
    records = list(replay(capture))
    assert len(records) > 30 and all(rec.decrypted for rec in records if rec.protected)

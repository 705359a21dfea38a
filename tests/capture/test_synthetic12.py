"""Synthetic TLS 1.2 captures: renegotiation (client- and server-initiated, with and without its keys),
abbreviated handshakes (with the resumed connection's CLIENT_RANDOM line or only the first connection's),
AEAD and CBC suites both MAC orders. tshark must agree with our replay on each."""
from __future__ import annotations

import pytest

from workbench.capture import replay
from workbench.capture.synthetic12 import write_tls12_capture

from .compare import differences
from .conftest import requires_tshark, write_synthetic
from .tshark_oracle import our_view, tshark_view

TLS12_CASES = {
    "gcm": dict(),
    "chacha": dict(suite=0xCCA8),
    "cbc-sha-mte": dict(suite=0xC013),
    "cbc-sha256-etm": dict(suite=0xC027, encrypt_then_mac=True),
    "cbc-sha384-mte": dict(suite=0xC028),
    "renegotiation-client": dict(renegotiate="client"),
    "renegotiation-server-etm": dict(renegotiate="server", suite=0xC027, encrypt_then_mac=True),
    "renegotiation-keys-missing": dict(renegotiate="client", log_renegotiation=False),
    "resumption": dict(resume=True, ticket=True),
    "resumption-secret-from-first-connection": dict(resume=True, log_resumed=False),
}


@requires_tshark
@pytest.mark.parametrize("name", TLS12_CASES)
def test_tls12_synthetic_agrees_with_tshark(tmp_path, name):
    capture, keys = write_synthetic(tmp_path, write_tls12_capture, **TLS12_CASES[name])
    records = list(replay(capture, keys))
    assert differences(tshark_view(capture, keys), our_view(records)) == []
    assert sum(rec.decrypted for rec in records) >= 10

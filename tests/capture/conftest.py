"""Shared fixtures of the capture tests: the reference captures with their key material, synthetic captures
written with theirs."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest
from tests.shared import CAPTURES as SHARED_CAPTURES

CAPTURES = os.environ.get("WORKBENCH_CAPTURES", str(SHARED_CAPTURES))


@dataclass(frozen=True)
class ReferenceCapture:
    name: str
    path: str
    keylog: str | None
    tshark_port: int | None      # port tshark must be told is TLS (-d tcp.port==P,tls)

    def __str__(self) -> str:
        return self.name


def _c(path: str, keylog: str | None = None, port: int | None = None, name: str | None = None):
    return ReferenceCapture(name or path, os.path.join(CAPTURES, path),
                            os.path.join(CAPTURES, keylog) if keylog else None, port)


REFERENCE_CAPTURES = [
    _c("hotplace/linux_ubuntu20.pcap", "hotplace/linux_sslkeylog", 9000),
    _c("hotplace/tls12_tls12_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.pcapng", "hotplace/tls12_sslkeylog", 9000),
    _c("hotplace/tls12_tls12etm_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng", "hotplace/tls12_sslkeylog", 9000),
    _c("hotplace/tls12_tls12mte_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256.pcapng", "hotplace/tls12_sslkeylog", 9000),
    _c("hotplace/tls12_tls12no_renogotiation.pcapng", "hotplace/tls12_sslkeylog", 9000),
    _c("hotplace/tls12_tls12renogotiation.pcapng", "hotplace/tls12_sslkeylog", 9000),
    _c("hotplace/tls13_handshake_failure.pcapng", "hotplace/tls13_sslkeylog", 9000),
    _c("hotplace/tls13_tls13_TLS_AES_128_CCM_SHA256.pcapng", "hotplace/tls13_sslkeylog", 9000),
    _c("hotplace/tls13_tls13_TLS_AES_128_GCM_SHA256.pcapng", "hotplace/tls13_sslkeylog", 9000),
    _c("hotplace/tls13_tls13_TLS_AES_256_GCM_SHA384.pcapng", "hotplace/tls13_sslkeylog", 9000),
    _c("hotplace/tls13_tls13_TLS_CHACHA20_POLY1305_SHA256.pcapng", "hotplace/tls13_sslkeylog", 9000),
    _c("illustrated-tls12/capture.pcap", "illustrated-tls12/keylog.txt"),
    _c("illustrated-tls13/capture.pcap", "illustrated-tls13/keylog.txt"),
    _c("scapy/tls_new-session-ticket.pcap"),
    _c("scapy/tls_nss_example.pcap", "scapy/tls_nss_example.keys.txt"),
    _c("scapy/tls_tcp_frag.pcap.gz"),
    _c("scapy/tls_tcp_frag_withnss.pcap.gz", "scapy/tls_tcp_frag_withnss.keys"),
    _c("wireshark/tls12-aes256gcm.pcap"),
    _c("wireshark/tls13-rfc8446.pcap", "wireshark/tls13-rfc8446.keys"),
    _c("wireshark/tls13-rfc8446.pcap", "wireshark/tls13-rfc8446-noearly.keys",
       name="wireshark/tls13-rfc8446.pcap (noearly keys)"),
]


def reference(name: str) -> ReferenceCapture:
    return next(c for c in REFERENCE_CAPTURES if c.name == name)


requires_captures = pytest.mark.skipif(not os.path.isdir(CAPTURES), reason=f"reference captures not at {CAPTURES}")
requires_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def write_synthetic(directory, writer, **kw) -> tuple[str, str]:
    """A synthetic capture from `writer` (write_tls13_capture, write_tls12_capture) and the key log it returns,
    written in `directory`: their paths."""
    capture, keys = str(directory / "s.pcap"), str(directory / "s.keys")
    with open(keys, "w") as f:
        f.write(writer(capture, **kw))
    return capture, keys

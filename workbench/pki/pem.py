"""PEM encoding and writing of certificates and private keys."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .keys import PrivateKey


def certificates_to_pem(certificates: Iterable[x509.Certificate]) -> bytes:
    """Concatenated PEM blocks, in the order given."""
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def private_key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8: the form OpenSSL, GnuTLS and Wireshark all read."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_bytes(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> Path:
    """Write data to path; a private file is created readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if private:
        os.chmod(path, mode)  # an existing file keeps its old mode through O_CREAT
    return path

"""An Identity: a leaf certificate, its private key, and the intermediates a peer sends with it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from .keys import KeyType, PrivateKey, key_type_of
from .pem import certificates_to_pem, private_key_to_pem, write_bytes


@dataclass(frozen=True)
class Identity:
    certificate: x509.Certificate
    private_key: PrivateKey
    # Intermediate CA certificates, nearest issuer first; never the root (the peer already trusts it).
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def key_type(self) -> KeyType:
        return key_type_of(self.private_key)

    @property
    def certificate_chain(self) -> tuple[x509.Certificate, ...]:
        """What a TLS Certificate message carries: the leaf, then the intermediates."""
        return (self.certificate, *self.chain)

    @property
    def hostnames(self) -> tuple[str, ...]:
        """DNS names and IP addresses of the subjectAltName, in certificate order."""
        san = self.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return tuple(str(name.value) for name in san)

    def certificate_pem(self, *, with_chain: bool = True) -> bytes:
        return certificates_to_pem(self.certificate_chain if with_chain else (self.certificate,))

    def private_key_pem(self) -> bytes:
        return private_key_to_pem(self.private_key)

    def write_pem(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        *,
        chain_path: str | os.PathLike[str] | None = None,
    ) -> tuple[Path, Path]:
        """Write the certificate and the key (mode 0600) as PEM files.

        The certificate file holds the leaf followed by the intermediates, the form gnutls-serv's
        --x509certfile and OpenSSL's SSL_CTX_use_certificate_chain_file read. Given chain_path, the
        intermediates also go there alone, for `openssl s_server -cert_chain`, which reads only
        the first certificate of its -cert file.
        """
        cert_file = write_bytes(cert_path, self.certificate_pem())
        key_file = write_bytes(key_path, self.private_key_pem(), private=True)
        if chain_path is not None:
            write_bytes(chain_path, certificates_to_pem(self.chain))
        return cert_file, key_file

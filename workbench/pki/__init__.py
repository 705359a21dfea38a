"""The test CA: a root, optional intermediates, and leaf certificates made on the fly."""
from .ca import TestCA, general_name, random_serial
from .identity import Identity
from .keys import KeyType, generate_private_key, key_type_of, signature_hash
from .pem import certificates_to_pem, private_key_to_pem

__all__ = [
    "Identity",
    "KeyType",
    "TestCA",
    "certificates_to_pem",
    "general_name",
    "generate_private_key",
    "key_type_of",
    "private_key_to_pem",
    "random_serial",
    "signature_hash",
]

"""TLS Workbench: see TLS handshakes, records, keys and tickets as they happen."""

__version__ = "0.1.0"

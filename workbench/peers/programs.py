"""Which peer programs are installed, and their versions."""
from __future__ import annotations

import shutil
import subprocess

# Debian package that provides each program the workbench drives.
DEBIAN_PACKAGES = {
    "openssl": "openssl",
    "gnutls-serv": "gnutls-bin",
    "gnutls-cli": "gnutls-bin",
    "certtool": "gnutls-bin",
    "tshark": "tshark",
}

_VERSION_ARGS = {"openssl": ["version"]}


def available(program: str) -> bool:
    """True when program is on PATH."""
    return shutil.which(program) is not None


def missing_reason(*programs: str) -> str | None:
    """None when every program is on PATH, else a sentence naming the missing ones and their packages."""
    missing = [p for p in programs if not available(p)]
    if not missing:
        return None
    packages = sorted({DEBIAN_PACKAGES.get(p, p) for p in missing})
    return f"not installed: {', '.join(missing)} (apt-get install {' '.join(packages)})"


def version(program: str) -> str:
    """The first line the program prints about its version (e.g. 'OpenSSL 3.0.19 27 Jan 2026 ...')."""
    args = _VERSION_ARGS.get(program, ["--version"])
    result = subprocess.run([program, *args], capture_output=True, text=True, timeout=10, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else ""

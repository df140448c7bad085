"""The OIDC signing key, kept like the project's other secrets.

Imported by settings, so it must not touch Django models.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def persistent_rsa_key(name: str, data_dir: Path) -> str:
    """PEM of the RSA private key NAME: from the environment, else from the data folder's
    secrets, generated there on first use. A fresh clone then signs ID tokens with no setup
    and keeps the same key across restarts (relying parties cache the JWKS); a city sets the
    variable and never relies on the file. Never committed: the data folder is git-ignored."""
    value = os.environ.get(name)
    if value:
        return value
    path = data_dir / "secrets" / f"{name.lower()}.pem"
    if path.exists():
        return path.read_text(encoding="ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    # Written with owner-only permissions from the start, not chmod-ed after.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process started at the same moment and wrote first: use its key.
        return path.read_text(encoding="ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(pem)
    return pem

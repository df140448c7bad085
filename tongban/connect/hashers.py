"""How client secrets are stored: a salted SHA-256, not the password hasher.

Key stretching (PBKDF2's million rounds) exists to slow the guessing of passwords people
choose; a client secret is 288 random bits the platform generates, which no amount of
guessing reaches, so stretching would only make every token request of a confidential
client cost ~0.5 s of CPU. Registered in PASSWORD_HASHERS after the password hashers, so it
is never used for a person's password."""

from __future__ import annotations

import hashlib

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "client_secret_sha256"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"], show=2),
                "hash": mask_hash(decoded["hash"])}  # fmt: skip

    def harden_runtime(self, password, encoded):
        pass

"""A software authenticator for tests: a real P-256 key, and the bytes a browser would send
(clientDataJSON, authenticator data, a 'none' attestation object, an ES256 signature), so
the webauthn library checks real signatures rather than a mock."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40
AAGUID = bytes(16)


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    rp_id: str = "testserver"
    origin: str = "http://testserver"
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def credential_id_b64(self) -> str:
        return _b64(self.credential_id)

    def _cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge_b64: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge_b64,
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def _auth_data(self, flags: int, rp_id: str | None, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None) -> dict:
        """Answer registration OPTIONS like navigator.credentials.create()."""
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id
        auth_data = self._auth_data(
            FLAG_UP | FLAG_UV | FLAG_AT, rp_id, attested + self._cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": self.credential_id_b64,
            "rawId": self.credential_id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "attestationObject": _b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        tamper_signature: bool = False,
    ) -> dict:
        """Answer authentication OPTIONS like navigator.credentials.get(); the counter moves
        on by one unless SIGN_COUNT sets it."""
        allowed = [c["id"] for c in options.get("allowCredentials", [])]
        assert not allowed or self.credential_id_b64 in allowed, "not an allowed credential"
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        auth_data = self._auth_data(FLAG_UP | FLAG_UV, rp_id)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper_signature:
            # Another key's signature over the same bytes: well-formed, and wrong.
            signature = ec.generate_private_key(ec.SECP256R1()).sign(
                signed, ec.ECDSA(hashes.SHA256())
            )
        return {
            "id": self.credential_id_b64,
            "rawId": self.credential_id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "authenticatorData": _b64(auth_data),
                "signature": _b64(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


def challenge_of(options: dict) -> bytes:
    return base64url_to_bytes(options["challenge"])


def enrol(user, device: SoftAuthenticator | None = None, name: str = "我的手机"):
    """Register DEVICE (a fresh one by default) for USER through the services, as the pages
    do for http://testserver; returns (passkey, device)."""
    from tongban.passkeys import services
    from tongban.passkeys.relying_party import RelyingParty

    rp = RelyingParty(id="testserver", name="一网通办", origins=("http://testserver",))
    device = device or SoftAuthenticator()
    store: dict = {}
    options = services.passkey_registration_begin(user=user, rp=rp, store=store)
    passkey = services.passkey_register(
        user=user, name=name, credential=device.create(options), rp=rp, store=store
    )
    return passkey, device

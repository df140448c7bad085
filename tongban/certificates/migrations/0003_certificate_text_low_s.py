"""Stored certificate texts in the one form the verifier now accepts.

Signers did not normalise ECDSA's S before, so about half of the stored texts carry a high S
and would now be refused as malformed. (r, n - s) is the same signature's other form, so the
fix needs no private key: swap S, re-encode, and nothing signed changes (same serial, claims
and status entry). Self-contained on purpose: a migration must not follow later code.
"""

import zlib

import base45
import cbor2
from django.db import migrations

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PREFIX = "TB1:"


def canonical_text(text: str) -> str:
    body = base45.b45decode(text[len(PREFIX) :])
    cose = zlib.decompress(body) if body[0] == 0x78 else body
    tag = cbor2.loads(cose)
    protected, unprotected, payload, signature = tag.value
    s = int.from_bytes(signature[32:], "big")
    if s > P256_ORDER // 2:
        signature = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))
    deflated = zlib.compress(cose, 9)
    body = deflated if len(deflated) < len(cose) else cose
    return PREFIX + base45.b45encode(body).decode("ascii")


def certificates_low_s(apps, schema_editor):
    Certificate = apps.get_model("certificates", "Certificate")
    AuditEvent = apps.get_model("common", "AuditEvent")
    changed = unreadable = 0
    for cert in Certificate.objects.only("id", "text").iterator(chunk_size=500):
        try:
            text = canonical_text(cert.text)
        except Exception:  # a row this cannot read is left as it was, not a failed deploy
            unreadable += 1
            continue
        if text != cert.text:
            cert.text = text
            cert.save(update_fields=["text"])
            changed += 1
    if changed or unreadable:
        AuditEvent.objects.create(
            actor_label="system:migration",
            action="certificates.texts_canonicalised",
            data={"changed": changed, "unreadable": unreadable},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0002_certificate_issuance_key"),
        ("common", "0001_initial"),
    ]

    operations = [migrations.RunPython(certificates_low_s, migrations.RunPython.noop)]

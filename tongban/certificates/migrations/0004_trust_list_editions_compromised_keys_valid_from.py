"""Trust list editions (sequence, expiry), the compromised key state, and honest signing times.

Certificates brought in from paper (the demo's 存量证照) were signed with a backdated `iat`,
earlier than their key existed, which the verifier now refuses (a key vouches for nothing
before its `valid_from`). Each such certificate is signed again, now, by its department's
active key: same serial, claims, expiry and status entry, `iat` the real signing time; the old
`iat` becomes `valid_from`, the day its validity counts from. Texts printed or saved as a QR
code before this keep their old, now refused, form. Self-contained on purpose: a migration
must not follow later code.
"""

import datetime as dt
import zlib

import base45
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.db import migrations, models

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PREFIX = "TB1:"
CLOCK_SKEW = dt.timedelta(seconds=300)


def _resigned(text: str, *, private_key, kid: bytes, iat: int) -> str:
    body = base45.b45decode(text[len(PREFIX) :])
    cose = zlib.decompress(body) if body[0] == 0x78 else body
    payload = cbor2.loads(cbor2.loads(cose).value[2])
    payload[6] = iat
    payload = cbor2.dumps(payload, canonical=True)
    protected = cbor2.dumps({1: -7, 4: kid}, canonical=True)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(private_key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
    s = min(s, P256_ORDER - s)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    deflated = zlib.compress(cose, 9)
    body = deflated if len(deflated) < len(cose) else cose
    return PREFIX + base45.b45encode(body).decode("ascii")


def certificates_signed_now(apps, schema_editor):
    Certificate = apps.get_model("certificates", "Certificate")
    IssuingKey = apps.get_model("certificates", "IssuingKey")
    AuditEvent = apps.get_model("common", "AuditEvent")
    Certificate.objects.update(valid_from=models.F("issued_at"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    keys = {k.pk: k for k in IssuingKey.objects.all()}
    active = {k.department_id: k for k in keys.values() if k.state == "active" and k.role == "issuer"}
    loaded = {}
    resigned = left = 0
    for cert in Certificate.objects.only("id", "text", "issued_at", "issuer_key_id").iterator(
        chunk_size=500
    ):
        key = keys[cert.issuer_key_id]
        if cert.issued_at >= key.created_at - CLOCK_SKEW:
            continue
        signer = active.get(key.department_id)
        try:
            if signer.pk not in loaded:
                loaded[signer.pk] = load_pem_private_key(signer.private_key_pem.encode(), None)
            text = _resigned(
                cert.text,
                private_key=loaded[signer.pk],
                kid=bytes.fromhex(signer.kid),
                iat=int(now.timestamp()),
            )
        except Exception:  # no active key, or a row this cannot read: left as it was
            left += 1
            continue
        cert.text, cert.issued_at, cert.issuer_key_id = text, now, signer.pk
        cert.save(update_fields=["text", "issued_at", "issuer_key_id"])
        resigned += 1
    if resigned or left:
        AuditEvent.objects.create(
            actor_label="system:migration",
            action="certificates.backdated_resigned",
            data={"resigned": resigned, "left": left},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0003_certificate_text_low_s"),
        ("common", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TrustListIssue",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.PositiveBigIntegerField(unique=True)),
                ("content_sha256", models.CharField(max_length=64)),
                ("root_kid", models.CharField(max_length=16)),
                ("issued_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("body", models.BinaryField()),
            ],
            options={
                "verbose_name": "信任列表",
                "verbose_name_plural": "信任列表",
                "ordering": ["-sequence"],
            },
        ),
        migrations.AddField(
            model_name="certificate",
            name="valid_from",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="issuingkey",
            name="compromised_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="issuingkey",
            name="state",
            field=models.CharField(
                choices=[("active", "在用"), ("retired", "已停用"), ("compromised", "已泄露")],
                default="active",
                max_length=12,
            ),
        ),
        migrations.RunPython(certificates_signed_now, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="certificate",
            name="valid_from",
            field=models.DateTimeField(),
        ),
    ]

from __future__ import annotations

import json

from django.db import models

from tongban.common.fields import EncryptedTextField

# 16 KiB of bits: 131,072 entries, enough that an index says little about when a certificate
# was issued (indices are drawn at random) and the published list stays small once deflated.
STATUS_LIST_SIZE = 131_072
# A list is closed to new certificates when this share of it is taken, so a random free index
# is still found in a few draws.
STATUS_LIST_FILL = 0.75


class CertificateTypeVersion(models.Model):
    """证照类型版本 — one immutable version of a certificate type definition, as loaded."""

    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    source_file = models.CharField(max_length=300, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="one_certificate_type_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}@v{self.version}"


class CertificateType(models.Model):
    """电子证照类型 — what a certificate of this kind holds and who issues it."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("证照名称", max_length=80)
    department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="certificate_types"
    )
    current = models.ForeignKey(CertificateTypeVersion, on_delete=models.PROTECT, related_name="+")
    # A type removed from the definitions stays (issued certificates point at it) but no new
    # certificate of it is issued.
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "电子证照类型"
        verbose_name_plural = "电子证照类型"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class IssuingKey(models.Model):
    """电子印章 — a signing key of an issuing department, or the root key that signs the trust
    list and status lists (department empty). Retired keys stay for verification; a
    compromised (泄露) key stays listed so verifiers know to refuse what it signed from
    `compromised_at` on (docs/formats.md §4.2)."""

    class Role(models.TextChoices):
        ISSUER = "issuer", "签发印章"
        ROOT = "root", "根密钥"

    class State(models.TextChoices):
        ACTIVE = "active", "在用"
        RETIRED = "retired", "已停用"
        COMPROMISED = "compromised", "已泄露"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ISSUER)
    department = models.ForeignKey(
        "catalog.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issuing_keys",
    )
    # Hex of the first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo (docs/formats.md).
    kid = models.CharField(max_length=16, unique=True)
    alg = models.SmallIntegerField(default=-7)
    public_key_pem = models.TextField()
    private_key_pem = EncryptedTextField(context="certificates.issuing_key")
    state = models.CharField(max_length=12, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # The cut-off: the earliest moment the private key may have been in other hands.
    compromised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "电子印章"
        verbose_name_plural = "电子印章"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=models.Q(state="active", role="issuer"),
                name="one_active_issuing_key_per_department",
            ),
            models.UniqueConstraint(
                fields=["role"],
                condition=models.Q(state="active", role="root"),
                name="one_active_root_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.get_state_display()})"


class TrustListIssue(models.Model):
    """信任列表 — one signed edition of the published trust list. `sequence` grows by one with
    every edition (a key made, rotated, retired or marked compromised; a status list added; a
    re-signing before expiry), so a verifier can tell a newer list from an older one; the
    newest row is what /.well-known/tongban/trust-list serves, byte for byte."""

    sequence = models.PositiveBigIntegerField(unique=True)
    # SHA-256 of the JCS content without sequence and times, and the root kid: what changed.
    content_sha256 = models.CharField(max_length=64)
    root_kid = models.CharField(max_length=16)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    body = models.BinaryField()

    class Meta:
        verbose_name = "信任列表"
        verbose_name_plural = "信任列表"
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"trust list #{self.sequence}"


class StatusList(models.Model):
    """撤销状态列表 — a bitstring of STATUS_LIST_SIZE entries; bit i set means the certificate
    holding index i is revoked. `allocated` marks the indices handed out, so none is reused."""

    purpose = models.CharField(max_length=20, default="revocation")
    size = models.PositiveIntegerField(default=STATUS_LIST_SIZE)
    bits = models.BinaryField()
    allocated = models.BinaryField()
    allocated_count = models.PositiveIntegerField(default=0)
    # Bumped with every change of `bits` (not of `allocated`): verifiers in other processes
    # compare it to the one their copy of the bits was read at.
    version = models.PositiveBigIntegerField(default=0)
    # The published token, signed once per version (and root key, and half-life) and served
    # as these bytes by every process, so its ETag is the same whichever worker answers.
    token = models.BinaryField(default=b"")
    token_etag = models.CharField(max_length=80, blank=True)
    token_version = models.PositiveBigIntegerField(null=True, blank=True)
    token_kid = models.CharField(max_length=16, blank=True)
    token_issued_at = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "撤销状态列表"
        verbose_name_plural = "撤销状态列表"


class Certificate(models.Model):
    """电子证照 — one signed certificate issued to a person or an enterprise.

    The claims and the signed text are encrypted at rest: the text carries the claims in the
    clear (Base45 is an encoding, not a cipher).
    """

    type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, related_name="+")
    type_version = models.ForeignKey(
        CertificateTypeVersion, on_delete=models.PROTECT, related_name="+"
    )
    holder_profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    holder_enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    holder_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claims_json = EncryptedTextField(context="certificates.certificate.claims")
    issuer_key = models.ForeignKey(IssuingKey, on_delete=models.PROTECT, related_name="+")
    # Hex of the CWT cti (16 random bytes): the certificate's serial number.
    serial = models.CharField(max_length=64, unique=True)
    # The moment of signing: the token's iat.
    issued_at = models.DateTimeField()
    # The day validity counts from (expires_at = valid_from + the type's validity): issued_at,
    # or for a paper certificate that existed before the platform (存量证照) its first issue.
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="+")
    status_index = models.PositiveIntegerField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=200, blank=True)
    source_receipt_no = models.CharField(max_length=40, blank=True)
    # What this certificate was issued for (统一发证: case, item, type, holder; the demo: its
    # seed), unique, so an issuance run twice issues nothing new. Empty (NULL) for one-offs.
    issuance_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    text = EncryptedTextField(context="certificates.certificate.text")

    class Meta:
        verbose_name = "电子证照"
        verbose_name_plural = "电子证照"
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status_list", "status_index"], name="one_certificate_per_status_entry"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type_id}:{self.serial}"

    @property
    def claims(self) -> dict:
        return json.loads(self.claims_json)

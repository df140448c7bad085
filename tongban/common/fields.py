"""Model fields that keep sensitive values encrypted at rest."""

from __future__ import annotations

from django.db import models

from tongban.common.crypto import decrypt_text, encrypt_text


class EncryptedTextField(models.TextField):
    """Stores AES-GCM ciphertext; Python code sees the plaintext.

    The column name is bound as associated data, so ciphertext moved to another column fails
    to decrypt instead of silently revealing a value in the wrong place. Encrypted columns
    cannot be filtered on; pair them with a keyed hash column for equality look-ups.
    """

    def __init__(self, *args, context: str = "", **kwargs):
        self.context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.context:
            kwargs["context"] = self.context
        return name, path, args, kwargs

    def _context(self) -> str:
        return self.context or f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value, context=self._context())

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value, context=self._context())

"""Strict readers for settings that come from the environment.

A setting that is present but malformed stops the process at start-up: a city must not run
on a half-understood configuration.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigurationError(RuntimeError):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be one of 1/0/true/false/yes/no, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def persistent_secret(name: str, data_dir: Path, *, nbytes: int = 32) -> str:
    """Read secret NAME from the environment, else from a file under the data folder.

    A fresh clone has no secrets configured; generating them once and keeping them in the
    (git-ignored) data folder means encrypted fields stay readable across restarts. A city
    deployment sets them in the environment and never relies on the file.
    """
    value = os.environ.get(name)
    if value:
        return value
    path = data_dir / "secrets" / name.lower()
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value, encoding="ascii")
    path.chmod(0o600)
    return value

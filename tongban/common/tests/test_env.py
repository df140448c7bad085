import pytest

from tongban.common.env import (
    ConfigurationError,
    env_bool,
    env_int,
    env_list,
    persistent_secret,
)


def test_env_bool_reads_words_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False
    monkeypatch.delenv("X_FLAG")
    assert env_bool("X_FLAG", True) is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigurationError, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_NUM", "12")
    assert env_int("X_NUM", 3) == 12
    monkeypatch.setenv("X_NUM", "twelve")
    with pytest.raises(ConfigurationError):
        env_int("X_NUM", 3)
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert env_list("X_LIST", []) == ["a", "b", "c"]


def test_persistent_secret_is_generated_once_and_env_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("X_SECRET", raising=False)
    first = persistent_secret("X_SECRET", tmp_path)
    assert len(first) >= 40
    assert persistent_secret("X_SECRET", tmp_path) == first
    assert (tmp_path / "secrets" / "x_secret").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("X_SECRET", "from-env")
    assert persistent_secret("X_SECRET", tmp_path) == "from-env"

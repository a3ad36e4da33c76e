"""``to_env``: the environment a child process rebuilds the same Settings from."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitals.platform.settings import Settings, to_env


def _rebuilt(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"VITALS_{name.upper()}", raising=False)
    for key, value in to_env(settings).items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_a_child_rebuilds_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        partitions=3,
        growth_config=Path("/etc/vitals/growth.toml"),
        ingest_event_names={"Order Completed": "purchase:order_completed"},
    )
    assert _rebuilt(settings, monkeypatch) == settings


def test_an_unset_setting_stays_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.growth_config is None
    assert "VITALS_GROWTH_CONFIG" not in to_env(settings)
    assert _rebuilt(settings, monkeypatch) == settings

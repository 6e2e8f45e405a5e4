"""docs/configuration.md documents every setting, and only settings that exist."""

import re
from pathlib import Path

from wasteflow.config import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOC.read_text(), flags=re.M))


def test_every_setting_is_documented():
    assert set(Settings.model_fields) - documented() == set()


def test_nothing_documented_that_does_not_exist():
    assert documented() - set(Settings.model_fields) == set()


def test_documented_defaults_match(monkeypatch):
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"WASTEFLOW_{name.upper()}", raising=False)
    settings = Settings()
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.M)
    for name, default in rows:
        default = default.strip()
        value = getattr(settings, name)
        expected = "(empty)" if value == "" else f"`{value}`"
        assert default == expected, f"{name}: docs say {default}, code says {expected}"

"""Settings: each detection threshold is a setting of its own name, defined once (in ``Thresholds``)."""

from dataclasses import fields

from wasteflow.config import Settings
from wasteflow.detection.model import Thresholds
from wasteflow.monitoring.trips import thresholds


def test_every_threshold_is_a_setting_with_its_default(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"WASTEFLOW_{name.upper()}", raising=False)
    names = [field.name for field in fields(Thresholds)]
    assert set(names) <= set(Settings.model_fields)
    assert Settings().thresholds == Thresholds()


def test_each_threshold_is_read_from_its_variable(monkeypatch):
    for field in fields(Thresholds):
        monkeypatch.setenv(f"WASTEFLOW_{field.name.upper()}", str(field.default * 3))
    configured = Settings().thresholds
    for field in fields(Thresholds):
        assert getattr(configured, field.name) == field.default * 3, field.name
    assert thresholds(Settings()) == configured


def test_keyword_arguments_still_set_thresholds():
    assert Settings(stop_min_seconds=42, tolerance_min_kg=80).thresholds.stop_min_seconds == 42.0
    assert Settings(tolerance_min_kg=80).thresholds.tolerance_min_kg == 80

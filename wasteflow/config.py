"""The one settings object, read from ``WASTEFLOW_*`` environment variables.

Every variable is documented in docs/configuration.md; the defaults here are the
embedded demo's (a SQLite file beside the working directory, a local broker).
"""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from wasteflow.detection.model import Thresholds

_DETECTION = Thresholds()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WASTEFLOW_", extra="ignore")

    database_url: str = "sqlite:///./wasteflow.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    http: str = "127.0.0.1:8000"

    timezone: str = "Asia/Shanghai"
    """Local time zone of the region: manifest numbers and report days use it."""

    extra_plate_patterns: str = ""
    """Comma-separated regular expressions for plates beyond the Chinese formats."""

    signature_clock_skew_s: float = 5.0
    """How far a signature's ``at`` may lie ahead of the server clock (clock skew)."""

    default_corridor_m: float = 500.0
    page_size_default: int = 50
    page_size_max: int = 500
    max_request_bytes: int = 1024 * 1024

    # geofence plausibility, square metres
    geofence_min_area_m2: float = 25.0
    geofence_max_area_m2: float = 200_000_000.0

    # telemetry bridge
    mqtt_protocol: str = "5"
    """MQTT protocol of the bridge's connection: ``5`` (Mosquitto, EMQX...) or ``3.1.1`` (the embedded broker)."""
    bridge_client_id: str = "wasteflow-bridge"
    bridge_shared_group: str = ""
    """When set (e.g. ``wasteflow``), subscribe through ``$share/{group}/...`` so workers split the load."""
    bridge_batch_size: int = 2000
    bridge_batch_ms: int = 200
    bridge_session_expiry_s: int = 7 * 86400
    bridge_metrics_http: str = ""
    """host:port for the bridge's Prometheus metrics (e.g. ``0.0.0.0:9100``); empty: not served."""

    telemetry_retention_days: int = 0
    """Raw fixes and load readings older than this are dropped by ``wasteflow maintain`` (0: keep all)."""

    # detection thresholds: findings.md's defaults, kept once, in wasteflow.detection.model.Thresholds
    corridor_min_fixes: int = _DETECTION.corridor_min_fixes
    corridor_min_seconds: float = _DETECTION.corridor_min_seconds
    stop_radius_m: float = _DETECTION.stop_radius_m
    stop_min_seconds: float = _DETECTION.stop_min_seconds
    gate_radius_m: float = _DETECTION.gate_radius_m
    load_drop_pct: float = _DETECTION.load_drop_pct
    load_drop_min_kg: int = _DETECTION.load_drop_min_kg
    load_drop_min_readings: int = _DETECTION.load_drop_min_readings
    diversion_min_seconds: float = _DETECTION.diversion_min_seconds
    jump_max_kmh: float = _DETECTION.jump_max_kmh
    jump_min_m: float = _DETECTION.jump_min_m
    overdue_after_planned_s: float = _DETECTION.overdue_after_planned_s
    overdue_default_s: float = _DETECTION.overdue_default_s
    gps_gap_s: float = _DETECTION.gps_gap_s
    tolerance_pct: float = _DETECTION.tolerance_pct
    tolerance_min_kg: int = _DETECTION.tolerance_min_kg
    declaration_mismatch_pct: float = _DETECTION.declaration_mismatch_pct

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""The one settings object, read from ``WASTEFLOW_*`` environment variables.

Every variable is documented in docs/configuration.md; the defaults here are the
embedded demo's (a SQLite file beside the working directory, a local broker).

The detection thresholds are not repeated here: every field of
:class:`wasteflow.detection.model.Thresholds` is a setting of the same name, type and default
(``stop_min_seconds`` → ``WASTEFLOW_STOP_MIN_SECONDS``), so a new threshold needs only its field
there and its line in docs/configuration.md.
"""

from dataclasses import fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, get_type_hints

from pydantic import create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from wasteflow.detection.model import Thresholds


def _threshold_fields() -> dict[str, Any]:
    types = get_type_hints(Thresholds)
    return {field.name: (types[field.name], field.default) for field in fields(Thresholds)}


if TYPE_CHECKING:
    ThresholdSettings = BaseSettings
else:
    ThresholdSettings = create_model("ThresholdSettings", __base__=BaseSettings, **_threshold_fields())
    ThresholdSettings.__doc__ = "A setting for each detection threshold, made from the Thresholds dataclass."


class Settings(ThresholdSettings):
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
    filing_max_age_h: float = 72.0
    """How far back a filing's ``at`` may lie (api.md): older filings would claim a vehicle's past."""

    secret_key: str = ""
    """Seals device secrets at rest (``wasteflow/sealing.py``); required on PostgreSQL, a key file
    beside the database on SQLite when empty."""
    device_secret_grace_s: float = 86400.0
    """After a device secret is rotated, the old one still verifies this long, then is refused."""

    default_corridor_m: float = 500.0
    page_size_default: int = 50
    page_size_max: int = 500
    max_request_bytes: int = 1024 * 1024
    metrics_key: str = ""
    """The bearer token ``GET /metrics`` on the API port asks for; empty: not served there (operations.md)."""

    # geofence plausibility, square metres
    geofence_min_area_m2: float = 25.0
    geofence_max_area_m2: float = 200_000_000.0

    # telemetry bridge
    mqtt_ca_file: str = ""
    """PEM file of the CA that signed the broker's certificate, for ``mqtts://`` URLs (bridge and
    gateways); empty: the system's CAs."""
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
    live_lookback_s: float = 7200.0
    """Live detection reads an open trip's readings from this long before the new ones (not its whole
    history); longer than any live rule's episode threshold. Reconciliation reads the whole trip."""

    # JT/T 808 gateway (devices.md)
    jt808_listen: str = "127.0.0.1:7808"
    """host:port ``wasteflow gateway jt808`` listens on for terminals (``0.0.0.0:7808`` to take the field)."""
    jt808_allow: str = ""
    """Comma-separated networks (``10.0.0.0/8, 203.0.113.7``) allowed to connect; empty: any address."""
    jt808_idle_s: float = 180.0
    """A terminal that sends nothing this long (3 heartbeat intervals) is disconnected."""
    jt808_max_connections: int = 20_000
    jt808_quarantine_per_minute: int = 120
    """A connection with more frames quarantined in a minute is closed (a broken or hostile peer)."""

    # OsmAnd HTTP gateway (devices.md)
    osmand_listen: str = "127.0.0.1:5055"
    """host:port ``wasteflow gateway http`` takes phones' OsmAnd requests on (``0.0.0.0:5055`` for the field)."""
    osmand_publish_timeout_s: float = 10.0
    """A request whose fixes the broker has not acknowledged in this time is answered 503 (the phone resends)."""
    osmand_max_body_bytes: int = 262_144
    osmand_quarantine_per_minute: int = 600
    """Unreadable requests recorded in quarantine per minute; past that they are only counted."""

    telemetry_retention_days: int = 0
    """Raw fixes and load readings older than this are dropped by ``wasteflow maintain`` (0: keep all)."""

    # webhooks (api.md): deliveries from the worker, ``wasteflow webhooks``
    webhook_retry_base_s: float = 30.0
    """The first retry of a failed delivery comes this long after it; each next one twice as long."""
    webhook_retry_max_interval_s: float = 3600.0
    webhook_retry_window_s: float = 86400.0
    """A delivery is retried for this long after its event, then given up."""
    webhook_max_failures: int = 10
    """A webhook is disabled (with the reason) after this many consecutive failed attempts."""
    webhook_allow_private: bool = False
    """Allow webhook URLs that resolve to loopback or private addresses (and plain http): development only."""
    webhook_concurrency: int = 8
    webhook_timeout_s: float = 10.0
    webhook_poll_s: float = 1.0

    # forensics (findings.md, "Forensics"): GET /v1/hotspots
    hotspot_link_m: float = 300.0
    """Findings chain into one hotspot while each lies within this of another (single linkage)."""
    hotspot_min_vehicles: int = 2
    hotspot_min_findings: int = 3
    """A cluster is a hotspot with findings of this many vehicles, or this many findings."""

    @property
    def thresholds(self) -> Thresholds:
        """The detection thresholds these settings set (findings.md's defaults where not set)."""
        return Thresholds(**{field.name: getattr(self, field.name) for field in fields(Thresholds)})

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

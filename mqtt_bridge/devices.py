"""The bridge's view of the registry: device lookups, cached briefly.

A device registered through the API is seen within ``ttl_s``; unknown ids are
remembered for a shorter time so a flood from an unregistered device costs no queries.
A device's entry carries its valid secrets (opened from their sealed column: the rotated-out
one only until its grace period ends, which also ends the entry's time in the cache) and
whether it is enabled.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mqtt_bridge.parsing import DeviceInfo
from wasteflow.database import utcnow
from wasteflow.registry import device_secrets
from wasteflow.registry.models import Device
from wasteflow.sealing import Sealer, sealer_for


class DeviceDirectory:
    def __init__(self, engine: Engine, ttl_s: float = 30.0, unknown_ttl_s: float = 2.0,
                 sealer: Sealer | None = None):
        self.engine = engine
        self.ttl_s = ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self.sealer = sealer or sealer_for(engine.url)
        self._cache: dict[str, tuple[float, DeviceInfo | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, device_id: str) -> DeviceInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(device_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        info, ttl_s = self._load(device_id)
        with self._lock:
            self._cache[device_id] = (now + ttl_s, info)
        return info

    def _load(self, device_id: str) -> tuple[DeviceInfo | None, float]:
        """The device and how long it may be cached."""
        with Session(self.engine) as session:
            device = session.get(Device, device_id)
            if device is None:
                return None, self.unknown_ttl_s
            now = utcnow()
            secrets = device_secrets.valid_secrets(device, self.sealer, now)
            ttl_s = self.ttl_s
            grace_ends = device_secrets.grace_ends(device, now)
            if grace_ends is not None:
                ttl_s = min(ttl_s, (grace_ends - now).total_seconds())
            info = DeviceInfo(id=device.id, kind=device.kind, secret=secrets[0],
                              require_signature=device.require_signature,
                              vehicle_id=device.vehicle_id, site_id=device.site_id,
                              publishes_load=device.load_item is not None,
                              previous_secrets=secrets[1:], enabled=device.disabled_at is None)
            return info, ttl_s

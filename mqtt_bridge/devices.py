"""The bridge's view of the registry: device lookups, cached briefly.

A device registered through the API is seen within ``ttl_s``; unknown ids are
remembered for a shorter time so a flood from an unregistered device costs no queries.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mqtt_bridge.parsing import DeviceInfo
from wasteflow.registry.models import Device


class DeviceDirectory:
    def __init__(self, engine: Engine, ttl_s: float = 30.0, unknown_ttl_s: float = 2.0):
        self.engine = engine
        self.ttl_s = ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self._cache: dict[str, tuple[float, DeviceInfo | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, device_id: str) -> DeviceInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(device_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = self._load(device_id)
        expires = now + (self.ttl_s if info is not None else self.unknown_ttl_s)
        with self._lock:
            self._cache[device_id] = (expires, info)
        return info

    def _load(self, device_id: str) -> DeviceInfo | None:
        with Session(self.engine) as session:
            device = session.get(Device, device_id)
            if device is None:
                return None
            return DeviceInfo(id=device.id, kind=device.kind, secret=device.secret,
                              require_signature=device.require_signature,
                              vehicle_id=device.vehicle_id, site_id=device.site_id,
                              publishes_load=device.load_item is not None)

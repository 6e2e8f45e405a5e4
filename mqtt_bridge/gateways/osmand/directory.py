"""The registered OsmAnd phones (``osmand:{id}`` devices), held in memory for the HTTP gateway.

Every request's look-up is a set membership on the event loop. The database is read in a
worker thread: all phones at start and every ``reload_s`` (a removed phone stops being
answered), and one id on demand when a request names one not yet known (remembered as
unknown for ``miss_ttl_s``, so a stream of made-up ids costs few queries).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mqtt_bridge.gateways.osmand.translate import DEVICE_PREFIX
from wasteflow.registry.models import Device

log = logging.getLogger("wasteflow.gateway.osmand")

MAX_REMEMBERED_MISSES = 100_000


class PhoneDirectory:
    def __init__(self, engine: Engine, reload_s: float = 60.0, miss_ttl_s: float = 5.0):
        self.engine = engine
        self.reload_s = reload_s
        self.miss_ttl_s = miss_ttl_s
        self._phones: frozenset[str] = frozenset()
        self._misses: dict[str, float] = {}
        self._lookups = asyncio.Semaphore(2)  # on-demand queries at once: a flood waits, the database does not

    def __call__(self, device_id: str) -> bool:
        return device_id in self._phones

    def __len__(self) -> int:
        return len(self._phones)

    def load_all(self) -> int:
        with Session(self.engine) as session:
            ids = session.exec(select(Device.id).where(col(Device.id).startswith(DEVICE_PREFIX),
                                                       Device.kind == "gps")).all()
        self._phones = frozenset(ids)
        self._misses.clear()
        return len(self._phones)

    def _load_one(self, device_id: str) -> bool:
        with Session(self.engine) as session:
            device = session.get(Device, device_id)
            return device is not None and device.kind == "gps"

    async def ensure(self, device_id: str | None) -> None:
        """Make sure a phone registered since the last reload is known before its request is judged."""
        if device_id is None or device_id in self._phones or not device_id.startswith(DEVICE_PREFIX):
            return
        now = time.monotonic()
        if self._misses.get(device_id, 0.0) > now:
            return
        async with self._lookups:
            try:
                found = await asyncio.to_thread(self._load_one, device_id)
            except Exception as exc:  # the database is away: answered as unknown now, looked up again next time
                log.warning("phone lookup for %s failed: %s", device_id, exc)
                return
        if found:
            self._phones = self._phones | {device_id}
            return
        if len(self._misses) > MAX_REMEMBERED_MISSES:
            self._misses.clear()
        self._misses[device_id] = now + self.miss_ttl_s

    async def keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.reload_s)
            try:
                count = await asyncio.to_thread(self.load_all)
                log.debug("reloaded %d osmand phones", count)
            except Exception as exc:
                log.warning("could not reload the osmand phones (%s); keeping the %d known", exc, len(self))

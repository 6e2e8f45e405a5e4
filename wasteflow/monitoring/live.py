"""Live detection in the bridge: trips whose vehicle just reported are re-examined within a second.

The bridge's writer thread only marks devices dirty (cheap); this thread coalesces them,
so a burst of fixes from one truck costs one detection run, not one per fix. New
findings are published on ``wf/v1/alerts/{severity}/{code}`` once committed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from wasteflow.database import session_scope
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests.lifecycle import OPEN_STATES
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.monitor import Monitor
from wasteflow.registry.models import Device
from wasteflow.tracks.service import TRIP_MARGIN

log = logging.getLogger("wasteflow.live")

Publisher = Callable[[str, bytes], None]
RECONCILED_STATES = ("received", "reconciled")


class LiveDetector:
    def __init__(self, engine: Engine, monitor: Monitor, publish: Publisher | None = None,
                 interval_s: float = 0.5, watchdog_every_s: float = 30.0):
        self.engine = engine
        self.monitor = monitor
        self.publish = publish
        self.interval_s = interval_s
        self.watchdog_every_s = watchdog_every_s
        self._dirty: dict[str, tuple[datetime, datetime]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-detection", daemon=True)
        self.runs = 0

    def notify(self, spans: dict[str, tuple[datetime, datetime]]) -> None:
        """Devices that stored new readings, with the event-time span of those readings."""
        with self._lock:
            for device_id, (low, high) in spans.items():
                old = self._dirty.get(device_id)
                self._dirty[device_id] = (min(low, old[0]), max(high, old[1])) if old else (low, high)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        next_watchdog = 0.0
        elapsed = 0.0
        while not self._stop.wait(self.interval_s):
            elapsed += self.interval_s
            self.run_once()
            if elapsed >= next_watchdog:
                self.run_watchdog()
                next_watchdog = elapsed + self.watchdog_every_s

    def run_once(self) -> list[Finding]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        if not dirty:
            return []
        try:
            raised = self._examine(dirty)
        except (OperationalError, IntegrityError) as exc:
            log.warning("live detection deferred (%s); will retry", type(exc).__name__)
            self.notify(dirty)
            return []
        self.runs += 1
        self._announce(raised)
        return raised

    def run_watchdog(self) -> list[Finding]:
        try:
            with session_scope(self.engine) as session:
                raised = self.monitor.watchdog(session)
        except (OperationalError, IntegrityError) as exc:
            log.warning("watchdog deferred (%s)", type(exc).__name__)
            return []
        self._announce(raised)
        return raised

    def _examine(self, dirty: dict[str, tuple[datetime, datetime]]) -> list[Finding]:
        raised: list[Finding] = []
        with session_scope(self.engine) as session:
            for manifest in self._affected(session, dirty):
                if manifest.status in OPEN_STATES:
                    raised += self.monitor.follow(session, manifest)
                else:
                    raised += self.monitor.reconcile(session, manifest)
        return raised

    def _affected(self, session: Session, dirty: dict[str, tuple[datetime, datetime]]) -> list[Manifest]:
        """Open trips of the reporting vehicles, and finished trips whose window the new readings fall in."""
        vehicles: dict[int, tuple[datetime, datetime]] = {}
        for device in session.exec(select(Device).where(Device.id.in_(list(dirty)))).all():
            if device.vehicle_id is not None:
                low, high = dirty[device.id]
                old = vehicles.get(device.vehicle_id)
                vehicles[device.vehicle_id] = (min(low, old[0]), max(high, old[1])) if old else (low, high)
        affected = []
        for vehicle_id, (low, high) in vehicles.items():
            rows = session.exec(select(Manifest).where(Manifest.vehicle_id == vehicle_id,
                                                       Manifest.status.in_(OPEN_STATES + RECONCILED_STATES),
                                                       Manifest.dispatched_at <= high + TRIP_MARGIN)
                                .order_by(Manifest.id.desc()).limit(10)).all()
            for manifest in rows:
                if manifest.status in OPEN_STATES or (manifest.received_at and manifest.received_at >= low):
                    affected.append(manifest)
        return affected

    def _announce(self, raised: list[Finding]) -> None:
        if self.publish is None:
            return
        for finding in raised:
            body = json.dumps(findings.public(finding), default=str, ensure_ascii=False).encode()
            self.publish(alert_topic(finding), body)


def alert_topic(finding: Finding) -> str:
    return f"wf/v1/alerts/{finding.severity}/{finding.code}"

"""Live detection in the bridge: trips whose vehicle just reported are re-examined within a second.

The bridge's writer thread only marks devices dirty (cheap); this thread coalesces them,
so a burst of fixes from one truck costs one detection run, not one per fix. New
findings are published on ``wf/v1/alerts/{severity}/{code}`` once committed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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


Spans = dict[str, tuple[datetime, datetime]]
"""Per device id, the event-time span of the readings it stored since it was last examined."""

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


@dataclass
class Held:
    """A device whose examination failed for a reason other than the database: kept, retried later."""

    span: tuple[datetime, datetime]
    attempts: int
    due: float  # on the detector's monotonic clock


def merge(spans: Spans, device_id: str, span: tuple[datetime, datetime]) -> None:
    old = spans.get(device_id)
    spans[device_id] = (min(span[0], old[0]), max(span[1], old[1])) if old else span


class LiveDetector:
    """Examines the trips of the devices that reported, on its own thread.

    The loop never dies and never forgets a device it took: a database error puts the whole
    batch back for the next tick; any other error (a bug, data nothing foresaw) is retried
    device by device, so one bad vehicle cannot hold up the others, and a device that keeps
    failing is held back with a growing delay (up to a minute) instead of spinning.
    """

    def __init__(self, engine: Engine, monitor: Monitor, publish: Publisher | None = None,
                 interval_s: float = 0.5, watchdog_every_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.monitor = monitor
        self.publish = publish
        self.interval_s = interval_s
        self.watchdog_every_s = watchdog_every_s
        self.clock = clock
        self._dirty: Spans = {}
        self._held: dict[str, Held] = {}
        self._attempts: dict[str, int] = {}  # failed attempts of held devices taken for a retry
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-detection", daemon=True)
        self.runs = 0
        self.failures = 0

    def notify(self, spans: Spans) -> None:
        """Devices that stored new readings, with the event-time span of those readings."""
        with self._lock:
            for device_id, span in spans.items():
                held = self._held.get(device_id)
                if held is not None:
                    held.span = (min(span[0], held.span[0]), max(span[1], held.span[1]))
                else:
                    merge(self._dirty, device_id, span)

    @property
    def pending(self) -> Spans:
        """Every device still to examine: waiting for the next tick, or held back after a failure."""
        with self._lock:
            out = dict(self._dirty)
            for device_id, held in self._held.items():
                merge(out, device_id, held.span)
            return out

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        next_watchdog = 0.0
        elapsed = 0.0
        while not self._stop.wait(self.interval_s):
            elapsed += self.interval_s
            for step in (self.run_once, self.run_watchdog) if elapsed >= next_watchdog else (self.run_once,):
                try:
                    step()
                except Exception:  # both steps guard themselves; this only keeps the thread alive
                    log.exception("live detection: %s failed", step.__name__)
            if elapsed >= next_watchdog:
                next_watchdog = elapsed + self.watchdog_every_s

    def _take(self) -> Spans:
        """The devices to examine now: everything notified, plus held devices whose retry is due."""
        now = self.clock()
        with self._lock:
            taken, self._dirty = self._dirty, {}
            for device_id in [d for d, held in self._held.items() if held.due <= now]:
                held = self._held.pop(device_id)
                self._attempts[device_id] = held.attempts
                merge(taken, device_id, held.span)
        return taken

    def run_once(self) -> list[Finding]:
        dirty = self._take()
        if not dirty:
            return []
        try:
            raised = self._examine(dirty)
        except (OperationalError, IntegrityError) as exc:
            log.warning("live detection deferred (%s); will retry", type(exc).__name__)
            self._put_back(dirty)
            return []
        except Exception:
            log.exception("live detection failed on %d devices; retrying them one by one", len(dirty))
            raised = self._examine_each(dirty)
        else:
            self._release(dirty)
        self.runs += 1
        self._announce(raised)
        return raised

    def _examine_each(self, dirty: Spans) -> list[Finding]:
        """Each device in its own transaction: the ones that fail again are held back, not lost."""
        raised: list[Finding] = []
        for device_id, span in dirty.items():
            try:
                raised += self._examine({device_id: span})
            except Exception as exc:
                self.failures += 1
                self._hold(device_id, span, exc)
            else:
                self._release({device_id: span})
        return raised

    def _put_back(self, dirty: Spans) -> None:
        with self._lock:
            for device_id, span in dirty.items():
                merge(self._dirty, device_id, span)
                self._attempts.pop(device_id, None)

    def _hold(self, device_id: str, span: tuple[datetime, datetime], exc: Exception) -> None:
        with self._lock:
            attempts = self._attempts.pop(device_id, 0) + 1
            late = self._dirty.pop(device_id, None)  # notified meanwhile: held along with it
            merged = (min(span[0], late[0]), max(span[1], late[1])) if late else span
            delay = min(RETRY_FIRST_S * 2 ** (attempts - 1), RETRY_MAX_S)
            self._held[device_id] = Held(merged, attempts, self.clock() + delay)
        log.error("live detection of device %s failed (%s: %s, attempt %d); retrying in %.0f s",
                  device_id, type(exc).__name__, exc, attempts, delay, exc_info=exc)

    def _release(self, done: Spans) -> None:
        """Examined devices start afresh: their next failure waits the shortest delay again."""
        with self._lock:
            for device_id in done:
                self._attempts.pop(device_id, None)

    def run_watchdog(self) -> list[Finding]:
        try:
            with session_scope(self.engine) as session:
                raised = self.monitor.watchdog(session)
        except (OperationalError, IntegrityError) as exc:
            log.warning("watchdog deferred (%s)", type(exc).__name__)
            return []
        except Exception:
            log.exception("watchdog failed; it runs again at its next turn")
            return []
        self._announce(raised)
        return raised

    def _examine(self, dirty: Spans) -> list[Finding]:
        raised: list[Finding] = []
        with session_scope(self.engine) as session:
            for manifest in self._affected(session, dirty):
                if manifest.status in OPEN_STATES:
                    raised += self.monitor.follow(session, manifest)
                else:
                    raised += self.monitor.reconcile(session, manifest)
        return raised

    def _affected(self, session: Session, dirty: Spans) -> list[Manifest]:
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

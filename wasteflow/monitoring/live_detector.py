"""Live detection in the bridge: trips whose vehicle just reported are re-examined within a second.

The bridge's writer thread only marks devices dirty (cheap); this thread coalesces them,
so a burst of fixes from one truck costs one detection run, not one per fix. Manifests that
late data touched (a weigh ticket linked after the receipt) are examined again the same way.
New findings are published on ``wf/v1/alerts/{severity}/{code}`` once committed.

Each trip is examined in its own transaction, reading its manifest locked (manifests/locks.py):
a receipt committed a moment before is seen (the trip is reconciled, not followed as if still
under way), and one committed a moment after finds what was stored and reconciles over it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from wasteflow.database import session_scope
from wasteflow.findings import service as findings
from wasteflow.findings.models import Finding
from wasteflow.manifests import locks
from wasteflow.manifests.lifecycle import OPEN_STATES
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.monitoring.loading import batch_windows
from wasteflow.monitoring.monitor import Monitor
from wasteflow.monitoring.pending import Pending, Work
from wasteflow.registry.models import Device
from wasteflow.tracks.service import TRIP_MARGIN

log = logging.getLogger("wasteflow.live")

Publisher = Callable[[str, bytes], None]
RECONCILED_STATES = ("received", "reconciled")

Spans = dict[str, tuple[datetime, datetime]]
"""Per device id, the event-time span of the readings it stored since it was last examined."""


class LiveDetector:
    """Examines the trips of the devices that reported, on its own thread.

    The loop never dies and never forgets work it took: a database error puts the whole batch
    back for the next tick; any other error (a bug, data nothing foresaw) is retried device by
    device and manifest by manifest, so one bad vehicle cannot hold up the others, and a piece
    that keeps failing is held back with a growing delay (up to a minute) instead of spinning.
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
        self._pending = Pending()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-detection", daemon=True)
        self.runs = 0
        self.failures = 0

    def notify(self, spans: Spans, manifests: Collection[str] = ()) -> None:
        """Devices that stored new readings, with the event-time span of those readings, and
        manifests that late data (a weigh ticket) joined."""
        self._pending.add(Work(devices=dict(spans), manifests=set(manifests)))

    def after_store(self, stored) -> None:
        """A bridge worker's ``after_store`` listener: what one committed batch brought."""
        self.notify(stored.spans, stored.manifests_touched)

    @property
    def pending(self) -> Spans:
        """The devices still to examine: waiting for the next tick, or held back after a failure."""
        return self._pending.snapshot().devices

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

    def run_once(self) -> list[Finding]:
        """Examine what is pending; returns (and has published) the findings raised."""
        work = self._pending.take(self.clock())
        if not work:
            return []
        raised: list[Finding] = []
        try:
            self._examine(work, raised)
        except (OperationalError, IntegrityError) as exc:
            log.warning("live detection deferred (%s); will retry", type(exc).__name__)
            self._pending.put_back(work)
            return raised
        except Exception:
            log.exception("live detection failed; retrying its %d devices and %d manifests one by one",
                          len(work.devices), len(work.manifests))
            self._examine_each(work, raised)
        else:
            self._pending.release(key for key, _ in work.units())
        self.runs += 1
        return raised

    def _examine_each(self, work: Work, raised: list[Finding]) -> None:
        """Each piece on its own: the ones that fail again are held back, not lost."""
        for key, unit in work.units():
            try:
                self._examine(unit, raised)
            except Exception as exc:
                self.failures += 1
                attempts, delay = self._pending.hold(key, unit, self.clock())
                log.error("live detection of %s failed (%s: %s, attempt %d); retrying in %.0f s",
                          key, type(exc).__name__, exc, attempts, delay, exc_info=exc)
            else:
                self._pending.release([key])

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

    def _examine(self, work: Work, raised: list[Finding]) -> None:
        """Each affected trip in its own transaction, its vehicle claimed (:func:`claim_vehicle`)
        and its manifest locked and read afresh; what it raised is published once committed.

        A vehicle another process is examining right now is put back for the next tick: that
        process may have read the trip before this batch's readings were committed."""
        with Session(self.engine) as session:
            targets = self._affected(session, work)
        busy: set[int] = set()
        for target in targets:
            with session_scope(self.engine) as session:
                if not claim_vehicle(session, target.vehicle_id):
                    busy.add(target.vehicle_id)
                    continue
                manifest = locks.locked_one(session, Manifest.id == target.manifest_id)
                if manifest is None:
                    continue
                if manifest.status in OPEN_STATES:
                    found = self.monitor.follow(session, manifest, target.since)
                elif manifest.status in RECONCILED_STATES:
                    found = self.monitor.reconcile(session, manifest)
                else:
                    continue
            raised += found
            self._announce(found)
        if busy:
            self._pending.put_back(Work(
                devices={d: work.devices[d] for t in targets if t.vehicle_id in busy for d in t.devices},
                manifests={t.manifest_no for t in targets if t.vehicle_id in busy and t.manifest_no}))

    def _affected(self, session: Session, work: Work) -> list[Target]:
        """The trips whose windows (tracks/windows.py) the new readings fall in — open or finished —
        and the manifests late data touched, in manifest order."""
        vehicles: dict[int, tuple[datetime, datetime]] = {}
        devices: dict[int, list[str]] = {}
        for device in session.exec(select(Device).where(col(Device.id).in_(list(work.devices)))).all():
            if device.vehicle_id is not None:
                low, high = work.devices[device.id]
                old = vehicles.get(device.vehicle_id)
                vehicles[device.vehicle_id] = (min(low, old[0]), max(high, old[1])) if old else (low, high)
                devices.setdefault(device.vehicle_id, []).append(device.id)
        candidates: list[tuple[int, Manifest]] = []
        for vehicle_id, (_, high) in vehicles.items():
            carries = or_(Manifest.vehicle_id == vehicle_id, col(Manifest.id).in_(
                select(ManifestLeg.manifest_id).where(ManifestLeg.vehicle_id == vehicle_id)))
            rows = session.exec(select(Manifest).where(carries,
                                                       Manifest.status.in_(OPEN_STATES + RECONCILED_STATES),
                                                       Manifest.dispatched_at <= high + TRIP_MARGIN)
                                .order_by(Manifest.id.desc()).limit(10)).all()
            candidates += [(vehicle_id, manifest) for manifest in rows]
        windows = batch_windows(session, list({m.id: m for _, m in candidates}.values()))
        affected: dict[int, Target] = {}
        for vehicle_id, manifest in candidates:
            low, high = vehicles[vehicle_id]
            if any(window.overlaps(low, high) for window in windows[manifest.id]):
                affected[manifest.id] = Target(manifest.id, vehicle_id, low,
                                               tuple(devices[vehicle_id]))
        if work.manifests:
            numbers = col(Manifest.manifest_no).in_(work.manifests)
            for manifest_id, vehicle_id, no in session.execute(
                    select(Manifest.id, Manifest.vehicle_id, Manifest.manifest_no).where(numbers)).all():
                affected[manifest_id] = Target(manifest_id, vehicle_id, None, (), no)
        return [affected[i] for i in sorted(affected)]

    def _announce(self, raised: list[Finding]) -> None:
        if self.publish is None:
            return
        for finding in raised:
            body = json.dumps(findings.public(finding), default=str, ensure_ascii=False).encode()
            self.publish(alert_topic(finding), body)


@dataclass(frozen=True)
class Target:
    """A trip to examine: its manifest, the vehicle it is claimed by, the earliest new reading
    (None: read the whole trip) and the devices (or the manifest number) that brought it here."""

    manifest_id: int
    vehicle_id: int
    since: datetime | None
    devices: tuple[str, ...] = ()
    manifest_no: str | None = None


VEHICLE_LOCKS = 0x5746_4C56  # "WFLV": the advisory-lock namespace of live detection's vehicles


def claim_vehicle(session: Session, vehicle_id: int) -> bool:
    """Take the vehicle for this transaction, unless another process holds it (PostgreSQL: a
    transaction-scoped advisory lock, released at commit; SQLite: one process, always yours).

    Bridge workers on a shared subscription each receive any vehicle's messages, so each would
    examine the same trips: the claim makes sure a vehicle is examined by one of them at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    claim = text("SELECT pg_try_advisory_xact_lock(CAST(:ns AS integer), CAST(:vehicle AS integer))")
    return bool(session.execute(claim, {"ns": VEHICLE_LOCKS, "vehicle": vehicle_id}).scalar())


def alert_topic(finding: Finding) -> str:
    return f"wf/v1/alerts/{finding.severity}/{finding.code}"

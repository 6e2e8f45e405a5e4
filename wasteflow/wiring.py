"""Wiring live detection into the bridge process (the API reconciles at receipt: ``manifests/flows.py``)."""

from __future__ import annotations

from wasteflow.database import get_engine, utcnow
from wasteflow.monitoring.live_detector import LiveDetector
from wasteflow.monitoring.monitor import Clock, Monitor


def attach_live_detection(worker, clock: Clock = utcnow) -> LiveDetector:
    """Let a bridge worker drive live detection and the overdue watchdog, and publish alerts."""
    monitor = Monitor(worker.settings, clock=clock)
    detector = LiveDetector(get_engine(worker.settings.database_url), monitor, publish=worker.publish)
    worker.after_store.append(detector.after_store)
    detector.start()
    return detector

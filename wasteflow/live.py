"""Wiring live detection and receipt-time reconciliation into the processes that need them."""

from __future__ import annotations

from wasteflow.config import Settings
from wasteflow.database import get_engine, utcnow
from wasteflow.manifests import service as manifests
from wasteflow.monitoring.live import LiveDetector
from wasteflow.monitoring.monitor import Clock, Monitor


def install_receipt_reconciliation(settings: Settings, clock: Clock = utcnow) -> Monitor:
    """Reconcile every manifest in the transaction that signs its receipt.

    Each app installs its own monitor; the latest replaces any earlier one, so creating
    several apps in one process (the tests do) never reconciles a receipt twice.
    """
    monitor = Monitor(settings, clock=clock)
    manifests.receipt_hooks[:] = [hook for hook in manifests.receipt_hooks
                                  if not isinstance(getattr(hook, "__self__", None), Monitor)]
    manifests.receipt_hooks.append(monitor.on_receipt)
    return monitor


def attach_live_detection(worker, clock: Clock = utcnow) -> LiveDetector:
    """Let a bridge worker drive live detection and the overdue watchdog, and publish alerts."""
    monitor = Monitor(worker.settings, clock=clock)
    detector = LiveDetector(get_engine(worker.settings.database_url), monitor, publish=worker.publish)
    worker.after_store.append(lambda stored: detector.notify(stored.spans))
    detector.start()
    return detector

"""``python -m mqtt_bridge`` (or ``wasteflow bridge``): run one bridge worker until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading

from mqtt_bridge.worker import BridgeWorker
from wasteflow.config import get_settings


def main() -> int:
    logging.basicConfig(level=os.environ.get("WASTEFLOW_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    client_id = os.environ.get("WASTEFLOW_BRIDGE_CLIENT_ID") or f"{settings.bridge_client_id}-{socket.gethostname()}"
    worker = BridgeWorker(settings, client_id=client_id)
    from wasteflow.wiring import attach_live_detection
    attach_live_detection(worker)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if settings.bridge_metrics_http:
        worker.metrics.serve(settings.bridge_metrics_http)
    worker.start()
    logging.getLogger("wasteflow.bridge").info("bridge started; subscribed as %s", client_id)
    while not stop.wait(10):
        c = worker.counters
        logging.getLogger("wasteflow.bridge").info(
            "received %d, fixes %d (new %d), loads %d, tickets %d, quarantined %s, db errors %d",
            c.received, c.fixes, c.fixes_new, c.loads, c.tickets, c.quarantined, c.database_errors)
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

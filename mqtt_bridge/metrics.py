"""The bridge's Prometheus metrics, served on ``WASTEFLOW_BRIDGE_METRICS_HTTP`` (off when empty).

prometheus_client rather than hand-written exposition: counters, a latency histogram and
an HTTP endpoint that scrapers already understand, with nothing of ours to keep correct.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from mqtt_bridge.store import StoredBatch


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter("wasteflow_bridge_messages", "MQTT messages received", registry=r)
        self.readings = Counter("wasteflow_bridge_readings_stored", "Readings stored, by kind", ["kind"], registry=r)
        self.duplicates = Counter("wasteflow_bridge_duplicates", "Readings already stored (redelivered or resent)",
                                  ["kind"], registry=r)
        self.quarantined = Counter("wasteflow_bridge_quarantined", "Messages quarantined, by reason", ["reason"],
                                   registry=r)
        self.batches = Counter("wasteflow_bridge_batches", "Batches committed", registry=r)
        self.database_errors = Counter("wasteflow_bridge_database_errors",
                                       "Failed batch writes (retried, nothing acknowledged)", registry=r)
        self.lag = Histogram("wasteflow_bridge_lag_seconds", "Reading event time to durably stored",
                             buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400), registry=r)
        self.queue = Gauge("wasteflow_bridge_queue", "Messages received and not yet stored", registry=r)

    def observe(self, messages: int, stored: StoredBatch) -> None:
        self.messages.inc(messages)
        self.batches.inc()
        self.readings.labels("gps").inc(stored.fixes_new)
        self.readings.labels("load").inc(stored.loads_new)
        self.duplicates.labels("gps").inc(stored.fixes - stored.fixes_new)
        self.duplicates.labels("load").inc(stored.loads - stored.loads_new)
        for reason, count in stored.quarantined.items():
            self.quarantined.labels(reason).inc(count)
        now = datetime.now(UTC)
        for _low, high in stored.spans.values():
            self.lag.observe(max((now - high).total_seconds(), 0.0))

    def serve(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "0.0.0.0", registry=self.registry)

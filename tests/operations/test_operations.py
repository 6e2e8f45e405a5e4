"""What an operator relies on: metrics, request limits, and no secrets in the logs."""

from __future__ import annotations

import logging
import urllib.request
from datetime import UTC, datetime

import pytest

from mqtt_bridge.metrics import BridgeMetrics
from mqtt_bridge.store import StoredBatch
from tests.utils.world import auth


def test_api_metrics_count_quarantine_findings_and_manifests(world, client, engine):
    from wasteflow.database import session_scope
    from wasteflow.quarantine.models import QuarantinedMessage

    world.file()
    with session_scope(engine) as session:
        session.add(QuarantinedMessage(topic="wf/v1/dev/x/gps", payload=b"{", reason="not_json"))
        session.add(QuarantinedMessage(topic="wf/v1/dev/x/gps", payload=b"{", reason="not_json"))
    client.app.state.settings.metrics_key = "m-key-for-tests"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth(world.regulator)).status_code == 401
    text = client.get("/metrics", headers=auth("m-key-for-tests")).text
    assert 'wasteflow_quarantined_messages{reason="not_json"} 2' in text
    assert 'wasteflow_manifests{status="filed"} 1' in text
    assert "# TYPE wasteflow_findings_raised gauge" in text
    assert "wasteflow_telemetry_last_stored_age_seconds nan" in text


def test_api_metrics_are_not_served_without_a_metrics_key(world, client):
    """issue 12 item 9: /metrics is not for API keys; without WASTEFLOW_METRICS_KEY it is off."""
    assert client.app.state.settings.metrics_key == ""
    for headers in ({}, auth(world.admin), auth(world.regulator)):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 404 and "wasteflow_" not in response.text


def test_bridge_metrics_count_stored_duplicates_quarantine_and_lag():
    metrics = BridgeMetrics()
    now = datetime.now(UTC)
    metrics.observe(5, StoredBatch(fixes=4, fixes_new=3, spans={"gps-1": (now, now)},
                                   quarantined={"bad_signature": 1}))
    value = metrics.registry.get_sample_value
    assert value("wasteflow_bridge_messages_total") == 5
    assert value("wasteflow_bridge_readings_stored_total", {"kind": "gps"}) == 3
    assert value("wasteflow_bridge_duplicates_total", {"kind": "gps"}) == 1
    assert value("wasteflow_bridge_quarantined_total", {"reason": "bad_signature"}) == 1
    assert value("wasteflow_bridge_lag_seconds_count") == 1
    assert value("wasteflow_bridge_lag_seconds_bucket", {"le": "1.0"}) == 1


def test_bridge_metrics_are_served_over_http():
    from tests.utils.brokers import free_port

    metrics = BridgeMetrics()
    port = free_port()
    metrics.serve(f"127.0.0.1:{port}")
    metrics.messages.inc(7)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "wasteflow_bridge_messages_total 7.0" in body


def test_oversized_request_is_refused_and_changes_nothing(world, client):
    body = world.manifest_body(route={"type": "LineString", "coordinates": [[109.8, 40.6]] * 100_000})
    response = client.post("/v1/manifests", json=body, headers=auth(world.keys["generator"]))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert world.get("/v1/manifests", "generator").json()["items"] == []


def test_chunked_oversized_body_is_refused_too(world, client):
    def chunks():
        for _ in range(300):
            yield b" " * 4096

    response = client.post("/v1/manifests", content=chunks(), headers={**auth(world.keys["generator"]),
                                                                      "content-type": "application/json"})
    assert response.status_code == 413


def test_no_api_key_reaches_the_logs(world, client, caplog):
    caplog.set_level(logging.DEBUG)
    key = world.keys["generator"]
    client.get("/v1/manifests", headers=auth(key))
    client.get("/v1/manifests", headers=auth(key + "x"))
    client.post("/v1/manifests", json={"bogus": 1}, headers=auth(key))
    assert key not in caplog.text
    assert key[:20] not in caplog.text


@pytest.mark.mosquitto
def test_bridge_log_redacts_broker_credentials(tmp_path, db_url):
    from tests.utils.brokers import start_bridge_process, stop_process

    proc = start_bridge_process(db_url, "mqtt://wasteflow-bridge:s3cret-pass@127.0.0.1:1", "redaction-test",
                                log_dir=tmp_path)
    import time
    time.sleep(4)
    stop_process(proc)
    log = proc.log_path.read_text()
    assert "bridge started" in log
    assert "s3cret-pass" not in log

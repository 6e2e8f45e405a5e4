"""``wasteflow simulate`` against an API and a broker it does not own (here: in-process ones)."""

from __future__ import annotations

import json

import pytest

from mqtt_bridge.embedded import EmbeddedBroker
from mqtt_bridge.worker import BridgeWorker
from simulators.demo import ApiServer, free_port, fresh_database
from simulators.simulate import run_simulation
from wasteflow.auth.service import bootstrap_admin
from wasteflow.config import Settings
from wasteflow.database import get_engine, session_scope
from wasteflow.migrate import upgrade
from wasteflow.wiring import attach_live_detection

pytestmark = pytest.mark.slow


def test_simulate_registers_a_variant_and_plays_a_day(tmp_path):
    url = fresh_database(tmp_path / "db")
    upgrade(url)
    with session_scope(get_engine(url)) as session:
        admin = bootstrap_admin(session)
    with EmbeddedBroker() as broker:
        settings = Settings(database_url=url, mqtt_url=broker.url, mqtt_protocol="3.1.1",
                            bridge_client_id="simulate-test-bridge")
        worker = BridgeWorker(settings)
        detector = attach_live_detection(worker)
        worker.start()
        assert worker.wait_connected(10)
        server = ApiServer(settings, free_port())
        server.start()
        try:
            out = tmp_path / "report"
            rc = run_simulation(server.url, broker.url, admin, trips=14, seed=3, speedup=30_000,
                                protocol="3.1.1", variant="Q", out_dir=out)
            assert rc == 0
            numbers = json.loads((out / "report.json").read_text(encoding="utf-8"))
            assert numbers["manifests"] == 14
            assert numbers["clean_ok"]
            missed = {v["scenario"] for v in numbers["violations"] if not v["ok"]}
            # the API's own watchdog runs on the wall clock: the anchored day's deadline is still ahead
            assert missed <= {"overdue"}
            # a second copy of the region registers beside the first under another variant
            again = run_simulation(server.url, broker.url, admin, trips=2, seed=1, speedup=30_000,
                                   protocol="3.1.1", variant="Q", out_dir=tmp_path / "again")
            assert again == 2  # same variant: refused, nothing half-registered is used
        finally:
            server.stop()
            detector.stop()
            worker.stop()

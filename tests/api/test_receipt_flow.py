"""The receipt flow (``manifests/flows.py``): the route passes the app's monitor, which reconciles in the
receipt's own transaction; no hook registered anywhere else takes part."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.api import ledger_entries
from wasteflow.api.app import create_app
from wasteflow.api.deps import get_monitor
from wasteflow.monitoring.monitor import Monitor


class Recorder:
    def __init__(self, fail: bool = False):
        self.seen: list[tuple[str, str]] = []
        self.fail = fail

    def on_receipt(self, session, manifest) -> list:
        self.seen.append((manifest.manifest_no, manifest.status))
        if self.fail:
            raise RuntimeError("the reconciliation broke")
        return []


def dispatched(world) -> str:
    manifest_no = world.file()
    response = world.post(f"/v1/manifests/{manifest_no}/dispatch", {}, "generator")
    assert response.status_code == 200, response.text
    return manifest_no


def test_the_receipt_is_reconciled_by_the_apps_own_monitor(world):
    assert isinstance(world.client.app.state.monitor, Monitor)
    recorder = Recorder()
    world.client.app.dependency_overrides[get_monitor] = lambda: recorder
    manifest_no = dispatched(world)
    response = world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 29000}, "receiver")
    assert response.status_code == 200, response.text
    assert recorder.seen == [(manifest_no, "received")]
    assert response.json()["status"] == "received"  # the recorder does not reconcile: nothing else did either


def test_a_failed_reconciliation_undoes_the_receipt(world):
    manifest_no = dispatched(world)
    before = ledger_entries(world)
    world.client.app.dependency_overrides[get_monitor] = lambda: Recorder(fail=True)
    with pytest.raises(RuntimeError):
        world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 29000}, "receiver")
    world.client.app.dependency_overrides.clear()
    assert world.get(f"/v1/manifests/{manifest_no}", "regulator").json()["status"] == "dispatched"
    assert ledger_entries(world) == before


def test_apps_created_later_leave_an_earlier_apps_receipts_alone(world, settings):
    recorder = Recorder()
    world.client.app.dependency_overrides[get_monitor] = lambda: recorder
    with TestClient(create_app(settings)):
        manifest_no = dispatched(world)
        response = world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 29000}, "receiver")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "received" and recorder.seen == [(manifest_no, "received")]


def test_without_overrides_the_receipt_is_reconciled(world):
    manifest_no = dispatched(world)
    response = world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 29000}, "receiver")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "reconciled"

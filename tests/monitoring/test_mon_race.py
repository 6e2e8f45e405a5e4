"""A receipt committed while live detection holds a stale copy of the manifest is never undone."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from wasteflow.database import session_scope
from wasteflow.manifests.models import Manifest
from wasteflow.monitoring.recording import advance


def test_a_stale_phase_change_does_not_overwrite_a_receipt(world, engine):
    t0 = datetime.now(UTC) - timedelta(hours=2)
    number = world.file(at=(t0 - timedelta(minutes=5)).isoformat())
    assert world.post(f"/v1/manifests/{number}/dispatch", {"at": t0.isoformat()}, "generator").status_code == 200
    stale_session = Session(engine, expire_on_commit=False)
    stale = stale_session.exec(select(Manifest).where(Manifest.manifest_no == number)).one()
    assert stale.status == "dispatched"
    stale_session.expunge(stale)  # keep the copy as it was read, as a detector mid-run holds it
    stale_session.rollback()
    receipt = {"accepted_kg": 30000, "at": (t0 + timedelta(hours=1)).isoformat()}
    assert world.post(f"/v1/manifests/{number}/receive", receipt, "receiver").status_code == 200

    stale_session.add(stale)
    assert stale.status == "dispatched"
    assert advance(stale_session, stale, "depart", t0 + timedelta(minutes=3), {"reason": "test"}) is False
    stale_session.commit()
    stale_session.close()
    with session_scope(engine) as session:
        assert session.exec(select(Manifest.status).where(Manifest.manifest_no == number)).one() == "reconciled"
    kinds = [e["kind"] for e in world.get(f"/v1/manifests/{number}/ledger", "regulator").json()["entries"]]
    assert "manifest.in_transit" not in kinds

"""One request, one session, one transaction: the caller's key is read in the session the route works in."""

from __future__ import annotations

from sqlalchemy import event

from tests.utils.api import ledger_entries


def test_each_request_takes_one_connection(world, engine):
    manifest_no = world.file()
    checkouts: list[int] = []

    def count(*_args) -> None:
        checkouts.append(1)

    event.listen(engine, "checkout", count)
    try:
        for path in (f"/v1/manifests/{manifest_no}", "/v1/manifests", "/v1/findings", "/v1/sites"):
            checkouts.clear()
            assert world.get(path, "generator").status_code == 200, path
            assert len(checkouts) == 1, path
        checkouts.clear()
        assert world.post(f"/v1/manifests/{manifest_no}/dispatch", {}, "generator").status_code == 200
        assert len(checkouts) == 1
        checkouts.clear()
        assert world.get("/v1/ledger/export", "regulator").status_code == 200
        # the session gives its connection back when the route's transaction commits, and takes one again
        # to read the stream after it
        assert len(checkouts) == 2
    finally:
        event.remove(engine, "checkout", count)


def test_a_refused_request_commits_nothing(world):
    manifest_no = world.file()
    before = ledger_entries(world)
    response = world.post(f"/v1/manifests/{manifest_no}/dispatch", {"departure_ticket_no": "x" * 65}, "generator")
    assert response.status_code == 422
    response = world.post(f"/v1/manifests/{manifest_no}/receive", {"accepted_kg": 1}, "receiver")
    assert response.status_code == 409
    assert ledger_entries(world) == before
    assert world.get(f"/v1/manifests/{manifest_no}", "generator").json()["status"] == "filed"

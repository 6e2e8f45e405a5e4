"""Concurrent receive and reject of one manifest: exactly one wins, the other answers 409, and the
ledger records one history (issue 12 item 5). Real threads through the real API, on SQLite (the
transition's ``BEGIN IMMEDIATE``) and PostgreSQL (``SELECT ... FOR UPDATE``)."""

from __future__ import annotations

import json
import threading

ROUNDS = 25


def _race(world, no: str) -> list[int]:
    """Receive and reject ``no`` at once; the status codes, receive's first."""
    start = threading.Barrier(2)
    codes: dict[str, int] = {}

    def sign(action: str, body: dict) -> None:
        start.wait()
        codes[action] = world.post(f"/v1/manifests/{no}/{action}", body, "receiver").status_code

    threads = [threading.Thread(target=sign, args=("receive", {"accepted_kg": 30000})),
               threading.Thread(target=sign, args=("reject", {"reason": "contaminated load"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    return [codes["receive"], codes["reject"]]


def test_receive_and_reject_racing_exactly_one_wins(world):
    wins = {"receive": 0, "reject": 0}
    for _ in range(ROUNDS):
        no = world.file()
        assert world.post(f"/v1/manifests/{no}/dispatch", {}, "generator").status_code == 200
        received, rejected = _race(world, no)
        assert sorted([received, rejected]) == [200, 409], (no, received, rejected)
        status = world.get(f"/v1/manifests/{no}", "regulator").json()["status"]
        if received == 200:
            wins["receive"] += 1
            assert status in ("received", "reconciled"), status
        else:
            wins["reject"] += 1
            assert status == "rejected", status
        history = [e["kind"] for e in ledger_entries_of(world, no)]
        outcomes = [k for k in history if k in ("manifest.received", "manifest.rejected")]
        assert outcomes == ["manifest.received" if received == 200 else "manifest.rejected"], history
    assert sum(wins.values()) == ROUNDS
    verified = world.get("/v1/ledger/verify", "regulator").json()
    assert verified["ok"] is True, verified
    print(wins)


def ledger_entries_of(world, no: str) -> list[dict]:
    response = world.get("/v1/ledger/export", "regulator")
    assert response.status_code == 200, response.text
    entries = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return [e for e in entries if e.get("manifest_no") == no]

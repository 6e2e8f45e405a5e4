"""The hash-chained ledger: every change appends, verification finds tampering, the export verifies offline."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import wasteflow.ledger_verify
from tests.utils.api import ledger_entries, parse, problem, violation


def export_lines(world, who: str = "regulator") -> list[str]:
    response = world.get("/v1/ledger/export", who)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [line for line in response.text.split("\n") if line]


def run_verifier(path: Path, *, standalone: Path | None = None) -> subprocess.CompletedProcess:
    if standalone is None:
        command = [sys.executable, "-m", "wasteflow.ledger_verify", str(path)]
        cwd = None
    else:  # the copied file alone, without site-packages: only the standard library is there
        command = [sys.executable, "-I", "-S", "ledger_verify.py", str(path)]
        cwd = standalone
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def busy_world(world):
    """A few manifests through every kind of state change: 4 filed, 3 dispatched, 1 received,
    1 rejected, 1 cancelled."""
    world.numbers = [world.file() for _ in range(4)]
    a, b, c, d = world.numbers
    start = datetime.now(UTC)
    for no in (a, b, c):
        assert world.post(f"/v1/manifests/{no}/dispatch", {"departure_ticket_no": f"T-{no[-3:]}"},
                          "generator").status_code == 200
    assert world.post(f"/v1/manifests/{a}/receive", {"accepted_kg": 29_950}, "receiver").status_code == 200
    assert world.post(f"/v1/manifests/{b}/reject", {"reason": "contaminated: 湿灰"}, "receiver").status_code == 200
    assert world.post(f"/v1/manifests/{d}/cancel", {"reason": "no truck"}, "generator").status_code == 200
    world.started = start
    return world


def test_every_change_is_an_entry(world):
    assert ledger_entries(world) == 0
    no = world.file()
    assert ledger_entries(world) == 1
    dispatched_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    dispatched_at = min(dispatched_at, datetime.now(UTC))
    world.post(f"/v1/manifests/{no}/dispatch", {"at": dispatched_at.isoformat()}, "generator")
    assert ledger_entries(world) == 2
    world.post(f"/v1/manifests/{no}/receive", {"accepted_kg": 29_800, "arrival_ticket_no": "IN-7"}, "receiver")
    total = ledger_entries(world)
    assert total >= 3  # the receipt, and whatever the reconciliation it triggers records
    entries = [json.loads(line) for line in export_lines(world)]
    assert [e["seq"] for e in entries] == list(range(1, total + 1))
    assert [e["kind"] for e in entries[:3]] == ["manifest.filed", "manifest.dispatched", "manifest.received"]
    assert {e["manifest_no"] for e in entries} == {no}
    assert entries[0]["prev_hash"] == "0" * 64
    assert all(entries[i]["prev_hash"] == entries[i - 1]["hash"] for i in range(1, total))
    assert set(entries[0]) == {"seq", "prev_hash", "hash", "at", "recorded_at", "kind", "manifest_no", "body"}
    assert entries[0]["body"]["waste_code"] == "SW02" and entries[0]["body"]["declared_kg"] == 30000
    assert parse(entries[1]["at"]) == dispatched_at  # the event time, and separately the recording time
    assert parse(entries[1]["recorded_at"]) >= parse(entries[1]["at"])
    assert entries[2]["body"]["accepted_kg"] == 29_800 and entries[2]["body"]["arrival_ticket_no"] == "IN-7"
    assert entries[2]["body"]["status"] == "received" and entries[2]["body"]["from"] == "dispatched"
    assert all(wasteflow.ledger_verify.entry_hash(e) == e["hash"] for e in entries)


def test_verify_counts_all_kinds(busy_world):
    response = busy_world.get("/v1/ledger/verify", "regulator")
    assert response.status_code == 200, response.text
    kinds = [json.loads(line)["kind"] for line in export_lines(busy_world)]
    body = response.json()
    assert {k: body[k] for k in ("ok", "entries")} == {"ok": True, "entries": len(kinds)}
    assert re.fullmatch(r"[0-9a-f]{64}", body["head_hash"])
    signatures = [k for k in kinds if k in ("manifest.filed", "manifest.dispatched", "manifest.received",
                                            "manifest.rejected", "manifest.cancelled")]
    assert sorted(signatures) == sorted(["manifest.filed"] * 4 + ["manifest.dispatched"] * 3 +
                                        ["manifest.received", "manifest.rejected", "manifest.cancelled"])


def test_failed_requests_append_nothing(busy_world):
    world = busy_world
    c = world.numbers[2]
    before = world.get(f"/v1/manifests/{c}", "receiver").json()
    entries = ledger_entries(world)
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    violation(world.post(f"/v1/manifests/{c}/receive", {"accepted_kg": 1, "at": future}, "receiver"),
              "at_in_future", "at")
    violation(world.post(f"/v1/manifests/{c}/receive", {"accepted_kg": 1, "arrival_ticket_no": "IN-9",
                                                        "at": "2000-01-01T00:00:00Z"}, "receiver"),
              "at_before_previous", "at")
    problem(world.post(f"/v1/manifests/{c}/receive", {"accepted_kg": 1}, "outsider"), 404)
    problem(world.post(f"/v1/manifests/{c}/receive", {"accepted_kg": 1}, "generator"), 403)
    problem(world.post(f"/v1/manifests/{c}/dispatch", {"departure_ticket_no": "OTHER"}, "generator"), 409)
    problem(world.post(f"/v1/manifests/{c}/cancel", {"reason": "changed my mind"}, "generator"), 409)
    after = world.get(f"/v1/manifests/{c}", "receiver").json()
    assert after == before
    assert after["status"] == "dispatched" and after["accepted_kg"] is None and after["arrival_ticket_no"] is None
    assert after["departure_ticket_no"] == before["departure_ticket_no"]
    assert ledger_entries(world) == entries


def test_only_overseers_verify_and_export(busy_world):
    for who in ("generator", "transporter", "receiver", "outsider"):
        problem(busy_world.get("/v1/ledger/verify", who), 403, slug="forbidden")
        problem(busy_world.get("/v1/ledger/export", who), 403, slug="forbidden")
    assert busy_world.get("/v1/ledger/verify", "admin").json()["ok"] is True
    problem(busy_world.client.get("/v1/ledger/export"), 401)


def test_edit_behind_the_api_is_found(busy_world, engine, db_kind):
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL refuses the edit itself (see test_postgres_ledger_is_append_only)")
    total = ledger_entries(busy_world)
    with engine.begin() as conn:
        body = json.loads(conn.execute(text("SELECT body FROM ledger_entry WHERE seq = 6")).scalar_one())
        body["accepted_kg"] = 1 if "accepted_kg" in body else body.get("accepted_kg")
        body["by"] = "enterprise:999"
        conn.execute(text("UPDATE ledger_entry SET body = :b WHERE seq = 6"),
                     {"b": json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)})
    response = busy_world.get("/v1/ledger/verify", "regulator")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False and result["broken_at"] == 6 and result["entries"] == total
    assert "edited" in result["reason"] or "hash" in result["reason"]


def test_delete_behind_the_api_is_found(busy_world, engine, db_kind):
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL refuses the deletion itself")
    total = ledger_entries(busy_world)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entry WHERE seq = 4"))
    result = busy_world.get("/v1/ledger/verify", "regulator").json()
    assert result["ok"] is False and result["broken_at"] in (4, 5) and result["entries"] == total - 1


def test_postgres_ledger_is_append_only(busy_world, engine, db_kind):
    if db_kind != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    total = ledger_entries(busy_world)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE ledger_entry SET body = '{}' WHERE seq = 2"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entry WHERE seq = :s"), {"s": total})
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entry"))
    body = busy_world.get("/v1/ledger/verify", "regulator").json()
    assert (body["ok"], body["entries"]) == (True, total)


def test_export_verifies_offline_and_tampering_is_named(busy_world, tmp_path):
    lines = export_lines(busy_world)
    total = len(lines)
    assert total == ledger_entries(busy_world) >= 10
    good = tmp_path / "ledger.jsonl"
    good.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_verifier(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"OK {total} entries"

    standalone = tmp_path / "alone"
    standalone.mkdir()
    shutil.copy(Path(wasteflow.ledger_verify.__file__), standalone / "ledger_verify.py")
    result = run_verifier(good, standalone=standalone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"OK {total} entries"

    def tampered(name: str, new_lines: list[str]) -> subprocess.CompletedProcess:
        path = tmp_path / name
        path.write_text("\n".join(new_lines) + "\n", encoding="utf-8")
        for alone in (None, standalone):
            result = run_verifier(path, standalone=alone)
            assert result.returncode == 1, (name, result.stdout, result.stderr)
        return result

    edited = list(lines)
    entry = json.loads(edited[4])
    entry["body"]["declared_kg"] = entry["body"].get("declared_kg", 0) + 1
    edited[4] = json.dumps(entry, ensure_ascii=False)
    assert "BROKEN at entry 5" in tampered("edited.jsonl", edited).stdout

    rehashed = list(lines)  # edit and recompute its own hash: the next entry's prev_hash breaks
    entry = json.loads(rehashed[6])
    entry["kind"] = "manifest.cancelled"
    entry["hash"] = wasteflow.ledger_verify.entry_hash(entry)
    rehashed[6] = json.dumps(entry, ensure_ascii=False)
    assert "BROKEN at entry 8" in tampered("rehashed.jsonl", rehashed).stdout

    deleted = lines[:3] + lines[4:]
    assert "BROKEN at entry 4" in tampered("deleted.jsonl", deleted).stdout or \
        "BROKEN at entry 5" in tampered("deleted.jsonl", deleted).stdout

    swapped = list(lines)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    assert "BROKEN at entry" in tampered("swapped.jsonl", swapped).stdout
    assert ("entry 3" in tampered("swapped.jsonl", swapped).stdout
            or "entry 4" in tampered("swapped.jsonl", swapped).stdout)

    first_gone = lines[1:]
    assert "BROKEN at entry" in tampered("first_gone.jsonl", first_gone).stdout

    # the last entry deleted is not detectable from the file alone, but the count says so
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert run_verifier(truncated).stdout.strip() == f"OK {total - 1} entries"


def test_verifier_usage_and_garbage(tmp_path):
    usage = subprocess.run([sys.executable, "-m", "wasteflow.ledger_verify"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 2 and "usage" in usage.stdout
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "wasteflow.ledger_verify", str(garbage)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "wasteflow.ledger_verify", str(empty)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "OK 0 entries"


def test_verify_entries_pure():
    from wasteflow.ledger_verify import GENESIS_HASH, entry_hash, verify_entries
    chain, prev = [], GENESIS_HASH
    for seq in range(1, 4):
        entry = {"seq": seq, "prev_hash": prev, "at": "2026-11-23T00:00:00.000000Z",
                 "recorded_at": "2026-11-23T00:00:01.000000Z", "kind": "manifest.filed",
                 "manifest_no": f"WF-150202-20261123-{seq:06d}", "body": {"n": seq, "名": "粉煤灰"}}
        entry["hash"] = prev = entry_hash(entry)
        chain.append(entry)
    assert verify_entries(chain) == (True, 3, None, None)
    ok, _count, broken_at, reason = verify_entries([chain[0], chain[2]])
    assert not ok and broken_at == 3 and "deleted" in reason
    bad = dict(chain[1], body={"n": 99})
    ok, _count, broken_at, _reason = verify_entries([chain[0], bad, chain[2]])
    assert not ok and broken_at == 2


def test_deleting_the_last_entry_is_caught_against_the_head(client, world, engine, db_kind):
    """Removing the chain's tail leaves a valid prefix; the head still remembers how long it was."""
    from sqlalchemy import text

    world.file()
    before = world.get("/v1/ledger/verify", "regulator").json()
    assert before["ok"] is True and before["head_hash"]
    with engine.begin() as conn:
        if db_kind == "postgresql":
            conn.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only"))
        conn.execute(text("DELETE FROM ledger_entry WHERE seq = (SELECT max(seq) FROM ledger_entry)"))
        if db_kind == "postgresql":
            conn.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only"))
    after = world.get("/v1/ledger/verify", "regulator").json()
    assert after["ok"] is False
    assert after["broken_at"] == before["entries"]
    assert "removed from its end" in after["reason"]

"""The spool killed at any moment: a process weighing trucks into it is SIGKILLed again and again
and restarted; afterwards every pair of weighings made exactly one ticket, the numbers run
1..n without a gap or a repeat, and every ticket's stored bytes are signed and name its pair."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time

from mqtt_bridge.gateways.scale.spool import Spool
from mqtt_bridge.signing import verify
from tests.utils.brokers import REPO
from tests.utils.scale import KILL_DAY, KILL_PLATES

KILLS = 12


def weighings_in(path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT count(*) FROM weighing").fetchone()[0]
        except sqlite3.OperationalError:  # killed before the schema was made
            return 0


def start_worker(path) -> subprocess.Popen:
    code = f"from tests.utils.scale import spool_worker; spool_worker({str(path)!r})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_spool_killed_again_and_again_loses_nothing_and_numbers_each_pair_once(tmp_path):
    path = tmp_path / "spool.db"
    rng = random.Random(11)
    progress = []
    for _ in range(KILLS):
        worker = start_worker(path)
        assert worker.stdout is not None and worker.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.4))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        progress.append(weighings_in(path))
    print("weighings in the spool after each kill:", progress)
    killed_mid_run = sum(1 for before, after in zip([0] + progress, progress, strict=False)
                         if before < after < 2 * KILL_PLATES)
    final = start_worker(path)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0 and out.split() == [b"ready", b"done"], err.decode()[-2000:]
    assert killed_mid_run >= KILLS // 2, f"the kills must land while the worker is writing: {progress}"

    spool = Spool(path, "wb-1", "s3cret")
    made = spool.tickets()
    numbers = [no for no, _, _ in made]
    assert sorted(numbers) == [f"wb-1-{KILL_DAY}-{n:05d}" for n in range(1, KILL_PLATES + 1)]
    weighings = spool.db.execute("SELECT plate, kg, ticket_no FROM weighing ORDER BY id").fetchall()
    assert len(weighings) == 2 * KILL_PLATES and all(ticket for _, _, ticket in weighings)
    by_ticket: dict[str, list[tuple[str, int]]] = {}
    for plate, kg, ticket in weighings:
        by_ticket.setdefault(ticket, []).append((plate, kg))
    for no, raw, _ in made:
        body = json.loads(raw)
        assert verify("wb-1", "s3cret", body) and body["ticket_no"] == no and body["seq"] == int(no[-5:])
        pair = by_ticket[no]
        assert len(pair) == 2 and {p for p, _ in pair} == {body["plate"]}
        assert (body["gross_kg"], body["tare_kg"]) == (max(kg for _, kg in pair), min(kg for _, kg in pair))
    assert spool.db.execute("SELECT count(*) FROM plate_call").fetchone()[0] == 0
    spool.close()

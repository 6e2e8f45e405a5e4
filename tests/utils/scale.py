"""The scale gateway as a process of its own (``wasteflow gateway scale``), for tests and the demo:
start it against an indicator, call its plate listener, kill it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.utils.brokers import free_port, wait_port


@dataclass
class ScaleGatewayProcess:
    device_id: str
    secret: str
    indicator_port: int
    fmt: str
    spool: Path
    mqtt_url: str
    log_path: Path
    plate_port: int = 0
    hold_s: float = 1.0
    process: subprocess.Popen | None = None

    def start(self) -> ScaleGatewayProcess:
        self.plate_port = self.plate_port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
        env.update({"WASTEFLOW_MQTT_URL": self.mqtt_url, "WASTEFLOW_DEVICE_SECRET": self.secret,
                    "PYTHONUNBUFFERED": "1"})
        command = [sys.executable, "-m", "wasteflow.cli", "gateway", "scale", "--device", self.device_id,
                   "--tcp", f"127.0.0.1:{self.indicator_port}", "--format", self.fmt, "--spool", str(self.spool),
                   "--plate-listen", f"127.0.0.1:{self.plate_port}", "--hold-s", str(self.hold_s)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        wait_port(self.plate_port, timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to tidy up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.plate_port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def plate(self, plate: str, manifest_no: str | None = None, weighing_id: int | None = None) -> dict:
        body: dict = {"plate": plate}
        if manifest_no:
            body["manifest_no"] = manifest_no
        if weighing_id is not None:
            body["weighing_id"] = weighing_id
        status, answer = self.call("POST", "/plate", body)
        assert status in (200, 202), answer
        return answer  # type: ignore[return-value]

    def weighings(self, unassigned: bool = False) -> list[dict]:
        status, answer = self.call("GET", "/weighings?unassigned=1" if unassigned else "/weighings")
        assert status == 200, answer
        return answer  # type: ignore[return-value]

    def wait_weighings(self, n: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            made = self.weighings()
            if len(made) >= n:
                return made
            time.sleep(0.1)
        raise TimeoutError(f"{n} weighings expected, {len(self.weighings())} made; see {self.log_path}")


KILL_PLATES = 120
KILL_DAY = "20261123"


WEIGHING_PACE_S = 0.008
"""A pause after each weighing (a real one takes seconds): on a quiet machine the whole run would
otherwise be written before the first kill lands."""


def spool_worker(path: str, plates: int = KILL_PLATES) -> None:
    """Weigh ``plates`` trucks twice each into the spool at ``path``, acknowledging every other ticket,
    picking up where an earlier (killed) run stopped. Run as a process of its own, to be killed."""
    from datetime import UTC, datetime, timedelta

    from mqtt_bridge.gateways.scale.spool import Spool

    spool = Spool(path, "wb-1", "s3cret")
    done = dict(spool.db.execute("SELECT plate, count(*) FROM weighing GROUP BY plate").fetchall())
    base = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    print("ready", flush=True)
    for i in range(plates):
        plate = f"P{i:04d}"
        for k in range(done.get(plate, 0), 2):
            at = base + timedelta(minutes=3 * i + k)
            spool.post_plate(plate, None, at)
            _, ticket_no = spool.record_weighing(15000 if k == 0 else 40000 + i, at)
            if ticket_no and i % 2:
                spool.acknowledged(ticket_no)
            time.sleep(WEIGHING_PACE_S)
    print("done", flush=True)

"""``wasteflow webhooks`` as its own process: it delivers what the API committed, and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.utils.webhooks import endpoint
from tests.utils.workflow import ok


def test_the_worker_process_delivers_and_stops_on_sigterm(world, db_url):
    with endpoint() as firm:
        ok(world.post("/v1/webhooks", {"url": firm.url, "events": ["manifest.filed"]}, "generator"), 201)
        manifest_no = world.file()
        env = {**os.environ, "WASTEFLOW_DATABASE_URL": db_url, "WASTEFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
               "WASTEFLOW_WEBHOOK_POLL_S": "0.1"}
        process = subprocess.Popen([sys.executable, "-m", "wasteflow.cli", "webhooks"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not firm.received and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [json.loads(b)["id"] for b in firm.bodies()] == [manifest_no]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err.decode()

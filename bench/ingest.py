"""Ingest benchmark: devices -> Mosquitto (shipped config) -> bridge -> PostgreSQL.

    python -m bench.ingest                      # 200,000 single fixes, 3 runs, medians
    python -m bench.ingest --batch 50           # gps batch payloads of 50 fixes each
    python -m bench.ingest --workers 2          # two bridges on the shared subscription

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.baselines import competent_main, naive_main  # noqa: E402
from bench.databases import create_database, drop_database, libpq_url, sealed  # noqa: E402
from tests.utils.brokers import Publisher, start_bridge_process, start_mosquitto, stop_process, wait_for_log  # noqa: E402

# --- database ---------------------------------------------------------------------------------


def register_devices(url: str, n: int) -> list[tuple[str, str]]:
    """n gps devices that must sign; registered straight into the table (no API in the way)."""
    devices = [(f"bench-gps-{i:04d}", f"secret-{i:04d}-{uuid.uuid4().hex[:12]}") for i in range(n)]
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO device (id, kind, vehicle_id, site_id, sealed_secret, require_signature, "
                            "created_at) VALUES (%s, 'gps', NULL, NULL, %s, true, %s)",
                            [(d, sealed(url, d, s), now) for d, s in devices])
    return devices


# --- the publishing process --------------------------------------------------------------------


def publisher_main(mqtt_url: str, devices, n_fixes: int, batch: int, window: int, go, results,
                   rate: float = 0.0) -> None:
    """Publish ``n_fixes`` QoS 1 as fast as the broker acknowledges them, at most ``window`` unacknowledged.

    ``rate`` > 0 paces the stream at that many fixes/s (0: as fast as possible).
    Every fix's ``ts`` is the moment its message is built and sent, so ``received_at - ts``
    in the store is the publish-to-stored latency. One thread drives paho's loop by hand
    (no loop_start): a network thread fighting the publishing thread for the GIL halves
    the rate.
    """
    import paho.mqtt.client as mqtt

    from mqtt_bridge.signing import signed_payload
    from mqtt_bridge.worker import BrokerAddress

    acked = 0
    connected = False

    def on_publish(_c, _u, _mid, _rc, _p):
        nonlocal acked
        acked += 1

    def on_connect(_c, _u, _f, reason_code, _p):
        nonlocal connected
        connected = not reason_code.is_failure

    address = BrokerAddress.parse(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    client.on_publish, client.on_connect = on_publish, on_connect
    client.connect(address.host, address.port, keepalive=60)
    while not connected:
        client.loop(0.05)
    results.put("ready")
    go.wait()
    n_devices = len(devices)
    topics = [f"wf/v1/dev/{d}/gps" for d, _ in devices]
    n_messages = (n_fixes + batch - 1) // batch
    seq = [0] * n_devices
    started = time.time()
    for i in range(n_messages):
        if i % 64 == 0:
            client.loop(0)
        while i - acked >= window:
            client.loop(0.002)
        if rate:
            due = started + i * batch / rate
            while time.time() < due:
                client.loop(min(0.002, max(due - time.time(), 0)))
        k = i % n_devices
        device_id, secret = devices[k]
        ts = datetime.now(UTC).isoformat()
        count = min(batch, n_fixes - i * batch)
        items = []
        for _ in range(count):
            seq[k] += 1
            items.append({"seq": seq[k], "ts": ts, "lat": 40.6 + (seq[k] % 997) * 1e-4,
                          "lon": 109.8 + (i % 991) * 1e-4, "speed_kmh": 40.5, "heading": 90, "hdop": 0.9})
        body = items[0] if batch == 1 else {"batch": items}
        client.publish(topics[k], signed_payload(device_id, secret, body), qos=1)
    sent = time.time()
    while acked < n_messages and time.time() - sent < 300:
        client.loop(0.01)
    finished = time.time()
    client.disconnect()
    results.put({"messages": n_messages, "started": started, "sent": sent, "acked": finished,
                 "acked_count": acked})


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    label: str
    fixes: int
    messages: int = 0
    publish_rate: float = 0.0       # fixes/s the publisher got acknowledged by the broker
    stored_rate: float = 0.0        # sustained fixes/s into the store
    avg_batch: float = 0.0          # rows per store transaction (distinct received_at)
    p50_ms: float = 0.0             # received_at - ts
    p99_ms: float = 0.0
    p99_visible_ms: float = 0.0     # ts -> first poll that saw the row committed (upper bound)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0        # the bridge processes' peak resident memory (VmHWM), largest
    cpu_s: float = 0.0              # CPU seconds (user + system) of the consuming process(es) during the stream
    cpu_us_per_fix: float = 0.0     # cpu_s per stored fix, in microseconds
    cpu_us_per_msg: float = 0.0     # cpu_s per MQTT message, in microseconds
    notes: list[str] = field(default_factory=list)


class CountPoller:
    """Polls count(*) every ``interval`` s: when each committed row first became visible."""

    def __init__(self, pg_url: str, interval: float = 0.05):
        self.pg_url, self.interval = libpq_url(pg_url), interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> CountPoller:
        self._thread.start()
        return self

    def _run(self) -> None:
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            while not self._stop.is_set():
                n = _count(conn, "SELECT count(*) FROM gps_fix")
                self.samples.append((time.time(), n))
                self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def latest(self) -> int:
        return self.samples[-1][1] if self.samples else 0


def analyse(pg_url: str, poller: CountPoller, result: RunResult) -> None:
    import numpy as np

    with psycopg.connect(libpq_url(pg_url)) as conn:
        rows = conn.execute("SELECT extract(epoch FROM received_at)::float8, extract(epoch FROM ts)::float8 "
                            "FROM gps_fix").fetchall()
    received = np.array([r[0] for r in rows])
    ts = np.array([r[1] for r in rows])
    latency = received - ts
    result.p50_ms = float(np.percentile(latency, 50) * 1000)
    result.p99_ms = float(np.percentile(latency, 99) * 1000)
    batches, sizes = np.unique(received, return_counts=True)
    result.avg_batch = float(sizes.mean())
    if len(batches) > 1:
        # the first batch's rows were written at batches[0]: count what came after it
        result.stored_rate = float((sizes.sum() - sizes[0]) / (batches[-1] - batches[0]))
    # visibility: the batch whose cumulative count is C is visible at the first poll seeing >= C
    # (exact for one writer committing in received_at order; an upper bound by one poll interval)
    poll_t = np.array([t for t, _ in poller.samples])
    poll_n = np.array([n for _, n in poller.samples])
    cumulative = np.cumsum(sizes)
    idx = np.searchsorted(np.maximum.accumulate(poll_n), cumulative, side="left")
    idx = np.minimum(idx, len(poll_t) - 1)
    visible_at = dict(zip(batches.tolist(), poll_t[idx].tolist(), strict=False))
    visible = np.array([visible_at[r] for r in received.tolist()]) - ts
    result.p99_visible_ms = float(np.percentile(visible, 99) * 1000)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BASELINES = {"naive": naive_main, "competent": competent_main}


def run_once(args, label: str, consumer: str, n_fixes: int, workdir: Path) -> RunResult:
    """One stream into a fresh database; ``consumer``: ``bridge``, or one of :data:`BASELINES`."""
    result = RunResult(label=label, fixes=n_fixes)
    name, url = create_database()
    broker = None
    bridges: list[Any] | None = None  # Popen objects with a log_path
    naive_proc: BaseProcess | None = None
    ctx = mp.get_context("spawn")
    try:
        devices = register_devices(url, args.devices)
        broker = start_mosquitto(workdir, overrides=dict(kv.split("=", 1) for kv in args.mosquitto))
        if consumer in BASELINES:
            ready = ctx.Event()
            naive_proc = ctx.Process(target=BASELINES[consumer], args=(broker.url, url, ready), daemon=True)
            naive_proc.start()
            if not ready.wait(30):
                raise RuntimeError(f"{consumer} consumer did not subscribe")
        else:
            env = {"WASTEFLOW_BRIDGE_BATCH_SIZE": str(args.batch_size), "WASTEFLOW_BRIDGE_BATCH_MS": str(args.batch_ms),
                   "WASTEFLOW_LOG_LEVEL": "INFO"}
            group = "bench" if args.workers > 1 else ""
            bridges = [start_bridge_process(url, broker.url, f"bench-bridge-{i}", shared_group=group, extra_env=env,
                                            log_dir=workdir) for i in range(args.workers)]
            for proc in bridges:
                wait_for_log(proc, "connected to", timeout=60)
            wait_subscribed(broker.url, url, devices[0][0], len(bridges))
        poller = CountPoller(url).start()
        results, go = ctx.Queue(), ctx.Event()
        n_pub = max(1, args.publishers)
        pubs = []
        for j in range(n_pub):
            share = n_fixes // n_pub + (1 if j < n_fixes % n_pub else 0)
            pubs.append(ctx.Process(target=publisher_main, daemon=True, args=(
                broker.url, devices[j::n_pub], share, args.batch, args.window, go, results, args.rate / n_pub)))
        for proc in pubs:
            proc.start()
        for _ in pubs:
            assert results.get(timeout=60) == "ready"
        consuming = bridges or [naive_proc]
        consumer_pids: list[int] = [proc.pid for proc in consuming if proc is not None and proc.pid is not None]
        cpu_before = sum(cpu_seconds(pid) for pid in consumer_pids)
        go.set()
        t0 = time.time()
        reports = [results.get(timeout=args.timeout) for _ in pubs]
        for proc in pubs:
            proc.join(10)
        result.messages = sum(r["messages"] for r in reports)
        result.publish_rate = n_fixes / max(max(r["acked"] for r in reports) - min(r["started"] for r in reports),
                                            1e-9)
        deadline = time.time() + args.timeout
        while poller.latest() < n_fixes and time.time() < deadline:
            time.sleep(0.1)
        result.cpu_s = sum(cpu_seconds(pid) for pid in consumer_pids) - cpu_before
        time.sleep(0.2)
        poller.stop()
        result.seconds = time.time() - t0
        stored = poller.latest()
        result.cpu_us_per_fix = result.cpu_s / max(stored, 1) * 1e6
        result.cpu_us_per_msg = result.cpu_s / max(result.messages * stored / n_fixes, 1) * 1e6
        if stored != n_fixes:
            result.notes.append(f"stored {stored} of {n_fixes}")
        analyse(url, poller, result)
        if bridges:
            for proc in bridges:
                log = Path(proc.log_path).read_text(errors="replace")
                if "database unavailable" in log or "Traceback" in log:
                    result.notes.append(f"{proc.log_path}: errors in the bridge log")
    finally:
        if bridges:
            result.peak_rss_mb = max(peak_rss_mb(proc.pid) for proc in bridges)
        for proc in bridges or []:
            stop_process(proc)
        if naive_proc is not None:
            naive_proc.kill()
            naive_proc.join(5)
        if broker is not None:
            broker.stop()
        if not args.keep:
            drop_database(name)
    return result


def _count(conn: psycopg.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return row[0] if row else 0


def wait_subscribed(mqtt_url: str, pg_url: str, device_id: str, n_bridges: int, timeout: float = 30) -> None:
    """Status probes until the bridges have stored them (shared subscription: enough probes for each)."""
    deadline = time.time() + timeout
    with Publisher(mqtt_url) as pub, psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        while time.time() < deadline:
            for _ in range(4 * n_bridges):
                pub.publish_one(f"wf/v1/dev/{device_id}/status", b"online")
            time.sleep(0.3)
            if _count(conn, "SELECT count(*) FROM device_status"):
                time.sleep(0.5 if n_bridges > 1 else 0)
                conn.execute("TRUNCATE device_status")
                return
    raise TimeoutError("the bridge never stored a status probe")


# --- output --------------------------------------------------------------------------------------


COLUMNS = [("mode", 30, "{}"), ("cpu µs/fix", 10, "{:.1f}"), ("cpu µs/msg", 10, "{:.1f}"),
           ("fixes", 8, "{}"), ("msgs", 8, "{}"), ("pub fixes/s", 11, "{:.0f}"),
           ("stored fixes/s", 14, "{:.0f}"), ("avg txn", 8, "{:.0f}"), ("p50 ms", 7, "{:.0f}"),
           ("p99 ms", 7, "{:.0f}"), ("p99 vis ms", 10, "{:.0f}"), ("peak MB", 8, "{:.0f}")]


def peak_rss_mb(pid: int) -> float:
    """Peak resident set of a live process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def print_table(rows: list[RunResult]) -> None:
    header = "  ".join(name.ljust(w) if i == 0 else name.rjust(w) for i, (name, w, _) in enumerate(COLUMNS))
    print(header)
    print("-" * len(header))
    for r in rows:
        values = [r.label, r.cpu_us_per_fix, r.cpu_us_per_msg, r.fixes, r.messages,
                  r.publish_rate, r.stored_rate, r.avg_batch, r.p50_ms, r.p99_ms,
                  r.p99_visible_ms, r.peak_rss_mb]
        cells = [fmt.format(v).ljust(w) if i == 0 else fmt.format(v).rjust(w)
                 for i, ((_, w, fmt), v) in enumerate(zip(COLUMNS, values, strict=False))]
        print("  ".join(cells) + ("   " + "; ".join(r.notes) if r.notes else ""))


def median_result(label: str, runs: list[RunResult]) -> RunResult:
    med = RunResult(label=label, fixes=runs[0].fixes, messages=runs[0].messages)
    for attr in ("publish_rate", "stored_rate", "avg_batch", "p50_ms", "p99_ms", "p99_visible_ms", "seconds",
                 "peak_rss_mb", "cpu_s", "cpu_us_per_fix", "cpu_us_per_msg"):
        setattr(med, attr, statistics.median(getattr(r, attr) for r in runs))
    med.notes = sorted({n for r in runs for n in r.notes})
    return med


def main(argv: list[str] | None = None) -> list[RunResult]:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixes", type=int, default=200_000, help="fixes per bridge run (default 200,000)")
    parser.add_argument("--batch", type=int, default=1, help="fixes per MQTT message: 1 = single fixes, "
                                                              "50 = gps batch payloads of 50")
    parser.add_argument("--workers", type=int, default=1, help="bridge processes (>1: shared subscription)")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="WASTEFLOW_BRIDGE_BATCH_SIZE (messages per transaction) for the bridge; "
                             "default 5000 for single fixes, 20000 // --batch for batch payloads")
    parser.add_argument("--batch-ms", type=int, default=200, help="WASTEFLOW_BRIDGE_BATCH_MS for the bridge")
    parser.add_argument("--window", type=int, default=5000,
                        help="messages the publisher keeps unacknowledged (paho max inflight)")
    parser.add_argument("--rate", type=float, default=0,
                        help="pace the publishers at this many fixes/s in total (default 0: full speed)")
    parser.add_argument("--publishers", type=int, default=1, help="publishing processes (devices split among them)")
    parser.add_argument("--baseline-fixes", type=int, default=20_000,
                        help="fixes for each baseline consumer's runs, naive and competent (0: skip them)")
    parser.add_argument("--mosquitto", action="append", default=[], metavar="OPTION=VALUE",
                        help="override a Mosquitto option of the shipped config, e.g. max_inflight_messages=20")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--workdir", default=None, help="where broker and bridge logs go (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = 5000 if args.batch == 1 else max(1, 20_000 // args.batch)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wf-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mode = f"bridge x{args.workers}, " + ("single fixes" if args.batch == 1 else f"batch {args.batch}")
    if args.rate:
        mode += f" @{args.rate / 1000:g}k/s"
    bridge_runs: list[RunResult] = []
    baseline_runs: dict[str, list[RunResult]] = {name: [] for name in BASELINES} if args.baseline_fixes else {}
    kind = "single" if args.batch == 1 else f"batch {args.batch}"
    for run in range(args.runs):
        r = run_once(args, f"{mode} #{run + 1}", "bridge", args.fixes, workdir / f"bridge-{run}")
        bridge_runs.append(r)
        print(f"  run {run + 1}: {r.stored_rate:,.0f} fixes/s stored, p99 {r.p99_ms:.0f} ms "
              f"(visible {r.p99_visible_ms:.0f} ms), {r.cpu_us_per_fix:.1f} µs CPU/fix, {r.seconds:.1f} s",
              file=sys.stderr, flush=True)
        for name, runs in baseline_runs.items():
            n = run_once(args, f"{name}, {kind} #{run + 1}", name, args.baseline_fixes, workdir / f"{name}-{run}")
            runs.append(n)
            print(f"  {name} {run + 1}: {n.stored_rate:,.0f} fixes/s, {n.cpu_us_per_fix:.1f} µs CPU/fix",
                  file=sys.stderr, flush=True)
    print()
    print(f"workdir {workdir}; bridge batch size {args.batch_size}, batch ms {args.batch_ms}, "
          f"publisher window {args.window}, publishers {args.publishers}, rate {args.rate or 'max'}, "
          f"devices {args.devices}, runs {args.runs} (medians below)")
    rows = [median_result(mode, bridge_runs)]
    labels = {"naive": "naive (1 INSERT+commit/row)", "competent": "competent (executemany/100 msgs)"}
    rows += [median_result(labels[name], runs) for name, runs in baseline_runs.items()]
    print_table(rows)
    for row in rows[1:]:
        print(f"\nCPU per fix, {row.label} / bridge: {cpu_ratio(row, rows[0]):.2f}x; "
              f"stored fixes/s, bridge / {row.label}: {rows[0].stored_rate / max(row.stored_rate, 1e-9):.1f}x")
    return rows


def cpu_ratio(baseline: RunResult, bridge: RunResult) -> float:
    """How many times the bridge's CPU per fix the baseline spends (> 1: the bridge is cheaper)."""
    return baseline.cpu_us_per_fix / bridge.cpu_us_per_fix if bridge.cpu_us_per_fix else float("nan")


if __name__ == "__main__":
    main()

"""JT/T 808 gateway benchmark: 10,000 connected terminals, each reporting every 10 s.

    python -m bench.jt808                         # 10,000 terminals, 60 s of reports, 3 runs, medians
    python -m bench.jt808 --terminals 2000 --seconds 30 --runs 1     # a quick look

    terminals (2 load processes, asyncio) --TCP--> python -m mqtt_bridge.gateways.jt808
        --QoS 1--> Mosquitto (shipped config) --> python -m mqtt_bridge --> PostgreSQL

Each run: a fresh PostgreSQL database with N jt808 devices registered straight into the
table, a Mosquitto on the shipped configuration, one bridge, one gateway. The load processes
open every connection and authenticate each terminal (with the code the gateway derives from
its secret), then each terminal sends a 0x0200 every ``--interval`` s, the terminals' phases
spread evenly, for ``--seconds``. Measured: connections held at the end (by the terminals,
and as the gateway counts them), fixes/s stored in the measured window, frame-to-
acknowledgement latency (the terminal writes the frame .. the 0x8001 arrives, which happens
only after the broker's PUBACK), the gateway's peak resident memory (VmHWM) and CPU, and the
machine's load average. Targets (issue 10): all held, p99 < 1 s, memory < 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.databases import SECRET_KEY, create_database, drop_database, libpq_url, sealed  # noqa: E402
from tests.utils.brokers import free_port, start_bridge_process, start_mosquitto, stop_process, wait_port  # noqa: E402

FIRST_PHONE = 13_900_000_000


@dataclass
class RunResult:
    terminals: int
    held_terminals: int = 0  # connections still open at the end, as the terminals see them
    held_gateway: int = 0  # as the gateway's last status line counts them
    reports: int = 0  # 0x0200 sent in the measured window
    acknowledged: int = 0
    stored_rate: float = 0.0  # fixes/s stored over the measured window
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    connect_s: float = 0.0  # to open and authenticate every terminal
    peak_mb: float = 0.0  # the gateway's VmHWM
    gateway_cpu: float = 0.0  # the gateway's CPU seconds per second of the measured window
    load_avg: float = 0.0  # 1-minute load average at the end of the window
    notes: list[str] = field(default_factory=list)


# --- the database ----------------------------------------------------------------------------------


def register_terminals(url: str, n: int) -> list[tuple[str, str]]:
    """n jt808 devices straight into the table: (phone, authentication code) each."""
    from mqtt_bridge.gateways.jt808.directory import auth_code

    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        terminal_id, secret = str(FIRST_PHONE + i), uuid.uuid4().hex
        rows.append((f"bench-jt-{i:05d}", secret, terminal_id, now))
    with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO device (id, kind, vehicle_id, site_id, sealed_secret, require_signature, "
                        "protocol, terminal_id, created_at) VALUES (%s, 'gps', NULL, NULL, %s, false, 'jt808', %s, %s)",
                        [(device_id, sealed(url, device_id, secret), terminal_id, at)
                         for device_id, secret, terminal_id, at in rows])
    return [(f"0{terminal_id}", auth_code(secret, terminal_id)) for _, secret, terminal_id, _ in rows]


def stored_fixes(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM gps_fix").fetchone()
        return int(row[0]) if row else 0


# --- a load process ------------------------------------------------------------------------------


def load_main(port: int, terminals: list[tuple[str, str]], interval: float, seconds: float, go, results) -> None:
    """Open and authenticate ``terminals``, report ``connected``, wait for ``go``, then report for ``seconds``."""
    results.put(asyncio.run(_load(port, terminals, interval, seconds, go, results)))


async def _load(port: int, terminals: list[tuple[str, str]], interval: float, seconds: float, go, results) -> dict:
    from mqtt_bridge.gateways.jt808 import messages as m
    from simulators.jt808_terminal import Fix, Terminal

    sent: dict[tuple[int, int], float] = {}  # (terminal index, serial) -> monotonic time written
    latencies: list[float] = []

    def answered(index: int):
        def on_answer(serial: int, answer) -> None:
            started = sent.pop((index, serial), None)
            if started is not None and answer.msg_id == m.PLATFORM_RESPONSE:
                latencies.append(answer.at - started)
        return on_answer

    fleet = [Terminal(phone, timeout_s=60, on_answer=answered(i)) for i, (phone, _) in enumerate(terminals)]
    opened = time.monotonic()
    gate = asyncio.Semaphore(100)

    async def login(terminal: Terminal, code: str) -> None:
        async with gate:
            terminal.auth_code = code
            await terminal.login("127.0.0.1", port)

    outcomes = await asyncio.gather(*(login(t, c) for t, (_, c) in zip(fleet, terminals, strict=True)),
                                    return_exceptions=True)
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    results.put({"connected": len(fleet) - len(failures), "seconds": time.monotonic() - opened,
                 "failures": failures[:3]})
    while not go.is_set():
        await asyncio.sleep(0.05)
    gc.freeze()  # the fleet lives all run long: keep the collector from walking it again and again
    start, n = time.monotonic(), len(fleet)
    total, step, reports = int(seconds / interval * n), 0, 0
    while step < total:  # terminal k's phase: k/n of the interval; every 10 ms, send what is due
        await asyncio.sleep(0.01)
        due = min(total, int((time.monotonic() - start) * n / interval) + 1)
        while step < due:
            index = step % n
            terminal = fleet[index]
            if terminal.connected:
                fix = Fix(40.6 + index * 1e-5, 109.8 + (step // n) * 1e-4, datetime.now(UTC), speed_kmh=40,
                          direction=90)
                sent[(index, terminal.serial)] = time.monotonic()
                terminal.write(terminal.frame(m.LOCATION, fix.body()))
                reports += 1
            step += 1
    sending_s = time.monotonic() - start
    await asyncio.sleep(3.0)  # the last answers
    held = sum(1 for t in fleet if t.connected)
    for terminal in fleet:
        await terminal.close()
    return {"reports": reports, "latencies": latencies, "unanswered": len(sent), "held": held, "sending_s": sending_s}


# --- one run ---------------------------------------------------------------------------------------


def start_gateway(url: str, mqtt_url: str, port: int, workdir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    env.update({"WASTEFLOW_DATABASE_URL": url, "WASTEFLOW_MQTT_URL": mqtt_url, "WASTEFLOW_LOG_LEVEL": "INFO",
                "WASTEFLOW_SECRET_KEY": SECRET_KEY, "WASTEFLOW_JT808_LISTEN": f"127.0.0.1:{port}",
                "PYTHONUNBUFFERED": "1"})
    log = open(workdir / "gateway.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "mqtt_bridge.gateways.jt808"], env=env, cwd=str(REPO),
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    wait_port(port, timeout=60)
    return proc


def proc_status(pid: int) -> tuple[float, float]:
    """(peak resident MB, CPU seconds so far) of a live process, from /proc."""
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return peak, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_connections(workdir: Path) -> int:
    counts = re.findall(r"(\d+) connections open", (workdir / "gateway.log").read_text(errors="replace"))
    return int(counts[-1]) if counts else 0


def run_once(args, workdir: Path) -> RunResult:
    result = RunResult(terminals=args.terminals)
    name, url = create_database()
    broker = bridge = gateway = None
    ctx = mp.get_context("spawn")
    try:
        terminals = register_terminals(url, args.terminals)
        broker = start_mosquitto(workdir)
        bridge = start_bridge_process(url, broker.url, f"bench-jt808-bridge-{uuid.uuid4().hex[:6]}", log_dir=workdir,
                                      extra_env={"WASTEFLOW_BRIDGE_BATCH_MS": "50"})
        port = free_port()
        gateway = start_gateway(url, broker.url, port, workdir)
        go, results = ctx.Event(), ctx.Queue()
        loaders = [ctx.Process(target=load_main, daemon=True,
                               args=(port, terminals[j::args.processes], args.interval, args.seconds, go, results))
                   for j in range(args.processes)]
        for proc in loaders:
            proc.start()
        ready = [results.get(timeout=600) for _ in loaders]
        result.connect_s = max(r["seconds"] for r in ready)
        for r in ready:
            result.notes += [f"connect failed: {f}" for f in r["failures"]]
        time.sleep(2.0)
        before, cpu_before, t0 = stored_fixes(url), proc_status(gateway.pid)[1], time.time()
        go.set()
        reports = [results.get(timeout=args.seconds + 600) for _ in loaders]
        window = time.time() - t0
        result.held_gateway = gateway_connections(workdir)
        result.load_avg = os.getloadavg()[0]
        result.peak_mb, cpu_after = proc_status(gateway.pid)
        result.gateway_cpu = (cpu_after - cpu_before) / window
        _summarise(result, reports, url, before, window)
    finally:
        for service in (gateway, bridge):
            if service is not None:
                stop_process(service)
        if broker is not None:
            broker.stop()
        if not args.keep:
            drop_database(name)
    return result


def _summarise(result: RunResult, reports: list[dict], url: str, before: int, window: float) -> None:
    latencies = sorted(x for r in reports for x in r["latencies"])
    result.reports = sum(r["reports"] for r in reports)
    result.acknowledged = len(latencies)
    result.held_terminals = sum(r["held"] for r in reports)
    deadline = time.time() + 30
    stored = stored_fixes(url) - before
    while stored < result.acknowledged and time.time() < deadline:
        time.sleep(0.5)
        stored = stored_fixes(url) - before
    result.stored_rate = stored / max(max(r["sending_s"] for r in reports), 1e-9)
    if latencies:
        result.p50_ms = statistics.median(latencies) * 1000
        result.p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        result.max_ms = latencies[-1] * 1000
    if stored < result.acknowledged:
        result.notes.append(f"{result.acknowledged - stored} acknowledged fixes not stored within 30 s")
    unanswered = sum(r["unanswered"] for r in reports)
    if unanswered:
        result.notes.append(f"{unanswered} reports unanswered")


# --- output ----------------------------------------------------------------------------------------


COLUMNS = [("terminals", "{:.0f}", "terminals"), ("held", "{:.0f}", "held_terminals"),
           ("held (gw)", "{:.0f}", "held_gateway"), ("connect s", "{:.1f}", "connect_s"),
           ("reports", "{:.0f}", "reports"), ("stored fixes/s", "{:.0f}", "stored_rate"),
           ("p50 ms", "{:.1f}", "p50_ms"), ("p99 ms", "{:.1f}", "p99_ms"), ("max ms", "{:.0f}", "max_ms"),
           ("gw peak MB", "{:.0f}", "peak_mb"), ("gw CPU", "{:.2f}", "gateway_cpu"), ("load", "{:.1f}", "load_avg")]


def print_table(rows: list[tuple[str, RunResult]]) -> None:
    header = "run     " + "  ".join(name.rjust(max(len(name), 9)) for name, _, _ in COLUMNS)
    print(header)
    print("-" * len(header))
    for label, r in rows:
        cells = [fmt.format(getattr(r, attr)).rjust(max(len(name), 9)) for name, fmt, attr in COLUMNS]
        print(label.ljust(8) + "  ".join(cells))
        for note in r.notes:
            print(f"        note: {note}")


def median_result(runs: list[RunResult]) -> RunResult:
    merged = RunResult(terminals=runs[0].terminals)
    for _, _, attr in COLUMNS[1:]:
        setattr(merged, attr, statistics.median(getattr(r, attr) for r in runs))
    return merged


def main(argv: list[str] | None = None) -> RunResult:
    parser = argparse.ArgumentParser(prog="python -m bench.jt808", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a terminal's reports")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured window")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="load-generating processes")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases and logs")
    args = parser.parse_args(argv)
    rows: list[tuple[str, RunResult]] = []
    for run in range(args.runs):
        workdir = Path(tempfile.mkdtemp(prefix="wf-bench-jt808-"))
        print(f"run {run + 1}/{args.runs}: {args.terminals} terminals, a report every {args.interval:g} s "
              f"for {args.seconds:g} s ... (logs: {workdir})", file=sys.stderr)
        rows.append((f"#{run + 1}", run_once(args, workdir)))
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result = median_result([r for _, r in rows]) if len(rows) > 1 else rows[0][1]
    if len(rows) > 1:
        rows.append(("median", result))
    print(f"\nJT/T 808 gateway: {args.terminals} terminals, one 0x0200 each every {args.interval:g} s "
          f"({args.terminals / args.interval:,.0f} fixes/s offered) for {args.seconds:g} s; "
          f"{os.cpu_count()} CPUs")
    print_table(rows)
    return result


if __name__ == "__main__":
    main()

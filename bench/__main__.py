"""Every benchmark, one command, one table:  python -m bench [--quick] [jt808 | forensics]

Runs, on this machine's PostgreSQL and a Mosquitto it starts itself (the shipped
configuration): ingest through the broker with one and with two bridge workers (single
fixes at full speed, and 50-fix batch payloads paced at the 20,000 fixes/s target), the
bridge's CPU per message (its headline figure: CPU seconds of the bridge process from /proc
per stored fix) against two baselines in the same run (a naive one-insert-per-message consumer
and a competent executemany-per-100-messages one, ``bench/baselines.py``), reconciliation
throughput (pure, and from PostgreSQL one by one and in batches), live detection's cost per
trip run with 1,000 trucks in transit, live finding latency, API latency under 50 concurrent
clients, the JT/T 808 gateway holding 10,000 terminals (``python -m bench jt808``: that one
alone), and dump-site forensics and hotspots over a month of 100 trucks' fixes
(``python -m bench forensics``: that one alone). Each figure is the median
of several runs (``--quick``: one run each, smaller volumes). Prints each benchmark's own
table as it goes, then the summary against the targets of operations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

from bench import api, forensics, ingest, jt808, live_cost, live_latency, reconcile


def _quiet(fn, argv):
    """Run one benchmark, keeping its detailed table for the log on stderr."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(argv)
    sys.stderr.write(out.getvalue())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run each, smaller volumes")
    parser.add_argument("only", nargs="?", choices=["jt808", "forensics"],
                        help="run this benchmark alone, with its own table")
    args = parser.parse_args(argv)
    runs = "1" if args.quick else "3"
    if args.only == "jt808":
        jt808.main(jt808_argv(args.quick))
        return 0
    if args.only == "forensics":
        forensics.main(forensics_argv(args.quick))
        return 0
    fixes = "60000" if args.quick else "150000"
    started = time.time()
    rows: list[tuple[str, str, str]] = []

    def ingest_row(label: str, extra: list[str], target: str, baselines: bool = False,
                   cpu_target: str = "") -> None:
        results = _quiet(ingest.main, ["--runs", runs, "--fixes", fixes, "--baseline-fixes",
                                       ("10000" if baselines else "0"), *extra])
        bridge = results[0]
        if cpu_target:
            rows.append((f"{label}: bridge CPU", f"{bridge.cpu_us_per_msg:,.1f} µs/message, "
                                                 f"{bridge.cpu_us_per_fix:,.1f} µs/fix", cpu_target))
        rows.append((label, f"{bridge.stored_rate:,.0f} fixes/s; p50 {bridge.p50_ms:,.0f} ms, "
                            f"p99 {bridge.p99_ms:,.0f} ms; peak {bridge.peak_rss_mb:.0f} MB", target))
        for baseline in results[1:]:
            rows.append((f"  {baseline.label}, same stream",
                         f"{baseline.cpu_us_per_fix:,.1f} µs CPU/fix ({ingest.cpu_ratio(baseline, bridge):.1f}x "
                         f"the bridge's); {baseline.stored_rate:,.0f} fixes/s", ""))

    ingest_row("ingest, 1 bridge, single fixes, full speed", [], "≥ 20,000 fixes/s", baselines=True,
               cpu_target="≤ 40 µs/message")
    ingest_row("ingest, 1 bridge, batch 50, full speed", ["--batch", "50"], "", baselines=True,
               cpu_target="≤ 6 µs/fix")
    ingest_row("ingest, 1 bridge, batch 50, paced 20k/s", ["--batch", "50", "--rate", "20000"],
               "≥ 20,000 fixes/s, p99 < 1 s")
    ingest_row("ingest, 2 bridges, single fixes, full speed", ["--workers", "2"], "")
    ingest_row("ingest, 2 bridges, batch 50, full speed", ["--workers", "2", "--batch", "50"], "")

    rows += detection_rows(args.quick)

    live = _quiet(live_latency.main, ["--trips", "20" if args.quick else "50"])
    rows.append(("live finding latency, publish → finding stored",
                 f"p50 {live['p50_s']:.2f} s, p99 {live['p99_s']:.2f} s, missed {live['missed']}", "p99 < 5 s"))

    paced = _quiet(api.main, ["--runs", runs, "--requests", "1000" if args.quick else "3000"])
    rows.append(("API, 50 clients at a user's pace (100 req/s)",
                 f"file p50 {paced['file_p50']:.0f} / p99 {paced['file_p99']:.0f} ms; "
                 f"read p50 {paced['read_p50']:.0f} / p99 {paced['read_p99']:.0f} ms", "p99 < 50 ms"))
    saturated = _quiet(api.main, ["--runs", runs, "--requests", "1000" if args.quick else "2000", "--pace", "0"])
    rows.append(("API, 50 clients back to back (saturation)",
                 f"{saturated['rps']:,.0f} req/s; file p99 {saturated['file_p99']:,.0f} ms, "
                 f"read p99 {saturated['read_p99']:,.0f} ms", ""))

    gateway = _quiet(jt808.main, jt808_argv(args.quick))
    rows.append((f"JT/T 808 gateway, {gateway.terminals:,} terminals, 1 report / 10 s each",
                 f"{gateway.held_terminals:,.0f} held; {gateway.stored_rate:,.0f} fixes/s stored; ack p50 "
                 f"{gateway.p50_ms:.0f} / p99 {gateway.p99_ms:.0f} ms; peak {gateway.peak_mb:.0f} MB",
                 "all held, p99 < 1 s, < 1 GiB"))

    rows += forensics_rows(args.quick)

    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\nwasteflow benchmarks ({'quick, 1 run' if args.quick else 'medians of several runs'}; "
          f"{time.time() - started:.0f} s)")
    print(f"{'benchmark'.ljust(width)}  {'measured'.ljust(value_width)}  target")
    print("-" * (width + value_width + 20))
    for label, value, target in rows:
        print(f"{label.ljust(width)}  {value.ljust(value_width)}  {target}")
    return 0



def detection_rows(quick: bool) -> list[tuple[str, str, str]]:
    """Reconciliation (pure, and from PostgreSQL one by one and in batches) and live detection's cost."""
    rows: list[tuple[str, str, str]] = []
    recon = _quiet(reconcile.main, ["--runs", "3" if quick else "5", "--trips", "200" if quick else "400"])
    pure = recon["pure pipeline.reconcile"]
    rows.append(("reconciliation, pure, ~500-fix trips vs 1,100 places, 1 process",
                 f"{pure['trips_s']:,.0f} trips/s ({pure['per_cpu_s']:,.0f} per CPU-s)", ""))
    parallel = [label for label in recon if label.startswith("pure, ")]
    if parallel:
        rows.append((f"reconciliation, {parallel[0].removeprefix('pure, ')}",
                     f"{recon[parallel[0]]['trips_s']:,.0f} trips/s", "≥ 1,000 trips/s"))
    if "Monitor.reconcile, PostgreSQL" in recon:
        db = recon["Monitor.reconcile, PostgreSQL"]
        rows.append(("reconciliation from PostgreSQL, one trip per transaction",
                     f"{db['trips_s']:,.0f} trips/s ({db['per_cpu_s']:,.0f} per CPU-s)", ""))
        batched = next(label for label in recon if label.startswith("reconcile_many"))
        rows.append((f"reconciliation from PostgreSQL, batches of {batched.split()[1][1:]}, 1 process",
                     f"{recon[batched]['trips_s']:,.0f} trips/s ({recon[batched]['per_cpu_s']:,.0f} per CPU-s)",
                     "≥ 400 trips/s"))

    cost = _quiet(live_cost.main, ["--vehicles", "200" if quick else "1000", "--runs", "1" if quick else "3"])
    rows.append((f"live detection, {cost['vehicles']:,} trucks in transit ({cost['history_h']:.0f} h history each)",
                 f"{cost['runs_s']:,.0f} trip runs/s, {cost['cpu_ms']:.1f} ms CPU/run "
                 f"(whole history read: {cost['whole_runs_s']:,.0f}/s, {cost['whole_cpu_ms']:.1f} ms)", ""))
    return rows

def jt808_argv(quick: bool) -> list[str]:
    return ["--runs", "1", "--terminals", "2000", "--seconds", "30"] if quick else ["--runs", "3"]


def forensics_rows(quick: bool) -> list[tuple[str, str, str]]:
    month = _quiet(forensics.main, forensics_argv(quick))
    return [(f"dump-site forensics, {month['fixes']:,} fixes (a month of a city)",
             f"p50 {month['dump_p50']:,.0f} ms, p99 {month['dump_p99']:,.0f} ms", "p99 < 2 s"),
            ("hotspots over the same month", f"p50 {month['hot_p50']:,.0f} ms, max {month['hot_max']:,.0f} ms",
             "< 2 s")]


def forensics_argv(quick: bool) -> list[str]:
    return ["--trucks", "20", "--days", "30", "--queries", "20"] if quick else []


if __name__ == "__main__":
    sys.exit(main())

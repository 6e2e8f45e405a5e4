"""The regulator's report (one self-contained HTML file) and the terminal summary."""

from __future__ import annotations

import json
from pathlib import Path

from simulators.outcome import Outcome


def summary_numbers(outcome: Outcome) -> dict:
    statuses: dict[str, int] = {}
    for m in outcome.manifests:
        statuses[m["status"]] = statuses.get(m["status"], 0) + 1
    return {
        "day": outcome.plan.day.isoformat(), "seed": outcome.plan.seed, "manifests": len(outcome.manifests),
        "statuses": statuses, "tonnage": outcome.tonnage(), "findings_by_code": dict(sorted(outcome.codes.items())),
        "violations": [{
            "scenario": v.trip.scenario.name, "manifest_no": v.trip.manifest_no, "plate": v.trip.plate,
            "ok": v.ok, "checks": [{"code": c.code, "found": c.found, "distance_m": c.distance_m,
                                    "time_error_s": c.time_error_s, "finding_id": c.finding and c.finding["id"]}
                                   for c in v.checks],
            "other_findings": [f["code"] for f in v.extra]} for v in outcome.verdicts],
        "clean_trips": sum(1 for t in outcome.plan.trips if not t.scenario.is_violation),
        "clean_flagged": [{"manifest_no": t.manifest_no, "code": f["code"], "severity": f["severity"],
                           "finding_id": f["id"]} for t, f in outcome.clean_flagged],
        "all_found": outcome.all_found, "clean_ok": outcome.clean_ok,
    }


def write(outcome: Outcome, out_dir: Path, stats=None, timings=None, bridge=None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    numbers = summary_numbers(outcome)
    numbers["timings_s"] = {k: round(v, 2) for k, v in (timings or {}).items()}
    if stats is not None:
        numbers["play"] = {"published": stats.published, "api_calls": stats.api_calls, "errors": stats.errors,
                           "drains": stats.drains}
    js = out_dir / "report.json"
    js.write_text(json.dumps(numbers, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    html = out_dir / "report.html"
    html.write_text(render(outcome, numbers), encoding="utf-8")
    return html, js


def print_summary(result, console) -> None:
    from rich.table import Table

    outcome = result.outcome
    t = outcome.tonnage()
    console.print()
    console.print(f"[bold]{len(outcome.manifests)} manifests[/bold] on {outcome.plan.day.isoformat()}: "
                  f"{t['reconciled']} reconciled; departed {t['departed_kg'] / 1000:,.1f} t, "
                  f"arrived {t['arrived_kg'] / 1000:,.1f} t, accepted {t['accepted_kg'] / 1000:,.1f} t, "
                  f"in transit {t['in_transit_kg'] / 1000:,.1f} t")
    codes = Table(title="Findings by code", show_edge=False)
    codes.add_column("code")
    codes.add_column("raised", justify="right")
    for code, n in sorted(outcome.codes.items(), key=lambda kv: -kv[1]):
        codes.add_row(code, str(n))
    console.print(codes)
    table = Table(title="Injected violations", show_edge=False)
    for col in ("scenario", "manifest", "expected", "found", "where / when"):
        table.add_column(col)
    for v in outcome.verdicts:
        found = ", ".join(("[green]" if c.ok else "[red]") + c.code + "[/]" for c in v.checks)
        detail = "; ".join(_err(c) for c in v.checks if _err(c))
        table.add_row(v.trip.scenario.title, v.trip.manifest_no or "-", ", ".join(c.code for c in v.checks),
                      ("[green]found[/]" if v.ok else "[red]MISSED[/]") + f" ({found})", detail)
    console.print(table)
    n_clean = sum(1 for tr in outcome.plan.trips if not tr.scenario.is_violation)
    if outcome.clean_flagged:
        console.print(f"[red]{len(outcome.clean_flagged)} finding(s) above info on the {n_clean} clean trips:[/red] "
                      + ", ".join(f"{tr.manifest_no} {f['code']}" for tr, f in outcome.clean_flagged[:10]))
    else:
        console.print(f"[green]No finding above info on the {n_clean} clean trips.[/green]")
    if result.stats.errors:
        console.print(f"[red]{len(result.stats.errors)} API error(s)[/red], first: {result.stats.errors[0]}")
    console.print(f"\nReport: [bold cyan]{result.report_html.resolve()}[/bold cyan]  (numbers: {result.report_json})")
    console.print(f"[dim]took {result.timings.get('total_s', 0):.1f} s "
                  f"(setup {result.timings.get('setup_s', 0):.1f}, day {result.timings.get('play_s', 0):.1f}, "
                  f"report {result.timings.get('collect_s', 0):.1f})[/dim]")


def _err(c) -> str:
    parts = []
    if c.distance_m is not None:
        parts.append(f"{c.distance_m:.0f} m")
    if c.time_error_s is not None:
        parts.append(f"{c.time_error_s:.0f} s")
    return f"{c.code}: " + ", ".join(parts) if parts else ""


# --- the HTML report -------------------------------------------------------------------------

import html as _html  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import datetime  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from simulators import maps  # noqa: E402
from simulators.outcome import SEVERITY_RANK  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")

MEANING = {
    "ROUTE_DEVIATION": "left the planned route's corridor while loaded",
    "UNAUTHORIZED_STOP": "stood ≥ 10 min while loaded, away from the sites, rest areas and own depot",
    "LOAD_DROP": "the on-board load fell outside the receiving site",
    "DIVERSION": "stayed ≥ 5 min inside another registered site while loaded",
    "RESTRICTED_ZONE_ENTRY": "entered a restricted zone while loaded",
    "IMPOSSIBLE_JUMP": "two fixes imply more than 180 km/h over more than 1 km",
    "OVERDUE": "dispatched, not received by the planned arrival + 2 h",
    "GPS_GAP": "no fix for ≥ 10 min between dispatch and receipt",
    "NO_TRACK": "received, but no fix at all between dispatch and receipt",
    "NEVER_ARRIVED": "received, but the truck was never inside the receiving site",
    "TONNAGE_SHORTFALL": "arrival net below departure net − tolerance",
    "TONNAGE_SURPLUS": "arrival net above departure net + tolerance",
    "DECLARATION_MISMATCH": "departure net differs from the declared kg by > 10 %",
    "ACCEPTANCE_MISMATCH": "accepted kg differs from the arrival net beyond tolerance",
    "MISSING_TICKET": "received without a departure or arrival weigh ticket",
    "PLATE_MISMATCH": "a weigh ticket naming this manifest carries another plate",
    "DUPLICATE_TICKET": "a ticket already linked to one manifest presented for another",
    "CAPACITY_EXCEEDED": "a receiver's accepted tonnage this year exceeds its permit",
}

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,'PingFang SC','Noto Sans CJK SC',sans-serif;
color:#1d2330;margin:0;background:#eef0f3}main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
header{border-bottom:3px solid #1d3a6b;padding-bottom:12px;margin-bottom:18px}h1{font-size:24px;margin:0 0 4px;color:#1d3a6b}
h2{font-size:19px;margin:34px 0 10px;color:#1d3a6b;border-bottom:1px solid #d5dae3;padding-bottom:4px}
h3{font-size:16px;margin:0}.sub{color:#5b6577}.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:16px 0}
.card{border:1px solid #d5dae3;border-radius:6px;padding:10px 14px;background:#fafbfc}.card .v{font-size:24px;font-weight:700}
.card .l{color:#5b6577;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .n{font-size:12px;color:#5b6577}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:5px 8px;border-bottom:1px solid #e3e7ee;text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600;color:#3a4456}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1f8a4c;font-weight:700}.bad{color:#c62828;font-weight:700}.muted{color:#7a8496}
.sev{display:inline-block;border-radius:3px;padding:0 6px;font-size:11px;font-weight:700;color:#fff;text-transform:uppercase}
.sev.critical{background:#c62828}.sev.warning{background:#e08a00}.sev.info{background:#607d8b}
.code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;font-weight:600}
.bar{display:inline-block;height:10px;background:#1d3a6b;border-radius:2px;vertical-align:middle}
.trip{border:1px solid #d5dae3;border-radius:8px;margin:18px 0;padding:14px 16px;page-break-inside:avoid}
.trip .head{display:flex;justify-content:space-between;align-items:baseline;gap:12px;flex-wrap:wrap}
.trip .grid{display:grid;grid-template-columns:730px 1fr;gap:16px;margin-top:10px}
.trip svg{border:1px solid #d5dae3;border-radius:4px;max-width:100%;height:auto}
.facts td{padding:2px 6px;border:0}.facts td:first-child{color:#5b6577;white-space:nowrap}
.story{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:8px 0;font-size:13px}
.legend{font-size:12px;color:#3a4456;margin-top:6px}.legend span{margin-right:12px;white-space:nowrap}
.sw{display:inline-block;width:14px;height:10px;border:1.5px solid;vertical-align:middle;margin-right:4px}
ol.findings{padding-left:20px;margin:6px 0}ol.findings li{margin-bottom:6px}
details summary{cursor:pointer;color:#1d3a6b;font-weight:600}.verdict{font-size:13px}
footer{margin-top:40px;color:#7a8496;font-size:12px;border-top:1px solid #d5dae3;padding-top:10px}
@media (max-width:1100px){.trip .grid{grid-template-columns:1fr}.cards{grid-template-columns:repeat(2,1fr)}}
"""


def _e(x) -> str:
    return _html.escape(str(x))


def _t(kg: float | None) -> str:
    return "–" if kg is None else f"{kg / 1000:,.1f}"


def _local(ts: str | None, fmt: str = "%H:%M:%S") -> str:
    if not ts:
        return "–"
    return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).astimezone(TZ).strftime(fmt)


def _sev(severity: str) -> str:
    return f'<span class="sev {_e(severity)}">{_e(severity)}</span>'


def describe(f: dict, site_names: dict[int, str]) -> str:
    """One line a regulator can read: what the evidence says."""
    ev = f.get("evidence") or {}
    code = f["code"]

    def km(m):
        return f"{m / 1000:.1f} km" if m is not None and m >= 1000 else f"{m:.0f} m" if m is not None else "?"
    try:
        if code == "UNAUTHORIZED_STOP":
            return (f"stood {ev['duration_s'] / 60:.0f} min ({_local(ev['start'], '%H:%M')}–{_local(ev['end'], '%H:%M')}), "
                    f"{km(ev.get('distance_to_generator_m'))} from the generator, "
                    f"{km(ev.get('distance_to_receiver_m'))} from the receiver")
        if code == "LOAD_DROP":
            return (f"load fell from {ev['reference_kg']:,} kg to {ev['level_kg']:,} kg (−{ev['drop_kg']:,} kg) "
                    f"between {_local(ev['start'], '%H:%M')} and {_local(ev['end'], '%H:%M')}")
        if code == "TONNAGE_SHORTFALL":
            cands = ev.get("candidates") or []
            where = f"; {len(cands)} candidate place(s): " + ", ".join(
                c["kind"].replace("_", " ") for c in cands[:3]) if cands else "; no stop or load drop on the way"
            return (f"departed {ev['departure_net_kg']:,} kg, arrived {ev['arrival_net_kg']:,} kg: "
                    f"{-ev['difference_kg']:,} kg short (tolerance {ev['tolerance_kg']:,.0f} kg){where}")
        if code == "TONNAGE_SURPLUS":
            return (f"departed {ev['departure_net_kg']:,} kg, arrived {ev['arrival_net_kg']:,} kg "
                    f"(+{ev['difference_kg']:,} kg, tolerance {ev['tolerance_kg']:,.0f} kg)")
        if code in ("DIVERSION", "RESTRICTED_ZONE_ENTRY"):
            return (f"{ev['duration_s'] / 60:.0f} min inside {ev['place_name']} "
                    f"({_local(ev['start'], '%H:%M')}–{_local(ev['end'], '%H:%M')}, {ev['fix_count']} fixes)")
        if code == "ROUTE_DEVIATION":
            return (f"{ev['fix_count']} fixes over {ev['duration_s'] / 60:.0f} min outside the {ev['corridor_m']:.0f} m "
                    f"corridor, up to {km(ev['max_distance_m'])} from the route")
        if code == "IMPOSSIBLE_JUMP":
            s = ev["steps"][0]
            return f"{km(s['distance_m'])} in {s['seconds']:.0f} s ({s['speed_kmh']:,.0f} km/h) at {_local(s['from_ts'])}"
        if code == "GPS_GAP":
            return (f"no fix for {ev['gap_s'] / 60:.0f} min from {_local(ev['before']['ts'], '%H:%M')}; "
                    f"{km(ev['distance_m'])} between the fixes either side")
        if code == "NO_TRACK":
            return f"no fix from the truck's terminal between {_local(ev['window_start'], '%H:%M')} and {_local(ev['window_end'], '%H:%M')}"
        if code == "NEVER_ARRIVED":
            return f"closest approach to the receiving site {km(ev.get('closest_approach_m'))}"
        if code == "OVERDUE":
            return (f"deadline {_local(ev['deadline'], '%H:%M')}, overdue by {ev['overdue_s'] / 3600:.1f} h"
                    + (f"; last fix {_local(ev['last_fix']['ts'], '%H:%M')}" if ev.get("last_fix") else ""))
        if code == "PLATE_MISMATCH":
            return (f"ticket {ev['ticket_no']} weighed {ev['ticket_plate']}, the manifest names {ev['manifest_plate']} "
                    f"(net {ev['net_kg']:,} kg)")
        if code == "DUPLICATE_TICKET":
            return (f"ticket {ev['ticket_no']} ({site_names.get(ev.get('site_id'), 'site')}) already belongs to "
                    f"{ev['already_linked_to']}")
        if code == "MISSING_TICKET":
            return "no " + " and no ".join(ev.get("missing", [])) + " weigh ticket"
        if code == "DECLARATION_MISMATCH":
            return f"declared {ev['declared_kg']:,} kg, weighed out {ev['departure_net_kg']:,} kg ({ev['difference_pct']:+.1f} %)"
        if code == "ACCEPTANCE_MISMATCH":
            return f"accepted {ev['accepted_kg']:,} kg, weighed in {ev['arrival_net_kg']:,} kg"
        if code == "CAPACITY_EXCEEDED":
            return f"{ev['site_name']}: {ev['year_accepted_kg'] / 1000:,.0f} t accepted this year, permit {ev['capacity_kg'] / 1000:,.0f} t"
    except (KeyError, TypeError, IndexError, ValueError):
        pass
    flat = [f"{k} {v}" for k, v in ev.items() if isinstance(v, (int, float, str))][:5]
    return "; ".join(flat)


def _where(f: dict) -> str:
    loc = f.get("location")
    if not loc:
        return "–"
    lon, lat = loc["coordinates"][:2]
    return f"{lat:.5f} N, {lon:.5f} E"


def render(outcome: Outcome, numbers: dict) -> str:
    plan = outcome.plan
    region = plan.region
    t = numbers["tonnage"]
    raised = outcome.raised
    sev_count = defaultdict(int)
    for f in raised:
        sev_count[f["severity"]] += 1
    flagged = {no for no, fs in outcome.by_manifest.items() if no and any(SEVERITY_RANK[f["severity"]] > 0 for f in fs)}
    trips_by_no = {tr.manifest_no: tr for tr in plan.trips if tr.manifest_no}
    names = {key: s.name for key, s in region.sites.items()}
    site_ids = _site_ids(outcome)
    site_names = {sid: names.get(key, key) for key, sid in site_ids.items()}
    roads = [([list(region.frame.lonlat(p)) for p in rd.points], rd.kind) for rd in region.network.roads]
    short_kg = t["received_trips_departed_kg"] - t["arrived_kg"]
    parts = []
    parts.append(f"""<header><h1>Industrial solid waste transfers — Baotou (包头, region 1502)</h1>
<div class="sub">Day of {plan.day.isoformat()} (Asia/Shanghai) · {len(outcome.manifests)} electronic transfer manifests ·
report generated {datetime.now(TZ).strftime('%Y-%m-%d %H:%M')} by wasteflow from the live system's API ·
<b>simulated day</b> (seed {plan.seed}) with {len(plan.violations)} injected violations</div></header>""")
    n_rec = t["reconciled"]
    diff_pct = 100.0 * short_kg / t["received_trips_departed_kg"] if t["received_trips_departed_kg"] else 0.0
    parts.append(f"""<div class="cards">
<div class="card"><div class="l">Manifests</div><div class="v">{len(outcome.manifests)}</div>
<div class="n">{n_rec} reconciled · {len(outcome.manifests) - n_rec} open</div></div>
<div class="card"><div class="l">Tonnage out (departure net)</div><div class="v">{_t(t['departed_kg'])} t</div>
<div class="n">declared {_t(t['declared_kg'])} t</div></div>
<div class="card"><div class="l">Tonnage in (arrival net)</div><div class="v">{_t(t['arrived_kg'])} t</div>
<div class="n">accepted {_t(t['accepted_kg'])} t · in transit {_t(t['in_transit_kg'])} t</div></div>
<div class="card"><div class="l">Out − in, delivered trips</div><div class="v">{_t(short_kg)} t</div>
<div class="n">{diff_pct:.2f} % of what those trips took out</div></div>
<div class="card"><div class="l">Findings raised</div><div class="v">{len(raised)}</div>
<div class="n"><span class="bad">{sev_count['critical']} critical</span> · {sev_count['warning']} warning · {sev_count['info']} info ·
{len(flagged)} trips flagged</div></div></div>""")

    # -- injected violations ------------------------------------------------------------------
    rows = []
    for v in outcome.verdicts:
        tr = v.trip
        checks = "<br>".join(
            f'<span class="code">{_e(c.code)}</span> ' + (
                f'<span class="ok">✓ found</span> <span class="muted">#{c.finding["id"]}'
                + (f", {c.distance_m:.0f} m" if c.distance_m is not None and c.distance_m != float("inf") else "")
                + (f", {c.time_error_s:.0f} s" if c.time_error_s is not None else "") + "</span>"
                if c.ok else ('<span class="bad">✗ missed</span>' if not c.found else
                              f'<span class="bad">✗ off</span> <span class="muted">{c.distance_m or 0:.0f} m, {c.time_error_s or 0:.0f} s</span>'))
            for c in v.checks)
        also = ", ".join(sorted({f["code"] for f in v.extra})) or "–"
        anchor = f'<a href="#{_e(tr.manifest_no)}">{_e(tr.manifest_no)}</a>' if tr.manifest_no else "–"
        rows.append(f"<tr><td><b>{_e(tr.scenario.title)}</b><div class='muted'>{_e(tr.scenario.story)}</div></td>"
                    f"<td>{anchor}<div class='muted'>{_e(tr.plate)}</div></td><td class='verdict'>{checks}</td>"
                    f"<td class='muted'>{_e(also)}</td></tr>")
    n_ok = sum(1 for v in outcome.verdicts if v.ok)
    n_clean = numbers["clean_trips"]
    clean_line = (f'<span class="ok">none of the {n_clean} clean trips raised anything above info</span>'
                  if outcome.clean_ok else
                  f'<span class="bad">{len(outcome.clean_flagged)} finding(s) above info on clean trips</span>: '
                  + ", ".join(f"{_e(tr.manifest_no)} {_e(f['code'])}" for tr, f in outcome.clean_flagged[:12]))
    parts.append(f"""<h2>Did the system catch the injected violations?</h2>
<p>The simulator planted one trip of each kind below among the day's ordinary traffic; here is what the platform raised on
each (place within {sc_tol()[0]:.0f} m and time within {sc_tol()[1]:.0f} s of the truth where those are meaningful).
<b class="{'ok' if n_ok == len(outcome.verdicts) else 'bad'}">{n_ok} of {len(outcome.verdicts)} caught</b>; {clean_line}.</p>
<table><tr><th style="width:38%">Injected violation</th><th>Manifest</th><th>Expected finding(s)</th><th>Also raised</th></tr>
{''.join(rows)}</table>""")

    # -- findings by code --------------------------------------------------------------------
    by_code = defaultdict(list)
    for f in raised:
        by_code[f["code"]].append(f)
    most = max((len(v) for v in by_code.values()), default=1)
    rows = []
    for code, fs in sorted(by_code.items(), key=lambda kv: (-SEVERITY_RANK[kv[1][0]["severity"]], -len(kv[1]))):
        trips = len({f["manifest_no"] for f in fs})
        rows.append(f"<tr><td class='code'>{_e(code)}</td><td>{_sev(fs[0]['severity'])}</td>"
                    f"<td class='num'>{len(fs)}</td><td class='num'>{trips}</td>"
                    f"<td><span class='bar' style='width:{120 * len(fs) / most:.0f}px'></span></td>"
                    f"<td class='muted'>{_e(MEANING.get(code, ''))}</td></tr>")
    withdrawn = sum(1 for f in outcome.findings if f["status"] == "withdrawn")
    parts.append(f"""<h2>Findings by code</h2><table><tr><th>Code</th><th>Severity</th><th class="num">Raised</th>
<th class="num">Trips</th><th></th><th>Raised when</th></tr>{''.join(rows) or '<tr><td colspan=6>none</td></tr>'}</table>
<p class="muted">{withdrawn} finding(s) were withdrawn by the system when later data removed their ground (not counted).</p>""")

    # -- tonnage by flow ---------------------------------------------------------------------
    flows: dict[tuple, dict] = {}
    for m in outcome.manifests:
        k = (m["generator_site_id"], m["receiver_site_id"], m["waste_code"])
        row = flows.setdefault(k, {"n": 0, "dep": 0, "arr": 0, "acc": 0, "flag": 0})
        row["n"] += 1
        row["dep"] += (m.get("departure_ticket") or {}).get("net_kg") or 0
        row["arr"] += (m.get("arrival_ticket") or {}).get("net_kg") or 0
        row["acc"] += m.get("accepted_kg") or 0
        row["flag"] += m["manifest_no"] in flagged
    rows = []
    for (g, r, code), row in sorted(flows.items(), key=lambda kv: -kv[1]["dep"]):
        diff = row["dep"] - row["arr"]
        pct = 100 * diff / row["dep"] if row["dep"] else 0
        cls = "bad" if pct > (5 if code == "SW07" else 2) else ""
        rows.append(f"<tr><td>{_e(site_names.get(g, g))}</td><td>{_e(site_names.get(r, r))}</td>"
                    f"<td><span class='code'>{_e(code)}</span> <span class='muted'>{_e(region.waste_names.get(code, ''))}</span></td>"
                    f"<td class='num'>{row['n']}</td><td class='num'>{_t(row['dep'])}</td><td class='num'>{_t(row['arr'])}</td>"
                    f"<td class='num'>{_t(row['acc'])}</td><td class='num {cls}'>{_t(diff)} ({pct:.1f} %)</td>"
                    f"<td class='num'>{row['flag'] or ''}</td></tr>")
    parts.append(f"""<h2>Tonnage out vs in, by flow</h2><table><tr><th>Generator site</th><th>Receiving site</th><th>Waste</th>
<th class="num">Trips</th><th class="num">Out t</th><th class="num">In t</th><th class="num">Accepted t</th>
<th class="num">Out − in</th><th class="num">Flagged</th></tr>{''.join(rows)}</table>
<p class="muted">Out = departure weighbridge net, in = arrival weighbridge net (both weighbridges round to 20 kg). Wet sludge
(SW07) loses water on the road: its tolerance is 5 %.</p>""")

    # -- the region ---------------------------------------------------------------------------
    places = [{"geometry": region.site_lonlat_polygon(k), "name": s.name,
               "role": "parking" if s.kind == "parking" else ("generator" if s.kind == "plant" else "receiver")}
              for k, s in region.sites.items()]
    places += [{"geometry": region.zone_lonlat_polygon(k), "name": z.name, "role": z.kind} for k, z in region.zones.items()]
    parts.append(f"""<h2>The region</h2><div style="display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap">
{maps.region_svg(places, roads, 720, 400)}<div style="flex:1;min-width:260px">{_legend(True)}
<p class="muted">{len(region.generators)} generator sites, {sum(1 for s in region.sites.values() if s.permitted)} receiving sites
with permits, {len(region.vehicles)} trucks of {sum(1 for e in region.enterprises.values() if 'transporter' in e.roles)}
transporters (each with a signing GPS terminal and load cell), a weighbridge at every generator and receiver.</p></div></div>""")

    # -- suspicious trips ---------------------------------------------------------------------
    cards = []
    order = sorted(flagged, key=lambda no: (trips_by_no.get(no).scenario.name == "clean" if trips_by_no.get(no) else True, no))
    extra_places = _registry_places(outcome, region, site_ids)
    for no in order:
        cards.append(_trip_card(no, outcome, trips_by_no.get(no), site_names, roads, extra_places))
    parts.append(f"""<h2>Suspicious trips ({len(flagged)})</h2><p>Every trip with a finding above <i>info</i>, with the
picture of its track as the platform recorded it. {_legend(False)}</p>{''.join(cards)}""")

    # -- all manifests -----------------------------------------------------------------------
    rows = []
    for m in outcome.manifests:
        fs = outcome.by_manifest.get(m["manifest_no"], [])
        codes = ", ".join(sorted({f["code"] for f in fs}))
        rows.append(f"<tr><td>{_e(m['manifest_no'])}</td><td>{_e(m['vehicle_plate'])}</td><td class='code'>{_e(m['waste_code'])}</td>"
                    f"<td>{_e(site_names.get(m['generator_site_id'], ''))} → {_e(site_names.get(m['receiver_site_id'], ''))}</td>"
                    f"<td>{_local(m.get('dispatched_at'), '%H:%M')}</td><td>{_local(m.get('received_at'), '%H:%M')}</td>"
                    f"<td>{_e(m['status'])}</td><td class='num'>{m['declared_kg']:,}</td>"
                    f"<td class='num'>{((m.get('departure_ticket') or {}).get('net_kg') or 0):,}</td>"
                    f"<td class='num'>{((m.get('arrival_ticket') or {}).get('net_kg') or 0):,}</td>"
                    f"<td class='num'>{(m.get('accepted_kg') or 0):,}</td><td class='{'bad' if m['manifest_no'] in flagged else 'muted'}'>{_e(codes)}</td></tr>")
    parts.append(f"""<h2>All manifests</h2><details><summary>{len(outcome.manifests)} manifests (click to open)</summary>
<table><tr><th>Manifest</th><th>Plate</th><th>Waste</th><th>From → to</th><th>Dispatched</th><th>Received</th><th>Status</th>
<th class="num">Declared kg</th><th class="num">Out kg</th><th class="num">In kg</th><th class="num">Accepted kg</th><th>Findings</th></tr>
{''.join(rows)}</table></details>""")
    timings = numbers.get("timings_s") or {}
    play = numbers.get("play") or {}
    parts.append(f"""<footer>Produced by <code>wasteflow demo</code>: a simulated day played through the real system — devices
published {play.get('published', 0):,} signed MQTT messages to the embedded broker, the bridge stored them, live detection and
reconciliation at receipt raised the findings; this report reads everything back through the REST API as the regulator.
Times are local (Asia/Shanghai). Maps: equirectangular projection scaled by cos(latitude), north up, drawn by the project
(no map tiles). Run took {timings.get('total_s', 0):.0f} s.</footer>""")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wasteflow — Baotou {plan.day.isoformat()}</title>"
            f"<style>{CSS}</style></head><body><main>{''.join(parts)}</main></body></html>")


def sc_tol() -> tuple[float, float]:
    from simulators.scenarios import LOCATION_TOLERANCE_M, TIME_TOLERANCE_S
    return LOCATION_TOLERANCE_M, TIME_TOLERANCE_S


def _legend(region: bool) -> str:
    items = [("#d9f2e3", "#1f8a4c", "generator site"), ("#dbe8fb", "#2563eb", "receiving site"),
             ("#ececec", "#777", "other site"), ("#efe6fb", "#7c4dcc", "transporter depot"),
             ("#eaf7d9", "#6a9a2a", "rest area"), ("#fde7e7", "#c62828", "restricted zone (drinking water)")]
    out = "".join(f'<span><i class="sw" style="background:{f};border-color:{s}"></i>{l}</span>' for f, s, l in items)
    if not region:
        out += ('<span><i class="sw" style="background:#cfe0fb;border-color:#3b82f6;border-style:dashed"></i>planned route '
                'and its corridor</span><span>━ track · <span style="color:#c62828">┅ gap / jump</span></span>'
                '<span><i class="sw" style="background:#ffd54f;border-color:#8d6e00;border-radius:50%"></i>stop</span>'
                '<span style="color:#c62828">▼ finding</span>')
    return f'<div class="legend">{out}</div>'


def _site_ids(outcome: Outcome) -> dict[str, int]:
    """Site keys to registered ids, from the manifests (generator and receiver ids)."""
    ids: dict[str, int] = {}
    for tr in outcome.plan.trips:
        m = next((m for m in outcome.manifests if m["manifest_no"] == tr.manifest_no), None)
        if m:
            ids[tr.generator] = m["generator_site_id"]
            ids[tr.receiver] = m["receiver_site_id"]
    return ids


def _registry_places(outcome: Outcome, region, site_ids: dict[str, int]) -> list[dict]:
    out = []
    for k, s in region.sites.items():
        role = "other_site"
        out.append({"kind": "site", "id": site_ids.get(k, -hash(k) % 10_000_000), "name": s.name, "role": role,
                    "geometry": region.site_lonlat_polygon(k)})
    for i, (k, z) in enumerate(region.zones.items()):
        out.append({"kind": "zone", "id": f"z{k}", "name": z.name, "role": z.kind, "geometry": region.zone_lonlat_polygon(k)})
    return out


def _trip_card(no: str, outcome: Outcome, trip, site_names: dict[int, str], roads, extra_places) -> str:
    m = next((m for m in outcome.manifests if m["manifest_no"] == no), {})
    fs = sorted(outcome.by_manifest.get(no, []), key=lambda f: f["id"])
    track = outcome.tracks.get(no, {"features": []})
    # the API's track lists places near the fixes; the picture also shows the others in view, by name
    known_names = {f["properties"].get("name") for f in track.get("features", []) if f["properties"].get("kind") in ("site", "zone")}
    extra = [p for p in extra_places if p["name"] not in known_names]
    svg = maps.trip_svg(track, roads, extra)
    located = [f for f in fs if f.get("location")]
    n_of = {f["id"]: i for i, f in enumerate(sorted(located, key=lambda f: f["id"]), 1)}
    items = []
    for f in fs:
        marker = f"<b>[{n_of[f['id']]}]</b> " if f["id"] in n_of else ""
        items.append(f"<li>{marker}{_sev(f['severity'])} <span class='code'>{_e(f['code'])}</span> "
                     f"<span class='muted'>#{f['id']} · {_local(f['window']['start'])}–{_local(f['window']['end'])} · "
                     f"{_e(_where(f))}{'' if f.get('verified') else ' · unverified data'}</span><br>{_e(describe(f, site_names))}</li>")
    dep, arr = m.get("departure_ticket") or {}, m.get("arrival_ticket") or {}
    story = ""
    if trip is not None and trip.scenario.is_violation:
        story = (f"<div class='story'><b>Simulation ground truth — {_e(trip.scenario.title)}:</b> {_e(trip.scenario.story)}"
                 + (" " + _e("; ".join(trip.notes)) + "." if trip.notes else "") + "</div>")
    facts = f"""<table class="facts">
<tr><td>Truck</td><td>{_e(m.get('vehicle_plate', ''))}</td></tr>
<tr><td>Waste</td><td><span class="code">{_e(m.get('waste_code', ''))}</span> {_e(outcome.plan.region.waste_names.get(m.get('waste_code', ''), ''))}, declared {m.get('declared_kg', 0):,} kg</td></tr>
<tr><td>From</td><td>{_e(site_names.get(m.get('generator_site_id'), ''))}</td></tr>
<tr><td>To</td><td>{_e(site_names.get(m.get('receiver_site_id'), ''))}</td></tr>
<tr><td>Dispatched</td><td>{_local(m.get('dispatched_at'))} (planned arrival {_local(m.get('planned_arrival'), '%H:%M')})</td></tr>
<tr><td>Received</td><td>{_local(m.get('received_at'))} — status <b>{_e(m.get('status', ''))}</b></td></tr>
<tr><td>Weighed out</td><td>{('{} kg net, ticket {}'.format(format(dep['net_kg'], ','), _e(dep['ticket_no']))) if dep else '<span class="bad">no ticket</span>'}</td></tr>
<tr><td>Weighed in</td><td>{('{} kg net, ticket {}'.format(format(arr['net_kg'], ','), _e(arr['ticket_no']))) if arr else '<span class="bad">no ticket</span>'}</td></tr>
<tr><td>Accepted</td><td>{(m.get('accepted_kg') or 0):,} kg</td></tr>
<tr><td>Track</td><td>{(m.get('trip') or {}).get('fixes', 0)} fixes, {((m.get('trip') or {}).get('distance_m') or 0) / 1000:.1f} km</td></tr>
</table>"""
    worst = max((SEVERITY_RANK[f["severity"]] for f in fs), default=0)
    sev = {2: "critical", 1: "warning", 0: "info"}[worst]
    return f"""<section class="trip" id="{_e(no)}"><div class="head"><h3>{_sev(sev)} {_e(no)} · {_e(m.get('vehicle_plate', ''))}</h3>
<span class="muted">{_e(', '.join(sorted({f['code'] for f in fs})))}</span></div>{story}
<div class="grid"><div>{svg}</div><div>{facts}<ol class="findings" style="list-style:none;padding-left:0">{''.join(items)}</ol></div></div></section>"""

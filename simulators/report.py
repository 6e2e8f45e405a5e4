"""The regulator's report (one self-contained HTML file), its numbers (JSON) and the terminal summary.

The page is :data:`SECTIONS`, a list of functions each rendering one section from the
:class:`ReportData` they share; a new section is one function and its place in the list. The
static HTML and the CSS live in ``simulators/templates/`` as :class:`string.Template` files
(``$name`` placeholders), filled by :func:`fill`; Python builds only the repeated rows.
"""

from __future__ import annotations

import html as _html
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from simulators import maps
from simulators.finding_text import MEANING, TZ, describe, local_time
from simulators.fleet import Plan, TripPlan
from simulators.outcome import SEVERITY_RANK, Check, Outcome, Verdict
from simulators.region import Region
from simulators.runner import PlayStats
from simulators.truth import LOCATION_TOLERANCE_M, TIME_TOLERANCE_S

TEMPLATES = resources.files("simulators") / "templates"


# --- the numbers -----------------------------------------------------------------------------

def summary_numbers(outcome: Outcome) -> dict:
    statuses: dict[str, int] = {}
    for m in outcome.manifests:
        statuses[m["status"]] = statuses.get(m["status"], 0) + 1
    return {
        "day": outcome.plan.day.isoformat(), "seed": outcome.plan.seed, "manifests": len(outcome.manifests),
        "statuses": statuses, "tonnage": outcome.tonnage(), "findings_by_code": dict(sorted(outcome.codes.items())),
        "violations": [_verdict_numbers(v) for v in outcome.verdicts],
        "clean_trips": sum(1 for t in outcome.plan.trips if not t.scenario.is_violation),
        "clean_flagged": [{"manifest_no": t.manifest_no, "code": f["code"], "severity": f["severity"],
                           "finding_id": f["id"]} for t, f in outcome.clean_flagged],
        "all_found": outcome.all_found, "clean_ok": outcome.clean_ok,
        "findings_via": dict(Counter(via for f in outcome.raised for via in f.get("evidence", {}).get("via", []))),
    }


def _verdict_numbers(v: Verdict) -> dict:
    return {"scenario": v.trip.scenario.name, "manifest_no": v.trip.manifest_no, "plate": v.trip.plate, "ok": v.ok,
            "checks": [{"code": c.code, "found": c.found, "distance_m": c.distance_m,
                        "time_error_s": c.time_error_s, "finding_id": c.finding and c.finding["id"]}
                       for c in v.checks],
            "other_findings": [f["code"] for f in v.extra]}


def write(outcome: Outcome, out_dir: Path, stats: PlayStats | None = None,
          timings: dict[str, float] | None = None) -> tuple[Path, Path]:
    """Write ``report.json`` (the numbers) and ``report.html`` into ``out_dir``."""
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


# --- the terminal summary --------------------------------------------------------------------

def print_summary(result: Any, console: Any) -> None:
    """The day in a few lines and two tables; ``result`` is a :class:`simulators.demo.DemoResult`."""
    outcome = result.outcome
    t = outcome.tonnage()
    console.print()
    console.print(f"[bold]{len(outcome.manifests)} manifests[/bold] on {outcome.plan.day.isoformat()}: "
                  f"{t['reconciled']} reconciled; departed {t['departed_kg'] / 1000:,.1f} t, "
                  f"arrived {t['arrived_kg'] / 1000:,.1f} t, accepted {t['accepted_kg'] / 1000:,.1f} t, "
                  f"in transit {t['in_transit_kg'] / 1000:,.1f} t")
    console.print(_codes_table(outcome))
    console.print(_violations_table(outcome))
    n_clean = sum(1 for tr in outcome.plan.trips if not tr.scenario.is_violation)
    if outcome.clean_flagged:
        console.print(f"[red]{len(outcome.clean_flagged)} finding(s) above info on the {n_clean} clean trips:[/red] "
                      + ", ".join(f"{tr.manifest_no} {f['code']}" for tr, f in outcome.clean_flagged[:10]))
    else:
        console.print(f"[green]No finding above info on the {n_clean} clean trips.[/green]")
    via = Counter(v for f in outcome.raised for v in f.get("evidence", {}).get("via", []))
    if via.get("jt808"):
        console.print(f"{via['jt808']} finding(s) raised from JT/T 808 terminals' data (through the gateway).")
    if result.stats.errors:
        console.print(f"[red]{len(result.stats.errors)} API error(s)[/red], first: {result.stats.errors[0]}")
    console.print(f"\nReport: [bold cyan]{result.report_html.resolve()}[/bold cyan]  (numbers: {result.report_json})")
    console.print(f"[dim]took {result.timings.get('total_s', 0):.1f} s "
                  f"(setup {result.timings.get('setup_s', 0):.1f}, day {result.timings.get('play_s', 0):.1f}, "
                  f"report {result.timings.get('collect_s', 0):.1f})[/dim]")


def _codes_table(outcome: Outcome) -> Any:
    from rich.table import Table

    codes = Table(title="Findings by code", show_edge=False)
    codes.add_column("code")
    codes.add_column("raised", justify="right")
    for code, n in sorted(outcome.codes.items(), key=lambda kv: -kv[1]):
        codes.add_row(code, str(n))
    return codes


def _violations_table(outcome: Outcome) -> Any:
    from rich.table import Table

    table = Table(title="Injected violations", show_edge=False)
    for col in ("scenario", "manifest", "expected", "found", "where / when"):
        table.add_column(col)
    for v in outcome.verdicts:
        found = ", ".join(("[green]" if c.ok else "[red]") + c.code + "[/]" for c in v.checks)
        detail = "; ".join(_err(c) for c in v.checks if _err(c))
        table.add_row(v.trip.scenario.title, v.trip.manifest_no or "-", ", ".join(c.code for c in v.checks),
                      ("[green]found[/]" if v.ok else "[red]MISSED[/]") + f" ({found})", detail)
    return table


def _err(c: Check) -> str:
    parts = []
    if c.distance_m is not None:
        parts.append(f"{c.distance_m:.0f} m")
    if c.time_error_s is not None:
        parts.append(f"{c.time_error_s:.0f} s")
    return f"{c.code}: " + ", ".join(parts) if parts else ""


# --- the HTML page ---------------------------------------------------------------------------

@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8").removesuffix("\n"))


def fill(name: str, **values: object) -> str:
    """The template ``simulators/templates/<name>`` with its ``$placeholders`` filled in."""
    return _template(name).substitute(values)


def esc(x: object) -> str:
    return _html.escape(str(x))


def _t(kg: float | None) -> str:
    return "–" if kg is None else f"{kg / 1000:,.1f}"


def _sev(severity: str) -> str:
    return f'<span class="sev {esc(severity)}">{esc(severity)}</span>'


def _net_kg(ticket: dict | None) -> int:
    return (ticket or {}).get("net_kg") or 0


Roads = list[tuple[list, str]]


@dataclass
class ReportData:
    """What the sections share, worked out once from the outcome."""

    outcome: Outcome
    numbers: dict  # as in report.json
    site_ids: dict[str, int]  # site key -> registered id
    site_names: dict[Any, str]  # registered id -> name
    roads: Roads  # (lon/lat coordinates, road class), for the maps
    flagged: set[str]  # manifests with a finding above info

    @property
    def plan(self) -> Plan:
        return self.outcome.plan

    @property
    def region(self) -> Region:
        return self.outcome.plan.region


def report_data(outcome: Outcome, numbers: dict) -> ReportData:
    region = outcome.plan.region
    names = {key: s.name for key, s in region.sites.items()}
    site_ids = _site_ids(outcome)
    roads = [([list(region.frame.lonlat(p)) for p in rd.points], rd.kind) for rd in region.network.roads]
    flagged = {no for no, fs in outcome.by_manifest.items()
               if no and any(SEVERITY_RANK[f["severity"]] > 0 for f in fs)}
    return ReportData(outcome, numbers, site_ids, {sid: names.get(key, key) for key, sid in site_ids.items()},
                      roads, flagged)


def _site_ids(outcome: Outcome) -> dict[str, int]:
    """Site keys to registered ids, from the manifests (generator and receiver ids)."""
    ids: dict[str, int] = {}
    for tr in outcome.plan.trips:
        m = next((m for m in outcome.manifests if m["manifest_no"] == tr.manifest_no), None)
        if m:
            ids[tr.generator] = m["generator_site_id"]
            ids[tr.receiver] = m["receiver_site_id"]
    return ids


def header(d: ReportData) -> str:
    return fill("header.html", day=d.plan.day.isoformat(), manifests=len(d.outcome.manifests),
                generated=datetime.now(TZ).strftime('%Y-%m-%d %H:%M'), seed=d.plan.seed,
                violations=len(d.plan.violations))


def key_figures(d: ReportData) -> str:
    t, outcome = d.numbers["tonnage"], d.outcome
    short_kg = t["received_trips_departed_kg"] - t["arrived_kg"]
    short_pct = 100.0 * short_kg / t["received_trips_departed_kg"] if t["received_trips_departed_kg"] else 0.0
    severities: dict[str, int] = defaultdict(int)
    for f in outcome.raised:
        severities[f["severity"]] += 1
    return fill("key_figures.html", manifests=len(outcome.manifests), reconciled=t["reconciled"],
                open=len(outcome.manifests) - t["reconciled"], departed_t=_t(t["departed_kg"]),
                declared_t=_t(t["declared_kg"]), arrived_t=_t(t["arrived_kg"]), accepted_t=_t(t["accepted_kg"]),
                in_transit_t=_t(t["in_transit_kg"]), short_t=_t(short_kg), short_pct=f"{short_pct:.2f}",
                raised=len(outcome.raised), critical=severities["critical"], warning=severities["warning"],
                info=severities["info"], flagged=len(d.flagged))


def injected_violations(d: ReportData) -> str:
    outcome = d.outcome
    caught = sum(1 for v in outcome.verdicts if v.ok)
    return fill("injected_violations.html", place_m=f"{LOCATION_TOLERANCE_M:.0f}", time_s=f"{TIME_TOLERANCE_S:.0f}",
                verdict_class="ok" if caught == len(outcome.verdicts) else "bad", caught=caught,
                planted=len(outcome.verdicts), clean_line=_clean_line(d),
                rows="".join(_violation_row(v) for v in outcome.verdicts))


def _clean_line(d: ReportData) -> str:
    outcome = d.outcome
    if outcome.clean_ok:
        return f'<span class="ok">none of the {d.numbers["clean_trips"]} clean trips raised anything above info</span>'
    return (f'<span class="bad">{len(outcome.clean_flagged)} finding(s) above info on clean trips</span>: '
            + ", ".join(f"{esc(tr.manifest_no)} {esc(f['code'])}" for tr, f in outcome.clean_flagged[:12]))


def _violation_row(v: Verdict) -> str:
    tr = v.trip
    checks = "<br>".join(f'<span class="code">{esc(c.code)}</span> ' + _check_result(c) for c in v.checks)
    also = ", ".join(sorted({f["code"] for f in v.extra})) or "–"
    anchor = f'<a href="#{esc(tr.manifest_no)}">{esc(tr.manifest_no)}</a>' if tr.manifest_no else "–"
    return (f"<tr><td><b>{esc(tr.scenario.title)}</b><div class='muted'>{esc(tr.scenario.story)}</div></td>"
            f"<td>{anchor}<div class='muted'>{esc(tr.plate)}</div></td><td class='verdict'>{checks}</td>"
            f"<td class='muted'>{esc(also)}</td></tr>")


def _check_result(c: Check) -> str:
    if c.ok and c.finding is not None:  # ok implies found
        return (f'<span class="ok">✓ found</span> <span class="muted">#{c.finding["id"]}'
                + (f", {c.distance_m:.0f} m" if c.distance_m is not None and c.distance_m != float("inf") else "")
                + (f", {c.time_error_s:.0f} s" if c.time_error_s is not None else "") + "</span>")
    if not c.found:
        return '<span class="bad">✗ missed</span>'
    return (f'<span class="bad">✗ off</span> '
            f'<span class="muted">{c.distance_m or 0:.0f} m, {c.time_error_s or 0:.0f} s</span>')


def findings_by_code(d: ReportData) -> str:
    by_code: dict[str, list[dict]] = defaultdict(list)
    for f in d.outcome.raised:
        by_code[f["code"]].append(f)
    most = max((len(v) for v in by_code.values()), default=1)
    rows = [_code_row(code, fs, most)
            for code, fs in sorted(by_code.items(), key=lambda kv: (-SEVERITY_RANK[kv[1][0]["severity"]], -len(kv[1])))]
    withdrawn = sum(1 for f in d.outcome.findings if f["status"] == "withdrawn")
    return fill("findings_by_code.html", rows="".join(rows) or "<tr><td colspan=6>none</td></tr>", withdrawn=withdrawn)


def _code_row(code: str, fs: list[dict], most: int) -> str:
    trips = len({f["manifest_no"] for f in fs})
    return (f"<tr><td class='code'>{esc(code)}</td><td>{_sev(fs[0]['severity'])}</td>"
            f"<td class='num'>{len(fs)}</td><td class='num'>{trips}</td>"
            f"<td><span class='bar' style='width:{120 * len(fs) / most:.0f}px'></span></td>"
            f"<td class='muted'>{esc(MEANING.get(code, ''))}</td></tr>")


def tonnage_by_flow(d: ReportData) -> str:
    flows: dict[tuple, dict] = {}
    for m in d.outcome.manifests:
        k = (m["generator_site_id"], m["receiver_site_id"], m["waste_code"])
        row = flows.setdefault(k, {"n": 0, "dep": 0, "arr": 0, "acc": 0, "flag": 0})
        row["n"] += 1
        row["dep"] += _net_kg(m.get("departure_ticket"))
        row["arr"] += _net_kg(m.get("arrival_ticket"))
        row["acc"] += m.get("accepted_kg") or 0
        row["flag"] += m["manifest_no"] in d.flagged
    rows = [_flow_row(d, key, row) for key, row in sorted(flows.items(), key=lambda kv: -kv[1]["dep"])]
    return fill("tonnage_by_flow.html", rows="".join(rows))


def _flow_row(d: ReportData, key: tuple, row: dict) -> str:
    g, r, code = key
    diff = row["dep"] - row["arr"]
    pct = 100 * diff / row["dep"] if row["dep"] else 0
    cls = "bad" if pct > (5 if code == "SW07" else 2) else ""
    return (f"<tr><td>{esc(d.site_names.get(g, g))}</td><td>{esc(d.site_names.get(r, r))}</td>"
            f"<td><span class='code'>{esc(code)}</span> "
            f"<span class='muted'>{esc(d.region.waste_names.get(code, ''))}</span></td>"
            f"<td class='num'>{row['n']}</td><td class='num'>{_t(row['dep'])}</td>"
            f"<td class='num'>{_t(row['arr'])}</td>"
            f"<td class='num'>{_t(row['acc'])}</td><td class='num {cls}'>{_t(diff)} ({pct:.1f} %)</td>"
            f"<td class='num'>{row['flag'] or ''}</td></tr>")


def the_region(d: ReportData) -> str:
    region = d.region
    places = [{"geometry": region.site_lonlat_polygon(k), "name": s.name,
               "role": "parking" if s.kind == "parking" else ("generator" if s.kind == "plant" else "receiver")}
              for k, s in region.sites.items()]
    places += [{"geometry": region.zone_lonlat_polygon(k), "name": z.name, "role": z.kind}
               for k, z in region.zones.items()]
    return fill("region.html", map=maps.region_svg(places, d.roads, 720, 400), legend=_legend(True),
                generators=len(region.generators), receivers=sum(1 for s in region.sites.values() if s.permitted),
                trucks=len(region.vehicles),
                transporters=sum(1 for e in region.enterprises.values() if "transporter" in e.roles))


LEGEND_PLACES = (("#d9f2e3", "#1f8a4c", "generator site"), ("#dbe8fb", "#2563eb", "receiving site"),
                 ("#ececec", "#777", "other site"), ("#efe6fb", "#7c4dcc", "transporter depot"),
                 ("#eaf7d9", "#6a9a2a", "rest area"), ("#fde7e7", "#c62828", "restricted zone (drinking water)"))


def _legend(region: bool) -> str:
    out = "".join(f'<span><i class="sw" style="background:{fill_};border-color:{stroke}"></i>{label}</span>'
                  for fill_, stroke, label in LEGEND_PLACES)
    if not region:
        out += fill("trip_legend.html")
    return f'<div class="legend">{out}</div>'


def suspicious_trips(d: ReportData) -> str:
    trips_by_no = {tr.manifest_no: tr for tr in d.plan.trips if tr.manifest_no}

    def injected_first(no: str) -> tuple[bool, str]:
        trip = trips_by_no.get(no)
        return (trip.scenario.name == "clean" if trip else True, no)

    extra_places = _registry_places(d)
    cards = [_trip_card(d, no, trips_by_no.get(no), extra_places) for no in sorted(d.flagged, key=injected_first)]
    return fill("suspicious_trips.html", flagged=len(d.flagged), legend=_legend(False), cards="".join(cards))


def _registry_places(d: ReportData) -> list[dict]:
    """Every site and zone, for the trip maps to show those in view that the track does not list."""
    region = d.region
    out = [{"kind": "site", "id": d.site_ids.get(k, -hash(k) % 10_000_000), "name": s.name, "role": "other_site",
            "geometry": region.site_lonlat_polygon(k)} for k, s in region.sites.items()]
    out += [{"kind": "zone", "id": f"z{k}", "name": z.name, "role": z.kind, "geometry": region.zone_lonlat_polygon(k)}
            for k, z in region.zones.items()]
    return out


def _trip_card(d: ReportData, no: str, trip: TripPlan | None, extra_places: list[dict]) -> str:
    m = next((m for m in d.outcome.manifests if m["manifest_no"] == no), {})
    fs = sorted(d.outcome.by_manifest.get(no, []), key=lambda f: f["id"])
    worst = max((SEVERITY_RANK[f["severity"]] for f in fs), default=0)
    return fill("trip_card.html", no=esc(no), severity=_sev({2: "critical", 1: "warning", 0: "info"}[worst]),
                plate=esc(m.get("vehicle_plate", "")), codes=esc(", ".join(sorted({f["code"] for f in fs}))),
                story=_ground_truth(trip), map=_trip_map(d, no, extra_places), facts=_trip_facts(d, m),
                findings=_finding_items(d, fs))


def _trip_map(d: ReportData, no: str, extra_places: list[dict]) -> str:
    track = d.outcome.tracks.get(no, {"features": []})
    # the API's track lists places near the fixes; the picture also shows the others in view, by name
    known_names = {f["properties"].get("name") for f in track.get("features", [])
                   if f["properties"].get("kind") in ("site", "zone")}
    return maps.trip_svg(track, d.roads, [p for p in extra_places if p["name"] not in known_names])


def _ground_truth(trip: TripPlan | None) -> str:
    if trip is None or not trip.scenario.is_violation:
        return ""
    return (f"<div class='story'><b>Simulation ground truth — {esc(trip.scenario.title)}:</b> "
            f"{esc(trip.scenario.story)}" + (" " + esc("; ".join(trip.notes)) + "." if trip.notes else "") + "</div>")


def _ticket_line(ticket: dict) -> str:
    if not ticket:
        return '<span class="bad">no ticket</span>'
    return f"{ticket['net_kg']:,} kg net, ticket {esc(ticket['ticket_no'])}"


def _trip_facts(d: ReportData, m: dict) -> str:
    track = m.get("trip") or {}
    return fill("trip_facts.html", plate=esc(m.get("vehicle_plate", "")), waste_code=esc(m.get("waste_code", "")),
                waste_name=esc(d.region.waste_names.get(m.get("waste_code", ""), "")),
                declared_kg=f"{m.get('declared_kg', 0):,}",
                generator=esc(d.site_names.get(m.get("generator_site_id"), "")),
                receiver=esc(d.site_names.get(m.get("receiver_site_id"), "")),
                dispatched=local_time(m.get("dispatched_at")),
                planned_arrival=local_time(m.get("planned_arrival"), "%H:%M"),
                received=local_time(m.get("received_at")), status=esc(m.get("status", "")),
                weighed_out=_ticket_line(m.get("departure_ticket") or {}),
                weighed_in=_ticket_line(m.get("arrival_ticket") or {}),
                accepted_kg=f"{(m.get('accepted_kg') or 0):,}", fixes=track.get("fixes", 0),
                track_km=f"{(track.get('distance_m') or 0) / 1000:.1f}")


def _finding_items(d: ReportData, fs: list[dict]) -> str:
    """The trip's findings, those with a place numbered as their pins on the map."""
    located = [f for f in fs if f.get("location")]
    pin = {f["id"]: i for i, f in enumerate(sorted(located, key=lambda f: f["id"]), 1)}
    items = []
    for f in fs:
        marker = f"<b>[{pin[f['id']]}]</b> " if f["id"] in pin else ""
        window = f"{local_time(f['window']['start'])}–{local_time(f['window']['end'])}"
        items.append(f"<li>{marker}{_sev(f['severity'])} <span class='code'>{esc(f['code'])}</span> "
                     f"<span class='muted'>#{f['id']} · {window} · "
                     f"{esc(_where(f))}{'' if f.get('verified') else ' · unverified data'}{_via(f)}</span>"
                     f"<br>{esc(describe(f, d.site_names))}</li>")
    return "".join(items)


def _via(f: dict) -> str:
    """The gateways the finding's readings came through (JT/T 808 terminals), if any."""
    via = f.get("evidence", {}).get("via") or []
    return "".join(f" · via {esc(GATEWAY_NAMES.get(name, name))}" for name in via)


GATEWAY_NAMES = {"jt808": "JT/T 808", "scale": "the scale gateway", "osmand": "OsmAnd"}


def _where(f: dict) -> str:
    loc = f.get("location")
    if not loc:
        return "–"
    lon, lat = loc["coordinates"][:2]
    return f"{lat:.5f} N, {lon:.5f} E"


def all_manifests(d: ReportData) -> str:
    rows = [_manifest_row(d, m) for m in d.outcome.manifests]
    return fill("all_manifests.html", manifests=len(d.outcome.manifests), rows="".join(rows))


def _manifest_row(d: ReportData, m: dict) -> str:
    codes = ", ".join(sorted({f["code"] for f in d.outcome.by_manifest.get(m["manifest_no"], [])}))
    route = f"{esc(d.site_names.get(m['generator_site_id'], ''))} → {esc(d.site_names.get(m['receiver_site_id'], ''))}"
    return (f"<tr><td>{esc(m['manifest_no'])}</td><td>{esc(m['vehicle_plate'])}</td>"
            f"<td class='code'>{esc(m['waste_code'])}</td><td>{route}</td>"
            f"<td>{local_time(m.get('dispatched_at'), '%H:%M')}</td>"
            f"<td>{local_time(m.get('received_at'), '%H:%M')}</td>"
            f"<td>{esc(m['status'])}</td><td class='num'>{m['declared_kg']:,}</td>"
            f"<td class='num'>{_net_kg(m.get('departure_ticket')):,}</td>"
            f"<td class='num'>{_net_kg(m.get('arrival_ticket')):,}</td>"
            f"<td class='num'>{(m.get('accepted_kg') or 0):,}</td>"
            f"<td class='{'bad' if m['manifest_no'] in d.flagged else 'muted'}'>{esc(codes)}</td></tr>")


def footer(d: ReportData) -> str:
    timings = d.numbers.get("timings_s") or {}
    play = d.numbers.get("play") or {}
    return fill("footer.html", published=f"{play.get('published', 0):,}", total_s=f"{timings.get('total_s', 0):.0f}")


Section = Callable[[ReportData], str]

SECTIONS: list[Section] = [
    header,
    key_figures,
    injected_violations,
    findings_by_code,
    tonnage_by_flow,
    the_region,
    suspicious_trips,
    all_manifests,
    footer,
]
"""The page, top to bottom: each function renders one section from the shared ReportData."""


def render(outcome: Outcome, numbers: dict, sections: Sequence[Section] | None = None) -> str:
    """The whole page: ``sections`` (default :data:`SECTIONS`) in order, with the CSS inline."""
    data = report_data(outcome, numbers)
    body = "".join(section(data) for section in (SECTIONS if sections is None else sections))
    css = "\n" + (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return fill("page.html", day=data.plan.day.isoformat(), css=css, body=body)

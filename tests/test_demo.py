"""The whole system end to end: a short simulated day through the real API, broker and bridge.

30 manifests, one of each injected violation, fixed seed. The report's numbers are checked
against the scenarios' ground truth: every violation found with its code (within 200 m and
2 min where place and time are meaningful), nothing above ``info`` on the clean trips.
"""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from simulators import scenarios as sc
from simulators.demo import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "wasteflow-demo"
    console = Console(file=open("/dev/null", "w"), width=120)
    return run(trips=30, seed=7, out_dir=out, speedup=0, console=console, show_progress=False)


@pytest.fixture(scope="module")
def numbers(demo):
    return json.loads(demo.report_json.read_text(encoding="utf-8"))


def test_every_manifest_went_through(demo, numbers):
    assert numbers["manifests"] == len(demo.plan.trips) == 30
    assert not demo.stats.errors
    # everything but the overdue trip was received and reconciled
    assert numbers["statuses"] == {"reconciled": 29, "in_transit": 1}


def test_every_injected_violation_found(demo, numbers):
    assert len(numbers["violations"]) == len(sc.VIOLATIONS)
    for v in numbers["violations"]:
        scenario = sc.ALL[v["scenario"]]
        found = {c["code"] for c in v["checks"] if c["found"]}
        assert found == set(scenario.must), v
        for c in v["checks"]:
            if c["distance_m"] is not None:
                assert c["distance_m"] <= sc.LOCATION_TOLERANCE_M, (v["scenario"], c)
            if c["time_error_s"] is not None:
                assert c["time_error_s"] <= sc.TIME_TOLERANCE_S, (v["scenario"], c)
        allowed = set(scenario.must) | set(scenario.may)
        assert set(v["other_findings"]) <= allowed, v
    assert numbers["all_found"]


def test_location_and_time_checked_where_meaningful(demo):
    checked = {c.code for v in demo.outcome.verdicts for c in v.checks if c.distance_m is not None}
    timed = {c.code for v in demo.outcome.verdicts for c in v.checks if c.time_error_s is not None}
    assert {"UNAUTHORIZED_STOP", "LOAD_DROP", "DIVERSION", "ROUTE_DEVIATION", "RESTRICTED_ZONE_ENTRY",
            "IMPOSSIBLE_JUMP", "GPS_GAP"} <= checked
    assert {"OVERDUE", "PLATE_MISMATCH", "GPS_GAP", "IMPOSSIBLE_JUMP"} <= timed


def test_nothing_above_info_on_clean_trips(demo, numbers):
    assert numbers["clean_trips"] == 30 - len(sc.VIOLATIONS)
    assert numbers["clean_flagged"] == []
    clean = {t.manifest_no for t in demo.plan.trips if not t.scenario.is_violation}
    raised = [f for f in demo.outcome.raised if f["manifest_no"] in clean and f["severity"] != "info"]
    assert raised == []


def test_report_numbers_match_the_manifests(demo, numbers):
    manifests = demo.outcome.manifests
    departed = sum((m.get("departure_ticket") or {}).get("net_kg") or 0 for m in manifests)
    arrived = sum((m.get("arrival_ticket") or {}).get("net_kg") or 0 for m in manifests)
    assert numbers["tonnage"]["departed_kg"] == departed > 0
    assert numbers["tonnage"]["arrived_kg"] == arrived > 0
    # what the weighbridges say is what the simulator weighed
    planned = {t.manifest_no: t for t in demo.plan.trips}
    for m in manifests:
        trip = planned[m["manifest_no"]]
        if trip.arrival_ticket is not None:
            assert m["arrival_ticket"]["net_kg"] == trip.arrival_ticket.net_kg
    codes = numbers["findings_by_code"]
    for scenario in sc.VIOLATIONS:
        for code in scenario.must:
            assert codes.get(code, 0) >= 1


def test_report_is_self_contained(demo):
    html = demo.report_html.read_text(encoding="utf-8")
    assert html.count("<svg") >= 1 + len(sc.VIOLATIONS) - 2  # region + a picture per suspicious trip
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert external == []
    assert "@import" not in html and "url(http" not in html
    for v in demo.outcome.verdicts:
        assert v.trip.manifest_no in html


def test_the_manifest_workflow_is_in_the_demo(demo):
    """One of each: a multi-leg transport, a partial refusal with its follow-up, a revision, webhooks."""
    done = demo.workflow
    assert done is not None and done.ok, done
    assert done.multi_leg and done.partial_refusal and done.follow_up and done.revision_status == "applied"
    actions = {(d["to"], d["action"]) for d in done.deliveries}
    assert {("/receiver", "manifest.received"), ("/receiver", "revision.proposed"),
            ("/receiver", "revision.applied")} <= actions
    assert all(set(d) == {"to", "action", "id", "at", "signature_ok"} and d["signature_ok"] for d in done.deliveries)


def test_one_transporters_trucks_report_through_the_jt808_gateway(demo, numbers):
    """Their fixes come from JT/T 808 terminals over TCP, through `wasteflow gateway jt808`, and the
    findings raised from them say so."""
    assert demo.stats.errors == []
    assert numbers["findings_via"].get("jt808", 0) >= 1, numbers["findings_via"]
    via_jt808 = [f for f in demo.outcome.raised if "jt808" in f.get("evidence", {}).get("via", [])]
    assert any(f["verified"] is False for f in via_jt808), "a terminal's fixes are unverified evidence"
    log = (demo.report_html.parent / "jt808-gateway.log").read_text()
    assert "jt808 gateway listening" in log and "Traceback" not in log


def test_one_transporters_trucks_report_through_phones_and_the_http_gateway(demo, numbers):
    """Their fixes come from phones over HTTP (OsmAnd queries and Traccar Client JSON), through
    `wasteflow gateway http`; every request was answered 200, and the findings raised from them say so."""
    out = demo.report_html.parent
    phones = (out / "osmand-phones.log").read_text()
    assert " 0 errors" in phones, phones
    requests, answered = (int(word) for word in re.findall(r"(\d+) (?:requests|answered)", phones))
    assert requests > 0 and answered == requests, phones
    assert numbers["findings_via"].get("osmand", 0) >= 1, numbers["findings_via"]
    via_osmand = [f for f in demo.outcome.raised if "osmand" in f.get("evidence", {}).get("via", [])]
    assert any(f["verified"] is False for f in via_osmand), "a phone's fixes are unverified evidence"
    log = (out / "osmand-gateway.log").read_text()
    assert "osmand gateway listening" in log and "Traceback" not in log


def test_some_trucks_were_weighed_through_the_scale_gateway(demo):
    """Tickets made by the scale gateway from an indicator stream, stored and linked to their manifests as arrivals."""
    assert demo.scale_tickets, "no ticket came through the scale gateway"
    manifests = {m["manifest_no"]: m for m in demo.outcome.manifests}
    for ticket_no, manifest_no in demo.scale_tickets.items():
        assert re.fullmatch(r"wb-[\w-]+-\d{8}-\d{5}", ticket_no)
        arrival = manifests[manifest_no]["arrival_ticket"]
        assert arrival["ticket_no"] == ticket_no and arrival["net_kg"] == arrival["gross_kg"] - arrival["tare_kg"]

"""Rules are guarded one by one, like Traccar's event handlers: one that raises is logged with
the manifest it failed on, and every other rule still runs and reports."""

from __future__ import annotations

import logging

import pytest

from tests.utils.detection import PLACES, RECEIVER, TrackBuilder, at, codes, make_trip, route_point, ticket
from wasteflow.detection import Thresholds, episodes
from wasteflow.detection import pipeline as pipeline_module
from wasteflow.detection.context import TripContext
from wasteflow.detection.live_rules import LIVE_RULES
from wasteflow.detection.reconciliation import RECONCILIATION_RULES
from wasteflow.detection.rule import Rule, run_rules

TH = Thresholds()


def broken(ctx: TripContext):
    raise ZeroDivisionError("a rule with a bug")


def stopping_trip():
    """Drives out, stops 15 min off the road, drives on: raises UNAUTHORIZED_STOP."""
    b = TrackBuilder(route_point(0.0), interval_s=10).emit()
    b.drive_to(route_point(0.3), 60).wait(900).drive_to(route_point(0.4), 60)
    return make_trip(b.fixes, route=None)


def test_a_broken_rule_is_logged_and_the_others_still_run(caplog):
    trip = stopping_trip()
    rules = (Rule(("BROKEN",), broken),) + LIVE_RULES
    with caplog.at_level(logging.ERROR, logger="wasteflow.detection"):
        run = run_rules(rules, TripContext(trip, PLACES, TH))
    assert codes(run.drafts) == ["UNAUTHORIZED_STOP"]
    assert run.failed_codes == {"BROKEN"}
    [record] = [r for r in caplog.records if r.name == "wasteflow.detection"]
    assert "broken" in record.getMessage() and trip.manifest_no in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


@pytest.mark.parametrize("position", [0, 3, 6])
def test_wherever_the_broken_rule_sits_the_others_give_the_same_drafts(position):
    trip = stopping_trip()
    rules = list(LIVE_RULES + RECONCILIATION_RULES)
    rules.insert(position, Rule(("BROKEN", "ALSO_BROKEN"), broken))
    run = run_rules(rules, TripContext(trip, PLACES, TH))
    assert [d.episode_key for d in run.drafts] == [d.episode_key for d in pipeline_module.reconcile(trip, PLACES, TH)]
    assert run.failed_codes == {"BROKEN", "ALSO_BROKEN"}


def test_a_broken_episode_finder_costs_only_the_rules_that_read_it(monkeypatch):
    """The stop finder is shared by UNAUTHORIZED_STOP and the shortfall's candidates: both fail,
    nothing else does."""
    monkeypatch.setattr(episodes, "track_stops", lambda *a, **k: 1 / 0)
    trip = stopping_trip()
    trip = make_trip(trip.fixes, route=None, received_at=at(5000), accepted_kg=20000,
                     departure_ticket=ticket("G", 1, 24000, -400), arrival_ticket=ticket("R", RECEIVER.id, 20000, 4000))
    run = pipeline_module.run_reconciliation(trip, PLACES, TH)
    assert run.failed_codes == {"UNAUTHORIZED_STOP", "TONNAGE_SHORTFALL", "TONNAGE_SURPLUS"}
    assert "NEVER_ARRIVED" in codes(run.drafts)  # the other rules ran

"""A multi-leg load checked as one trip per leg (domain.md, "Multi-leg transport"). Pure.

Each started leg is a trip of its own: its vehicle's readings in its own window, from its origin
(the generator's site, or the transfer site where it took the load over) to its destination (the
transfer site of the next handover, or the receiving site). So time at a transfer site is a leg's
arrival or departure there, like time at the generator's or the receiver's: never a stop, a
diversion or a load drop. Every finding of a leg names it (evidence ``leg`` and
``transporter_id``; the plate is the leg's vehicle). A later leg's episode keys end in
``@leg{n}``, so two legs' episodes never merge; leg 1's keys are a single-leg trip's, so a leg
named mid-trip changes none of the findings already stored.

Tonnage is reconciled between consecutive weighings of the load — the departure ticket, each
handover ticket, the arrival ticket — so a shortfall names the leg where it happened, or the legs
when a handover without a ticket leaves two legs between one pair of weighings. The paperwork of
the load as a whole (declaration, acceptance, missing departure or arrival ticket) is checked once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

import shapely

from .context import TripContext
from .geo import ecef_point
from .model import FindingDraft, Thresholds, Trip, TripLeg
from .places import PlaceIndex
from .reconciliation import LOAD_RULES, TONNAGE_RULE, dump_candidates, tonnage_between
from .rule import Rule, RuleRun, run_rules

TRANSFER_KINDS = ("transfer", "storage")
"""Where a load may change hands (manifests.legs.TRANSFER_SITE_KINDS)."""
AT_DESTINATION = ("UNAUTHORIZED_STOP", "DIVERSION", "LOAD_DROP")
"""What a leg does at its destination, and so what a leg whose destination is not known yet may do
at any transfer site (see :func:`applies`)."""

LegContexts = Sequence[tuple[TripLeg, TripContext]]


def leg_trip(trip: Trip, i: int) -> Trip:
    """Leg ``i`` (0-based) as a trip: its vehicle, sites, times, tickets and readings."""
    leg = trip.legs[i]
    end_ticket = trip.legs[i + 1].start_ticket if i + 1 < len(trip.legs) else trip.arrival_ticket
    return replace(trip, plate=leg.plate, transporter_id=leg.transporter_id, generator_site=leg.origin,
                   receiver_site=leg.destination, dispatched_at=leg.start, received_at=leg.end,
                   departure_ticket=leg.start_ticket, arrival_ticket=end_ticket, fixes=leg.fixes,
                   loads=leg.loads, legs=())


def leg_contexts(trip: Trip, places: PlaceIndex | None, th: Thresholds) -> list[tuple[TripLeg, TripContext]]:
    return [(leg, TripContext(leg_trip(trip, i), places, th)) for i, leg in enumerate(trip.legs)]


def run_legs(trip: Trip, places: PlaceIndex | None, th: Thresholds, rules: Sequence[Rule],
             reconcile: bool = False) -> RuleRun:
    """``rules`` over each leg as its own trip; with ``reconcile``, tonnage per leg and the load's paperwork."""
    out = RuleRun()
    contexts = leg_contexts(trip, places, th)
    for leg, ctx in contexts:
        run = run_rules(rules, ctx)
        out.failed_codes |= run.failed_codes
        out.drafts += [name_leg(d, leg) for d in run.drafts if applies(leg, ctx, d)]
    if reconcile and contexts:
        per_leg = Rule(TONNAGE_RULE.codes, lambda _ctx: leg_tonnage(trip, contexts))
        for run in (run_rules((per_leg,), contexts[0][1]), run_rules(LOAD_RULES, TripContext(trip, places, th))):
            out.drafts += run.drafts
            out.failed_codes |= run.failed_codes
    return out


def applies(leg: TripLeg, ctx: TripContext, draft: FindingDraft) -> bool:
    """Whether a leg's draft stands. A leg that ended at a handover at no registered site had nothing
    to arrive at (no NEVER_ARRIVED). A leg carrying the load towards a handover not yet signed is
    heading for a transfer site not yet named: what it does at any registered transfer station or
    storage yard waits for the handover, which names its destination (the leg is then checked
    against it, and a stay at another site is raised)."""
    if draft.code == "NEVER_ARRIVED" and not leg.handed_over_at_site:
        return False
    if leg.awaiting_handover and draft.code in AT_DESTINATION and draft.location is not None:
        return not near_transfer_site(ctx, *draft.location)
    return True


def near_transfer_site(ctx: TripContext, lon: float, lat: float) -> bool:
    """Inside a registered transfer station or storage yard, or within the gate radius of one."""
    x, y = ctx.frame.xy_from_ecef(ecef_point(lon, lat))
    if not (math.isfinite(float(x)) and math.isfinite(float(y))):
        return False
    point = shapely.Point(float(x), float(y))
    return any(shapely.distance(ctx.frame.project_place(p.geometry), point) <= ctx.th.gate_radius_m
               for p in ctx.places.places if not p.is_zone and p.kind in TRANSFER_KINDS)


def name_leg(draft: FindingDraft, leg: TripLeg) -> FindingDraft:
    draft.evidence = {**draft.evidence, "leg": leg.leg, "transporter_id": leg.transporter_id}
    if leg.leg > 1:
        draft.episode_key += f"@leg{leg.leg}"
    return draft


def leg_tonnage(trip: Trip, contexts: LegContexts) -> list[FindingDraft]:
    """TONNAGE_SHORTFALL and TONNAGE_SURPLUS between each pair of consecutive weighings of the load.

    Between the departure and the arrival with no handover ticket between, it is the whole load's
    episode (the key a single-leg trip has); otherwise the episode of the legs it spans."""
    weighings = [leg.start_ticket for leg in trip.legs] + [trip.arrival_ticket]
    present = [(k, ticket) for k, ticket in enumerate(weighings) if ticket is not None]
    out = []
    for (a, first), (b, last) in zip(present, present[1:], strict=False):
        span = contexts[a:b]
        numbers = [leg.leg for leg, _ in span]
        if a == 0 and b == len(trip.legs):
            suffix = ""
        else:
            suffix = f"@leg{numbers[0]}" if len(numbers) == 1 else f"@legs{numbers[0]}-{numbers[-1]}"
        out += tonnage_between(span[0][1], first, last, partial(candidates, span), suffix, named_legs(span))
    return out


def named_legs(span: LegContexts) -> dict:
    """Which leg (and transporter) a tonnage finding is about; ``legs`` when it spans several."""
    named: dict = {"legs": [leg.leg for leg, _ in span], "transporter_ids": [leg.transporter_id for leg, _ in span]}
    if len(span) == 1:
        named |= {"leg": span[0][0].leg, "transporter_id": span[0][0].transporter_id}
    return named


def candidates(span: LegContexts) -> list[dict]:
    """The dump candidates of every leg of the span, each naming its leg."""
    return [c | {"leg": leg.leg} for leg, ctx in span for c in dump_candidates(ctx)]

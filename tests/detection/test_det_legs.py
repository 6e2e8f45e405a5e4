"""Each leg of a multi-leg load is its own trip for detection (domain.md, "Multi-leg transport"):
no stop, diversion or load drop at the transfer site, each leg checked against its own origin and
destination, tonnage reconciled per leg where a handover ticket exists, every finding naming its leg."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.detection import (
    ALL_PLACES,
    GEN_C,
    GENERATOR,
    OTHER_C,
    OTHER_SITE,
    REC_C,
    RECEIVER,
    TRANSPORTER,
    TrackBuilder,
    above_info,
    at,
    codes,
    distance_m,
    load_series,
    make_trip,
    route_point,
    square,
    steady_loads,
    ticket,
)
from wasteflow.detection import Place, PlaceIndex, Ticket, TripLeg, carry_episode_keys, detect_live, reconcile

TRANSFER_C = route_point(0.4)
TRANSFER = Place(20, "Transfer station", "transfer", square(TRANSFER_C, 200), enterprise_id=8)
PLACES = PlaceIndex(ALL_PLACES + [TRANSFER])
HAULIER2 = 8
PLATE_A, PLATE_B = "蒙B12345", "蒙B23456"
STOP_C = route_point(0.75)


def handover_ticket(net: int, when: float, plate: str = PLATE_B) -> Ticket:
    return Ticket("T-9", TRANSFER.id, plate, 14000 + net, 14000, net, at(when), at(when + 120))


class TwoLegs:
    """Truck A: the generator (dispatch at t=0) to the transfer station, 25 min there, the handover.
    Truck B: waiting at the transfer station for 15 min before it, then on to the receiver."""

    def __init__(self, stop_on_leg2: bool = False, dwell_elsewhere: bool = False):
        a = TrackBuilder(GEN_C, t=-600, interval_s=30, device_id="gps-A")
        a.emit().wait(600).drive_to(route_point(0.2), 50)
        if dwell_elsewhere:
            a.drive_to(OTHER_C, 50).wait(900).drive_to(route_point(0.3), 50)
        a.drive_to(TRANSFER_C, 50).wait(1500)
        self.handover_t = a.t
        b = TrackBuilder(TRANSFER_C, t=self.handover_t - 900, interval_s=30, device_id="gps-B")
        b.emit().wait(900 + 120).drive_to(route_point(0.6), 50)
        if stop_on_leg2:
            b.drive_to(STOP_C, 50).wait(1200)
        b.drive_to(REC_C, 50).wait(900)
        self.received_t = b.t
        self.a, self.b = a.fixes, b.fixes
        self.loads_a = load_series(steady_loads(0, self.handover_t, 24000), device_id="lc-A")
        self.loads_b = load_series(steady_loads(self.handover_t + 60, self.received_t - 600, 24000),
                                   device_id="lc-B")

    def legs(self, handover_net: int | None = 24000, at_site: bool = True) -> tuple[TripLeg, ...]:
        first = TripLeg(1, PLATE_A, TRANSPORTER, at(0), at(self.handover_t), GENERATOR,
                        TRANSFER if at_site else RECEIVER, ticket("G-1", GENERATOR.id, 24000, -400),
                        handed_over_at_site=at_site, fixes=tuple(self.a), loads=tuple(self.loads_a))
        start_ticket = handover_ticket(handover_net, self.handover_t - 200) if handover_net else None
        second = TripLeg(2, PLATE_B, HAULIER2, at(self.handover_t), at(self.received_t),
                         TRANSFER if at_site else GENERATOR, RECEIVER, start_ticket,
                         fixes=tuple(self.b), loads=tuple(self.loads_b))
        return first, second

    def trip(self, arrival_net: int = 24000, **kw):
        legs = kw.pop("legs", None) or self.legs()
        return make_trip(self.a + self.b, self.loads_a + self.loads_b, received_at=at(self.received_t), route=None,
                         accepted_kg=arrival_net, legs=legs,
                         departure_ticket=ticket("G-1", GENERATOR.id, 24000, -400),
                         arrival_ticket=ticket("R-1", RECEIVER.id, arrival_net, self.received_t - 300), **kw)


def test_no_stop_or_diversion_is_raised_at_the_transfer_site():
    legs = TwoLegs()
    assert above_info(reconcile(legs.trip(), PLACES)) == []
    assert above_info(detect_live(legs.trip(), PLACES)) == []
    # the same readings as one truck's trip: 25 min in a foreign site, and a stop there
    as_one_trip = legs.trip(legs=None)
    as_one_trip = make_trip(legs.a + legs.b, route=None, received_at=as_one_trip.received_at,
                            departure_ticket=as_one_trip.departure_ticket, arrival_ticket=as_one_trip.arrival_ticket,
                            accepted_kg=24000)
    raised = reconcile(as_one_trip, PLACES)
    assert {"DIVERSION", "UNAUTHORIZED_STOP"} <= set(codes(raised))
    assert all(distance_m(d.location, TRANSFER_C) < 300 for d in raised if d.code == "DIVERSION")


def test_a_stop_on_leg_2_names_leg_2_and_its_vehicle():
    legs = TwoLegs(stop_on_leg2=True)
    [stop] = [d for d in reconcile(legs.trip(), PLACES) if d.code == "UNAUTHORIZED_STOP"]
    assert stop.evidence["leg"] == 2 and stop.evidence["transporter_id"] == HAULIER2
    assert stop.plate == PLATE_B and stop.episode_key.endswith("@leg2")
    assert distance_m(stop.location, STOP_C) < 200
    # live too, with the same identity
    [live] = [d for d in detect_live(legs.trip(), PLACES) if d.code == "UNAUTHORIZED_STOP"]
    assert live.episode_key == stop.episode_key


def test_a_skim_on_leg_2_is_named_as_leg_2s():
    legs = TwoLegs(stop_on_leg2=True)
    drafts = reconcile(legs.trip(arrival_net=22000), PLACES)
    [short] = [d for d in drafts if d.code == "TONNAGE_SHORTFALL"]
    assert short.evidence["leg"] == 2 and short.evidence["legs"] == [2]
    assert short.evidence["transporter_id"] == HAULIER2 and short.plate == PLATE_B
    assert short.evidence["departure_ticket"]["ticket_no"] == "T-9"  # from the handover ticket ...
    assert short.evidence["arrival_ticket"]["ticket_no"] == "R-1"  # ... to the receiver's
    assert short.evidence["difference_kg"] == -2000 and short.episode_key == "TONNAGE_SHORTFALL@leg2"
    assert [c["leg"] for c in short.evidence["candidates"]] == [2]  # the stop on leg 2, not leg 1's time
    assert distance_m(short.location, STOP_C) < 200


def test_a_skim_on_leg_1_is_named_as_leg_1s():
    legs = TwoLegs()
    drafts = reconcile(legs.trip(arrival_net=22000, legs=legs.legs(handover_net=22000)), PLACES)
    [short] = [d for d in drafts if d.code == "TONNAGE_SHORTFALL"]
    assert short.evidence["leg"] == 1 and short.plate == PLATE_A and short.evidence["transporter_id"] == TRANSPORTER
    assert short.evidence["arrival_ticket"]["ticket_no"] == "T-9"
    assert short.episode_key == "TONNAGE_SHORTFALL@leg1"


def test_without_a_handover_ticket_a_shortfall_spans_both_legs():
    legs = TwoLegs()
    drafts = reconcile(legs.trip(arrival_net=22000, legs=legs.legs(handover_net=None)), PLACES)
    [short] = [d for d in drafts if d.code == "TONNAGE_SHORTFALL"]
    assert short.evidence["legs"] == [1, 2] and "leg" not in short.evidence
    assert short.episode_key == "TONNAGE_SHORTFALL"  # the whole load's, as for one truck


def test_a_dwell_at_another_site_on_leg_1_is_still_a_diversion_named_leg_1():
    legs = TwoLegs(dwell_elsewhere=True)
    [diversion] = [d for d in reconcile(legs.trip(), PLACES) if d.code == "DIVERSION"]
    assert diversion.evidence["place_id"] == OTHER_SITE.id and diversion.evidence["leg"] == 1
    assert diversion.plate == PLATE_A and "@" not in diversion.episode_key


def test_a_leg_heading_for_a_handover_not_yet_signed_may_wait_at_a_transfer_site():
    legs = TwoLegs(dwell_elsewhere=True)
    first = legs.legs()[0]
    under_way = TripLeg(1, PLATE_A, TRANSPORTER, at(0), None, GENERATOR, RECEIVER, first.start_ticket,
                        awaiting_handover=True, fixes=first.fixes, loads=first.loads)
    trip = make_trip(legs.a, legs.loads_a, legs=(under_way,), route=None)
    raised = detect_live(trip, PLACES)
    assert [d.evidence["place_id"] for d in raised if d.code == "DIVERSION"] == [OTHER_SITE.id]
    assert not any(distance_m(d.location, TRANSFER_C) < 400 for d in raised if d.location)
    # once no later leg is waiting, the transfer station is a foreign site like any other
    plain = make_trip(legs.a, legs.loads_a, route=None, legs=(under_way.__class__(**{**under_way.__dict__,
                                                                         "awaiting_handover": False}),))
    assert any(distance_m(d.location, TRANSFER_C) < 400 for d in detect_live(plain, PLACES) if d.code == "DIVERSION")


def test_a_roadside_handover_has_no_destination_to_arrive_at():
    legs = TwoLegs()
    drafts = reconcile(legs.trip(legs=legs.legs(handover_net=None, at_site=False)), PLACES)
    assert "NEVER_ARRIVED" not in codes(drafts)


def test_leg_2s_episode_never_takes_over_leg_1s_stored_key():
    legs = TwoLegs(stop_on_leg2=True)
    [stop] = [d for d in detect_live(legs.trip(), PLACES) if d.code == "UNAUTHORIZED_STOP"]
    own_key = stop.episode_key
    stored = {"UNAUTHORIZED_STOP:" + own_key.split(":", 1)[1].split("@")[0]:
              (stop.window_start - timedelta(minutes=1), stop.window_end)}
    carry_episode_keys([stop], stored)
    assert stop.episode_key == own_key


def test_a_handover_without_a_ticket_joins_the_legs_around_it_and_no_more():
    legs = TwoLegs()
    first, second = legs.legs(handover_net=None)
    third = TripLeg(3, "蒙B34567", 9, at(legs.received_t - 60), at(legs.received_t), RECEIVER, RECEIVER,
                    handover_ticket(21000, legs.received_t - 200, plate="蒙B34567"))
    drafts = reconcile(legs.trip(arrival_net=21000, legs=(first, second, third)), PLACES)
    [short] = [d for d in drafts if d.code == "TONNAGE_SHORTFALL"]
    assert short.evidence["legs"] == [1, 2] and short.episode_key == "TONNAGE_SHORTFALL@legs1-2"
    assert short.evidence["transporter_ids"] == [TRANSPORTER, HAULIER2] and short.plate == PLATE_A
    assert "TONNAGE_SURPLUS" not in codes(drafts)  # leg 3 delivered what it took over

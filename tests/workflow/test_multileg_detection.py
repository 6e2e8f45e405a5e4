"""Per-leg detection through the bridge's store, the live detector and the API's receipt, on both
databases (domain.md "Multi-leg transport": each leg its own trip for detection and its own tonnage
reconciliation; a ticket at a site of the trip checked against the plate of the leg's vehicle there)."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.monitoring import CEMENT, Drive, base_time, distance_m, gps_records, make_env
from tests.utils.workflow import PLATES, TRANSFER, extend, leg, ok

FIRST_TRUCK, SECOND_TRUCK = "gps-0001", "gps-h2"
ON_THE_WAY = ((TRANSFER[0] + CEMENT[0]) / 2, (TRANSFER[1] + CEMENT[1]) / 2 + 0.01)


def setup(world, engine, settings):
    extend(world)
    ok(world.post("/v1/devices", {"id": SECOND_TRUCK, "kind": "gps", "vehicle_plate": PLATES["haulier2"]},
                  "haulier2"), 201)
    ok(world.post("/v1/devices", {"id": "wb-transfer", "kind": "weighbridge", "site_id": world.ids["transfer"]},
                  "haulier2"), 201)
    return make_env(world, engine, settings)


def codes(env, no) -> list[str]:
    return sorted(f.code for f in env.findings(no) if f.status != "withdrawn")


class Carried:
    """Leg 1 (the World's truck) from the plant to the transfer station, 25 min there; leg 2 (haulier2's
    truck), waiting there 20 min before the handover, on to the cement works."""

    def __init__(self, env, world, stop_on_leg2: bool = False):
        self.env, self.world = env, world
        self.t0 = base_time(hours_ago=8)
        self.no = env.dispatch(self.t0, legs=[leg(world, "haulier2")], declared_kg=24000)
        env.ticket("wb-plant", "P-1", 24000, self.t0 - timedelta(minutes=5), self.no)
        first = Drive(self.t0, every=60.0).fix().go(TRANSFER, kmh=40).stay(1500).take()
        env.write("gps", FIRST_TRUCK, gps_records(first))
        env.run()  # live, before the handover: the station is where a later leg takes over
        self.handed_over = first[-1][0] + timedelta(seconds=30)
        lead_in = Drive(self.handed_over - timedelta(minutes=20), pos=TRANSFER, every=60.0).fix().stay(1140).take()
        drive = Drive(self.handed_over + timedelta(seconds=30), pos=TRANSFER, every=60.0).fix()
        if stop_on_leg2:
            drive.go(ON_THE_WAY, kmh=40).stay(1200)
        carried = drive.go(CEMENT, kmh=40).stay(600).take()
        self.arrived = carried[-1][0]
        self.leg2_fixes = lead_in + carried
        self.leg2 = gps_records(self.leg2_fixes, device_id=SECOND_TRUCK)

    def handover(self, ticket_no: str | None = "T-1") -> None:
        body = {"leg": 2, "at": self.handed_over.isoformat(), "site_id": self.world.ids["transfer"]}
        if ticket_no:
            body["ticket_no"] = ticket_no
        ok(self.world.post(f"/v1/manifests/{self.no}/handover", body, "haulier2"))

    def drive_leg2(self) -> None:
        self.env.write("gps", SECOND_TRUCK, self.leg2)
        self.env.run()

    def receive(self, arrival_net: int, plate: str = PLATES["haulier2"]) -> None:
        self.env.ticket("wb-cement", "C-1", arrival_net, self.arrived - timedelta(minutes=3), self.no, plate=plate)
        self.env.receive(self.no, arrival_net, self.arrived)


def test_no_stop_or_diversion_at_the_transfer_site_live_or_at_receipt(world, engine, settings):
    env = setup(world, engine, settings)
    trip = Carried(env, world)
    assert codes(env, trip.no) == []  # 25 min in the station before the handover: nothing raised live
    env.ticket("wb-transfer", "T-1", 24000, trip.handed_over - timedelta(minutes=5), trip.no,
               plate=PLATES["haulier2"])
    trip.handover()
    trip.drive_leg2()
    trip.receive(24000)
    assert env.status(trip.no) == "reconciled"
    assert codes(env, trip.no) == []  # nor at receipt; the arrival ticket weighed leg 2's truck: no mismatch
    assert env.alerts() == []


def test_a_skim_on_leg_2_is_named_as_leg_2s(world, engine, settings):
    env = setup(world, engine, settings)
    trip = Carried(env, world, stop_on_leg2=True)
    env.ticket("wb-transfer", "T-1", 24000, trip.handed_over - timedelta(minutes=5), trip.no,
               plate=PLATES["haulier2"])
    trip.handover()
    trip.drive_leg2()
    [stop] = env.findings(trip.no, "UNAUTHORIZED_STOP")  # live, on leg 2
    assert stop.evidence["leg"] == 2 and stop.plate == PLATES["haulier2"]
    trip.receive(21000)
    [short] = env.findings(trip.no, "TONNAGE_SHORTFALL")
    assert short.status == "open" and short.plate == PLATES["haulier2"]
    assert short.evidence["leg"] == 2 and short.evidence["transporter_id"] == world.ids["haulier2"]
    assert (short.evidence["departure_ticket"]["ticket_no"], short.evidence["arrival_ticket"]["ticket_no"]) == (
        "T-1", "C-1")
    assert short.evidence["difference_kg"] == -3000
    assert distance_m((short.evidence["candidates"][0]["lon"], short.evidence["candidates"][0]["lat"]),
                      ON_THE_WAY) < 200
    assert codes(env, trip.no) == ["TONNAGE_SHORTFALL", "UNAUTHORIZED_STOP"]
    shown = ok(world.get("/v1/findings", "haulier2", manifest_no=trip.no))["items"]
    assert {f["code"]: f["evidence"]["leg"] for f in shown} == {"TONNAGE_SHORTFALL": 2, "UNAUTHORIZED_STOP": 2}


def test_a_handover_ticket_in_after_the_handover_is_linked_and_reconciles_leg_1(world, engine, settings):
    env = setup(world, engine, settings)
    trip = Carried(env, world)
    trip.handover("T-7")
    trip.drive_leg2()
    trip.receive(21000)
    [whole] = env.findings(trip.no, "TONNAGE_SHORTFALL")  # no handover ticket yet: the whole load's
    assert whole.evidence["legs"] == [1, 2] and "leg" not in whole.evidence
    # the station's ticket reaches the system late: 3 t were already missing when leg 2 took over
    env.ticket("wb-transfer", "T-7", 21000, trip.handed_over - timedelta(minutes=5), plate=PLATES["haulier2"])
    env.run()
    current = [f for f in env.findings(trip.no, "TONNAGE_SHORTFALL") if f.status != "withdrawn"]
    assert [(f.evidence["leg"], f.plate) for f in current] == [(1, PLATES["transporter"])]
    assert [f.status for f in env.findings(trip.no, "TONNAGE_SHORTFALL") if f.id == whole.id] == ["withdrawn"]


def test_a_plate_mismatch_on_leg_2s_tickets(world, engine, settings):
    env = setup(world, engine, settings)
    trip = Carried(env, world)
    trip.handover("T-3")
    # the station weighed haulier3's truck, not leg 2's; the ticket comes in after the handover
    env.ticket("wb-transfer", "T-3", 24000, trip.handed_over - timedelta(minutes=5), plate=PLATES["haulier3"])
    [at_station] = env.findings(trip.no, "PLATE_MISMATCH")
    assert at_station.plate == PLATES["haulier2"] and at_station.evidence["leg"] == 2
    assert at_station.evidence["ticket_plate"] == PLATES["haulier3"]
    trip.drive_leg2()
    # the receiver's weighbridge weighed leg 1's truck: leg 2 carried the load in
    trip.receive(24000, plate=PLATES["transporter"])
    at_receiver = [f for f in env.findings(trip.no, "PLATE_MISMATCH") if f.evidence["ticket_no"] == "C-1"]
    assert [(f.plate, f.evidence["leg"], f.evidence["ticket_plate"]) for f in at_receiver] == [
        (PLATES["haulier2"], 2, PLATES["transporter"])]

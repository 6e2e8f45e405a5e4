"""A month's worth of trouble in miniature, near one dump: a truck that stopped there and dropped load, a
truck that drove past at speed, a truck 2 km away, and a truck on no manifest that stopped there.

Built through the real API (manifests, dispatch, receipt and its reconciliation), with the telemetry
written straight into the store, as the bridge would have.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.utils.detection import move
from tests.utils.flows import _ticket
from tests.utils.world import CEMENT, PLANT
from wasteflow.database import session_scope
from wasteflow.tracks.models import GpsFix, LoadReading

DUMP = (109.86, 40.62)
"""On the straight road from the power plant to the cement works."""
PLATES = {"dumper": "蒙B12345", "passer": "蒙B22222", "far": "蒙B33333", "idle": "蒙B44444"}


def start_time() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=30)).replace(microsecond=0)


def register_trucks(world) -> None:
    """Three more trucks of the world's haulier, each with its GPS terminal (the dumper is the world's own)."""
    for n, name in enumerate(("passer", "far", "idle"), 2):
        response = world.post("/v1/vehicles", {"transporter_id": world.ids["transporter"], "plate": PLATES[name],
                                               "tare_kg": 15000, "max_load_kg": 35000}, "transporter")
        assert response.status_code == 201, response.text
        response = world.post("/v1/devices", {"id": f"gps-000{n}", "kind": "gps", "vehicle_plate": PLATES[name]},
                              "transporter")
        assert response.status_code == 201, response.text


def line(a: tuple[float, float], b: tuple[float, float], t0: datetime, kmh: float, every_s: float = 30):
    """(ts, lon, lat, speed) from a to b at a steady speed, a fix every ``every_s`` seconds."""
    from tests.utils.detection import distance_m

    steps = max(1, int(distance_m(a, b) / (kmh / 3.6 * every_s)))
    return [(t0 + timedelta(seconds=i * every_s), a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps,
             kmh) for i in range(steps + 1)]


def stay(place: tuple[float, float], t0: datetime, minutes: int, every_s: float = 30):
    """Standing within ~10 m of ``place`` for ``minutes``."""
    return [(t0 + timedelta(seconds=i * every_s), *move(*place, east_m=(i % 3) * 4, north_m=(i % 2) * 3), 0.0)
            for i in range(int(minutes * 60 / every_s) + 1)]


def store(engine, device_id: str, track, loads=()) -> None:
    with session_scope(engine) as session:
        for seq, (ts, lon, lat, speed) in enumerate(track, 1):
            session.add(GpsFix(device_id=device_id, ts=ts, seq=seq, lon=lon, lat=lat, speed_kmh=speed, verified=True))
        for seq, (ts, kg) in enumerate(loads, 1):
            session.add(LoadReading(device_id="load-0001", ts=ts, seq=seq, load_kg=kg, verified=True))


def chain(*pieces):
    """Pieces of track one after the other, each starting where (and when) the one before ended."""
    out = []
    for piece in pieces:
        out += piece(out[-1][0] + timedelta(seconds=30)) if out else piece(None)
    return out


def dispatched(world, plate: str, at: datetime) -> str:
    body = world.manifest_body(vehicle_plate=plate, at=(at - timedelta(hours=1)).isoformat())
    response = world.post("/v1/manifests", body, "generator")
    assert response.status_code == 201, response.text
    no = response.json()["manifest_no"]
    response = world.post(f"/v1/manifests/{no}/dispatch", {"at": at.isoformat()}, "generator")
    assert response.status_code == 200, response.text
    return no


def build(world, engine) -> dict[str, str]:
    """The four trucks' days; the dumper's manifest received 6 t short (so reconciled with a shortfall)."""
    register_trucks(world)
    t0 = start_time()
    out = {name: dispatched(world, PLATES[name], t0) for name in ("dumper", "passer", "far")}
    dumper = chain(lambda _: line(PLANT, DUMP, t0, 50), lambda t: stay(DUMP, t, 15),
                   lambda t: line(DUMP, CEMENT, t, 50))
    stop_at = next(ts for ts, *_, speed in dumper if speed == 0)
    loads = [(t0 + timedelta(minutes=m), 30000) for m in range(0, 30, 2)]
    loads = [(ts, kg if ts < stop_at + timedelta(minutes=5) else 24000) for ts, kg in loads]
    loads += [(stop_at + timedelta(minutes=m), 24000) for m in range(16, 60, 2)]
    store(engine, "gps-0001", dumper, loads)
    store(engine, "gps-0002", line(PLANT, CEMENT, t0 + timedelta(minutes=1), 60))
    store(engine, "gps-0003", line(move(*PLANT, north_m=2200), move(*CEMENT, north_m=2200), t0, 60))
    store(engine, "gps-0004", chain(lambda _: line(move(*DUMP, east_m=-3000), DUMP, t0 + timedelta(hours=5), 40),
                                    lambda t: stay(DUMP, t, 20)))
    _ticket(engine, world, out["dumper"], "departure", 30000, t0.isoformat())
    arrived = dumper[-1][0] + timedelta(minutes=5)
    _ticket(engine, world, out["dumper"], "arrival", 24000, arrived.isoformat())
    response = world.post(f"/v1/manifests/{out['dumper']}/receive", {"accepted_kg": 24000, "at": arrived.isoformat()},
                          "receiver")
    assert response.status_code == 200, response.text
    return out


def dump_query(radius_m: float = 300, **extra) -> dict:
    return {"location": {"type": "Point", "coordinates": list(DUMP)}, "radius_m": radius_m, **extra}

"""Many trucks at once: each with its own GPS device and a dispatched manifest.

``trucks`` goes through the API (a few, for tests); ``clone_trucks`` writes the rows directly,
copying one filed manifest (a thousand, for the live-detection benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from tests.utils.world import _created
from wasteflow.database import session_scope
from wasteflow.manifests.models import Manifest
from wasteflow.registry.models import Device, Vehicle


@dataclass(frozen=True)
class Truck:
    plate: str
    gps: str
    manifest_no: str


def plate(k: int) -> str:
    return f"蒙K{k:05d}"


def trucks(world, count: int, t0: datetime) -> list[Truck]:
    """``count`` trucks registered, each with a GPS device and a manifest dispatched at ``t0``."""
    out = []
    for k in range(count):
        _created(world.post("/v1/vehicles", {"transporter_id": world.ids["transporter"], "plate": plate(k),
                                              "tare_kg": 15000, "max_load_kg": 35000}, "transporter"))
        issued = _created(world.post("/v1/devices", {"id": f"gps-k{k:05d}", "kind": "gps",
                                                     "vehicle_plate": plate(k)}, "transporter"))
        world.secrets[issued["id"]] = issued["secret"]
        no = world.file(vehicle_plate=plate(k), at=t0.isoformat())
        response = world.post(f"/v1/manifests/{no}/dispatch", {"at": t0.isoformat()}, "generator")
        assert response.status_code == 200, response.text
        out.append(Truck(plate(k), issued["id"], no))
    return out


def clone_trucks(engine, template_no: str, count: int) -> list[Truck]:
    """``count`` trucks as rows: a vehicle, a GPS device and a copy of the dispatched manifest
    ``template_no`` each (no ledger entries: for measuring detection, not for auditing)."""
    out = []
    with session_scope(engine) as session:
        template = session.exec(select(Manifest).where(Manifest.manifest_no == template_no)).one()
        columns = {c.name: getattr(template, c.name) for c in Manifest.__table__.columns if c.name != "id"}
        owner = session.get(Vehicle, template.vehicle_id)
        for k in range(count):
            vehicle = Vehicle(transporter_id=owner.transporter_id, plate=plate(k), tare_kg=15000, max_load_kg=35000)
            session.add(vehicle)
            session.flush()
            session.add(Device(id=f"gps-k{k:05d}", kind="gps", vehicle_id=vehicle.id, secret="x",
                               require_signature=False))
            no = f"{template_no[:-6]}{900000 + k:06d}"
            session.add(Manifest(**{**columns, "manifest_no": no, "vehicle_id": vehicle.id,
                                    "vehicle_plate": vehicle.plate}))
            out.append(Truck(vehicle.plate, f"gps-k{k:05d}", no))
    return out


def vehicle_ids(engine, fleet: list[Truck]) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Vehicle.plate, Vehicle.id).where(Vehicle.plate.in_([t.plate for t in fleet])))
        return dict(rows.all())

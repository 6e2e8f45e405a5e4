"""Registering enterprises, sites, vehicles, devices and zones, and who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal, in_jurisdiction, issue_key
from wasteflow.broker.files import OWNTRACKS_USERNAME_PREFIX, broker_username, is_reserved_username
from wasteflow.config import Settings
from wasteflow.database import Query, lock_for_writing, utcnow
from wasteflow.errors import Conflict, Forbidden, NotFound, RuleViolation
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.registry import device_secrets, rules
from wasteflow.registry.models import Device, Enterprise, Site, Vehicle, WasteCategory, Zone
from wasteflow.registry.schemas import DeviceCreate, EnterpriseCreate, SiteCreate, VehicleCreate, ZoneCreate
from wasteflow.sealing import Sealer, sealer_for

DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
OWNTRACKS_DEVICE_ID = re.compile(r"^owntracks:[A-Za-z0-9._-]{1,32}/[A-Za-z0-9._-]{1,32}$")
JT808_TERMINAL_ID = re.compile(r"^[0-9]{1,20}$")
OSMAND_PREFIX = "osmand:"
UNSIGNED_PROTOCOLS = {"jt808": ("jt808_unsigned", "JT/T 808 terminals"),
                      "osmand": ("osmand_unsigned", "OsmAnd phones")}


# --- who may see what: one filter per kind, in SQL --------------------------------------------
# An enterprise sees itself and what it registered; a regulator every enterprise in its regions and
# what hangs off them; the administrator all. Every list and every look-up goes through these.

def visible_enterprises(query: Query, principal: Principal) -> Query:
    if principal.is_admin:
        return query
    if principal.kind == "enterprise":
        return query.where(col(Enterprise.id) == principal.enterprise_id)
    return query.where(in_jurisdiction(principal, Enterprise.region_code))


def visible_sites(query: Query, principal: Principal) -> Query:
    if principal.is_admin:
        return query
    return query.where(col(Site.enterprise_id).in_(visible_enterprises(select(Enterprise.id), principal)))


def visible_vehicles(query: Query, principal: Principal) -> Query:
    if principal.is_admin:
        return query
    return query.where(col(Vehicle.transporter_id).in_(visible_enterprises(select(Enterprise.id), principal)))


def visible_devices(query: Query, principal: Principal) -> Query:
    """A device is seen with the vehicle or the site it is bound to."""
    if principal.is_admin:
        return query
    return query.where(or_(col(Device.vehicle_id).in_(visible_vehicles(select(Vehicle.id), principal)),
                           col(Device.site_id).in_(visible_sites(select(Site.id), principal))))


def visible_zones(query: Query, principal: Principal) -> Query:
    """Every caller sees every zone: a transporter must know where it may not stop."""
    return query


def visible_enterprise(session: Session, principal: Principal, enterprise_id: int,
                       field: str | None = None) -> Enterprise:
    """The enterprise, if the caller is it or oversees its region; else 404 (or 422 on a field)."""
    enterprise = session.exec(visible_enterprises(select(Enterprise).where(col(Enterprise.id) == enterprise_id),
                                                  principal)).first()
    if enterprise is None:
        if field:
            raise RuleViolation("unknown_reference", field, f"no enterprise {enterprise_id} that you may act for")
        raise NotFound(f"no enterprise {enterprise_id}")
    return enterprise


def _require_role(enterprise: Enterprise, role: str, field: str) -> None:
    if role not in enterprise.roles:
        raise RuleViolation(f"not_a_{role}", field,
                            f"enterprise {enterprise.id} ({enterprise.name}) is not registered as a {role}")


# --- enterprises -----------------------------------------------------------------------------

def register_enterprise(session: Session, principal: Principal, data: EnterpriseCreate) -> Enterprise:
    principal.require_oversight()
    code = rules.check_credit_code(data.credit_code)
    region = rules.check_region_code(data.region_code)
    if not principal.covers_region(region):
        raise Forbidden(f"region {region} is outside your jurisdiction ({', '.join(principal.regions)})")
    if session.exec(select(Enterprise).where(Enterprise.credit_code == code)).first():
        raise Conflict(f"an enterprise with credit code {code} is already registered", field="credit_code")
    enterprise = Enterprise(name=data.name, credit_code=code, roles=sorted(set(data.roles)), region_code=region)
    session.add(enterprise)
    session.flush()
    return enterprise


def issue_enterprise_key(session: Session, principal: Principal, enterprise_id: int) -> str:
    principal.require_oversight()
    visible_enterprise(session, principal, enterprise_id)
    return issue_key(session, "enterprise", enterprise_id=enterprise_id)


def list_enterprises(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Enterprise], str | None]:
    """In registration order, as every registry list."""
    return keyset_page(session, visible_enterprises(select(Enterprise), principal), Enterprise.id, "e", page,
                       newest_first=False)


# --- sites -----------------------------------------------------------------------------------

def register_site(session: Session, principal: Principal, data: SiteCreate, settings: Settings) -> Site:
    enterprise = visible_enterprise(session, principal, data.enterprise_id, field="enterprise_id")
    rules.check_geofence(data.geofence, settings.geofence_min_area_m2, settings.geofence_max_area_m2)
    codes = [rules.check_waste_code(c, "permitted_codes") for c in data.permitted_codes]
    if codes and "receiver" not in enterprise.roles:
        raise RuleViolation("not_a_receiver", "permitted_codes",
                            f"only a receiver's site carries a receiving permit; {enterprise.name} is not a receiver")
    site = Site(enterprise_id=enterprise.id, name=data.name, kind=data.kind, geofence=data.geofence,
                permitted_codes=codes, annual_capacity_kg=data.annual_capacity_kg)
    session.add(site)
    session.flush()
    return site


def visible_site(session: Session, principal: Principal, site_id: int, field: str | None = None) -> Site:
    site = session.exec(visible_sites(select(Site).where(col(Site.id) == site_id), principal)).first()
    if site is not None:
        return site
    if field:
        raise RuleViolation("unknown_reference", field, f"no site {site_id} that you may act for")
    raise NotFound(f"no site {site_id}")


def list_sites(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Site], str | None]:
    return keyset_page(session, visible_sites(select(Site), principal), Site.id, "s", page, newest_first=False)


def permits(site: Site, waste_code: str) -> bool:
    """A permit for ``HW08`` covers every ``HW08 xxx-xxx-08`` sub-code."""
    return any(waste_code == code or waste_code.startswith(code + " ") for code in site.permitted_codes)


# --- vehicles --------------------------------------------------------------------------------

def register_vehicle(session: Session, principal: Principal, data: VehicleCreate, settings: Settings) -> Vehicle:
    transporter = visible_enterprise(session, principal, data.transporter_id, field="transporter_id")
    _require_role(transporter, "transporter", "transporter_id")
    extra = tuple(p.strip() for p in settings.extra_plate_patterns.split(",") if p.strip())
    plate = rules.check_plate(data.plate, extra)
    if session.exec(select(Vehicle).where(Vehicle.plate == plate)).first():
        raise Conflict(f"plate {plate} is already registered", field="plate")
    vehicle = Vehicle(transporter_id=transporter.id, plate=plate, tare_kg=data.tare_kg, max_load_kg=data.max_load_kg)
    session.add(vehicle)
    session.flush()
    return vehicle


def vehicle_by_plate(session: Session, plate: str) -> Vehicle | None:
    return session.exec(select(Vehicle).where(Vehicle.plate == plate.strip().upper())).first()


def list_vehicles(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Vehicle], str | None]:
    return keyset_page(session, visible_vehicles(select(Vehicle), principal), Vehicle.id, "v", page,
                       newest_first=False)


# --- devices ---------------------------------------------------------------------------------

def register_device(session: Session, principal: Principal, data: DeviceCreate,
                    settings: Settings) -> tuple[Device, str]:
    """Register a device and hand back its secret, the only time it is shown (the row keeps it sealed)."""
    data = _osmand_protocol(data)
    require_signature = _gateway_signing(data)
    _check_device_id(data.id, require_signature)
    terminal_id = _jt808_terminal(session, data)
    vehicle_id, site_id = _device_binding(session, principal, data)
    if session.get(Device, data.id) is not None:
        raise Conflict(f"device {data.id} is already registered", field="id")
    _check_broker_username_free(session, data.id)
    device = Device(id=data.id, kind=data.kind, vehicle_id=vehicle_id, site_id=site_id, sealed_secret="",
                    require_signature=require_signature, protocol=data.protocol, terminal_id=terminal_id,
                    load_item=data.load_item.model_dump() if data.load_item else None)
    secret = device_secrets.set_first_secret(device, device_sealer(session, settings))
    session.add(device)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"device {data.id} (or its terminal id) is already registered", field="id") from None
    return device, secret


def list_devices(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Device], str | None]:
    """By device id (a device's key is the id it was registered with); never their secrets."""
    return keyset_page(session, visible_devices(select(Device), principal), Device.id, "d", page,
                       newest_first=False)


def device_sealer(session: Session, settings: Settings) -> Sealer:
    return sealer_for(session.get_bind().url, settings.secret_key)


def _device_to_change(session: Session, principal: Principal, device_id: str) -> Device:
    """The device, write-locked, if the caller owns its vehicle or site or oversees it; else 404."""
    lock_for_writing(session)
    device = session.exec(visible_devices(select(Device).where(col(Device.id) == device_id), principal)
                          .with_for_update()).first()
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def rotate_device_secret(session: Session, principal: Principal, device_id: str,
                         settings: Settings) -> tuple[Device, str]:
    """A new secret, shown once; the old one keeps verifying for ``device_secret_grace_s``."""
    device = _device_to_change(session, principal, device_id)
    secret = device_secrets.rotate(device, device_sealer(session, settings), utcnow(),
                                   timedelta(seconds=settings.device_secret_grace_s))
    session.add(device)
    session.flush()
    return device, secret


def set_device_enabled(session: Session, principal: Principal, device_id: str, enabled: bool) -> Device:
    """Disable (its messages are quarantined as ``device_disabled``, its broker account goes) or
    enable again; doing either twice changes nothing."""
    device = _device_to_change(session, principal, device_id)
    if enabled:
        device.disabled_at = None
    elif device.disabled_at is None:
        device.disabled_at = utcnow()
    session.add(device)
    session.flush()
    return device


def _osmand_protocol(data: DeviceCreate) -> DeviceCreate:
    """An ``osmand:{id}`` device is a phone behind ``wasteflow gateway http`` (devices.md): its protocol
    is ``osmand`` whether given or not, and only such ids may claim it."""
    is_phone_id = data.id.startswith(OSMAND_PREFIX)
    if data.protocol == "osmand" and not is_phone_id:
        raise RuleViolation("osmand_id", "id", f"an OsmAnd phone is registered as {OSMAND_PREFIX}{{its id}}")
    if is_phone_id and data.protocol not in (None, "osmand"):
        raise RuleViolation("osmand_id", "protocol", f"ids beginning with {OSMAND_PREFIX!r} are OsmAnd phones")
    if not is_phone_id:
        return data
    if data.kind != "gps":
        raise RuleViolation("osmand_kind", "kind", "an OsmAnd phone is a gps device")
    return data.model_copy(update={"protocol": "osmand"})


def _gateway_signing(data: DeviceCreate) -> bool:
    """JT/T 808 terminals and OsmAnd phones never sign: require_signature defaults to false for them,
    and true is refused."""
    if data.protocol not in UNSIGNED_PROTOCOLS:
        return data.require_signature
    if "require_signature" in data.model_fields_set and data.require_signature:
        code, name = UNSIGNED_PROTOCOLS[data.protocol]
        raise RuleViolation(code, "require_signature",
                            f"{name} cannot sign their messages: register them with require_signature false")
    return False


def _jt808_terminal(session: Session, data: DeviceCreate) -> str | None:
    """The terminal id of a jt808 device, without leading zeros and not taken; None for other devices."""
    if data.protocol != "jt808":
        for name in ("terminal_id", "load_item"):
            if getattr(data, name) is not None:
                raise RuleViolation("jt808_only", name, f"{name} applies to JT/T 808 terminals "
                                                        "(\"protocol\": \"jt808\") only")
        return None
    if data.kind != "gps":
        raise RuleViolation("jt808_kind", "kind", "a JT/T 808 terminal is a gps device (with a load_item, "
                                                  "it reports load readings too)")
    if data.terminal_id is None or not JT808_TERMINAL_ID.match(data.terminal_id) or not data.terminal_id.strip("0"):
        raise RuleViolation("terminal_id_format", "terminal_id",
                            "a JT/T 808 terminal id is its phone number: 1-20 digits, not all zero")
    terminal_id = data.terminal_id.lstrip("0")
    if session.exec(select(Device).where(Device.terminal_id == terminal_id)).first() is not None:
        raise Conflict(f"terminal id {terminal_id} (compared without leading zeros) is already registered",
                       field="terminal_id")
    return terminal_id


def _check_device_id(device_id: str, require_signature: bool) -> None:
    if is_reserved_username(device_id):
        raise RuleViolation("reserved_device_id", "id", "ids beginning with 'wasteflow', and 'regulator-alerts', "
                            "are the system's own broker accounts")
    if device_id.startswith(OWNTRACKS_USERNAME_PREFIX):
        raise RuleViolation("reserved_device_id", "id", "ids beginning with 'ot.' are OwnTracks phones' broker names")
    if OWNTRACKS_DEVICE_ID.match(device_id):
        if require_signature:
            raise RuleViolation("owntracks_unsigned", "require_signature", "OwnTracks phones cannot sign their "
                                "messages: register them with require_signature false")
        return
    if not DEVICE_ID.match(device_id):
        raise RuleViolation("device_id_format", "id",
                            "a device id is 1–64 characters of A–Z a–z 0–9 . _ : - (or owntracks:{user}/{device})")


def _check_broker_username_free(session: Session, device_id: str) -> None:
    """``owntracks:a.b/c`` and ``owntracks:a/b.c`` would both log in as ``ot.a.b.c``: the second is refused."""
    if not device_id.startswith("owntracks:"):
        return
    username = broker_username(device_id)
    phones = session.exec(select(Device.id).where(Device.id.startswith("owntracks:"))).all()
    if any(broker_username(phone) == username for phone in phones):
        raise Conflict(f"another OwnTracks phone already logs in to the broker as {username}", field="id")


def _device_binding(session: Session, principal: Principal, data: DeviceCreate) -> tuple[int | None, int | None]:
    if data.kind == "weighbridge":
        if data.site_id is None or data.vehicle_plate is not None:
            raise RuleViolation("weighbridge_binding", "site_id",
                                "a weighbridge is bound to a site: give site_id, not vehicle_plate")
        return None, visible_site(session, principal, data.site_id, field="site_id").id
    if data.vehicle_plate is None or data.site_id is not None:
        raise RuleViolation("vehicle_binding", "vehicle_plate",
                            f"a {data.kind} device is bound to a vehicle: give vehicle_plate, not site_id")
    vehicle = vehicle_by_plate(session, data.vehicle_plate)
    if vehicle is None:
        raise RuleViolation("unknown_reference", "vehicle_plate", f"no vehicle with plate {data.vehicle_plate}")
    visible_enterprise(session, principal, vehicle.transporter_id, field="vehicle_plate")
    return vehicle.id, None


# --- zones -----------------------------------------------------------------------------------

def register_zone(session: Session, principal: Principal, data: ZoneCreate, settings: Settings) -> Zone:
    principal.require_oversight()
    rules.check_geofence(data.geofence, settings.geofence_min_area_m2, settings.geofence_max_area_m2)
    zone = Zone(name=data.name, kind=data.kind, geofence=data.geofence, regulator_id=principal.regulator_id,
                region_code=_zone_region(principal, data.region_code))
    session.add(zone)
    session.flush()
    return zone


def _zone_region(principal: Principal, region_code: str | None) -> str:
    """A regulator draws zones only within its regions (default: its first prefix); the
    administrator anywhere (default: every region)."""
    if region_code is None:
        return principal.regions[0] if principal.is_regulator and principal.regions else ""
    if not principal.covers_region(region_code):
        raise RuleViolation("zone_outside_jurisdiction", "region_code",
                            f"region {region_code} lies outside your regions ({', '.join(principal.regions)})")
    return region_code


def list_zones(session: Session, principal: Principal, page: PageRequest) -> tuple[list[Zone], str | None]:
    return keyset_page(session, visible_zones(select(Zone), principal), Zone.id, "z", page, newest_first=False)


# --- waste categories ------------------------------------------------------------------------

def known_waste_code(session: Session, code: str, field: str = "waste_code") -> str:
    """SW codes must be among the shipped categories; HW codes are accepted by their pattern."""
    rules.check_waste_code(code, field)
    if code.startswith("SW") and session.get(WasteCategory, code) is None:
        raise RuleViolation("unknown_waste_code", field,
                            f"{code} is not a registered general industrial solid waste category")
    return code


def category_tolerance_pct(session: Session, code: str) -> float | None:
    category = session.get(WasteCategory, code.split(" ")[0])
    return category.tolerance_pct if category else None


def list_categories(session: Session) -> list[WasteCategory]:
    return list(session.exec(select(WasteCategory).order_by(WasteCategory.code)).all())

"""Seed data: a city-sized region around Baotou (包头, region codes 1502xx).

Five north-south and four east-west roads (with bends) form the network; the northern one is
the highway. Generators: two power plants (fly ash SW02, furnace slag SW03), a steel works
(smelting slag SW01), a polysilicon plant (filter-press residue SW59), a PVC plant (salt mud
SW16) and a wastewater plant (sludge SW07). Receivers: a cement plant, a brick works, a
landfill and two storage yards, each with its permit and annual capacity. Three
transporters with 14 trucks each (a GPS terminal and a load cell per truck), a weighbridge
at every generator and receiver, the transporters' depots, two rest areas and a
drinking-water source protection zone.

The region is the same for every seed (its own fixed random generator); the day's traffic
is what the seed changes. ``variant`` makes names, plates and device ids unique, so that
``wasteflow simulate`` can register a second copy of the region in a shared database.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cached_property

from simulators.routes import Frame, Network, Point, Road, bendy, dist, point_along, point_in_polygon

ORIGIN = (109.90, 40.62)  # lon, lat: central Baotou
REGION_PREFIX = "1502"
LAYOUT_SEED = 20261123

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # GB 32100-2015, positions 1-17
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class EnterpriseSpec:
    key: str
    name: str
    roles: tuple[str, ...]
    region_code: str


@dataclass(frozen=True)
class SiteSpec:
    key: str
    enterprise: str
    name: str
    kind: str  # plant storage utilisation disposal landfill parking
    ring: tuple[Point, ...]
    center: Point
    junction: str
    permitted: tuple[str, ...] = ()
    capacity_kg: int | None = None
    gate: Point = (0.0, 0.0)
    scale: Point = (0.0, 0.0)  # the weighbridge, just inside the gate
    yard: Point = (0.0, 0.0)  # where trucks load or unload
    ticket_prefix: str = ""

    @property
    def weighbridge_id(self) -> str:
        return f"wb-{self.key}"

    def contains(self, p: Point) -> bool:
        return point_in_polygon(p, list(self.ring))


@dataclass(frozen=True)
class ZoneSpec:
    key: str
    name: str
    kind: str  # rest_area | restricted
    ring: tuple[Point, ...]
    center: Point

    def contains(self, p: Point) -> bool:
        return point_in_polygon(p, list(self.ring))


@dataclass(frozen=True)
class VehicleSpec:
    plate: str
    transporter: str
    tare_kg: int
    max_load_kg: int
    gps_id: str
    load_id: str
    depot: str  # parking site key


@dataclass(frozen=True)
class Flow:
    generator: str  # site key
    waste_code: str
    receiver: str  # site key
    weight: float
    nominal_kg: int  # a typical load


@dataclass(frozen=True)
class DeadZone:
    name: str
    center: Point
    radius_m: float

    def contains(self, p: Point) -> bool:
        return dist(p, self.center) <= self.radius_m


@dataclass
class Region:
    frame: Frame
    network: Network
    regulator_name: str
    enterprises: dict[str, EnterpriseSpec]
    sites: dict[str, SiteSpec]
    zones: dict[str, ZoneSpec]
    vehicles: list[VehicleSpec]
    flows: list[Flow]
    dead_zones: list[DeadZone]
    variant: str = ""
    waste_names: dict[str, str] = field(default_factory=dict)

    @cached_property
    def generators(self) -> list[SiteSpec]:
        return [s for s in self.sites.values() if "generator" in self.enterprises[s.enterprise].roles
                and s.kind == "plant"]

    def site_lonlat_polygon(self, key: str) -> dict:
        return self.frame.polygon(list(self.sites[key].ring))

    def zone_lonlat_polygon(self, key: str) -> dict:
        return self.frame.polygon(list(self.zones[key].ring))


WASTE_NAMES = {
    "SW01": "smelting slag", "SW02": "fly ash", "SW03": "furnace slag", "SW07": "sludge",
    "SW16": "chemical waste (PVC salt mud)", "SW59": "other (filter-press residue)",
}

# (key, name, roles, district)
ENTERPRISES = [
    ("pp1", "Baotou No.1 Thermal Power Co. (包头第一热电厂)", ("generator",), "150202"),
    ("pp2", "Donghua Thermal Power Co. (东华热电)", ("generator",), "150204"),
    ("steel", "Baotou Iron & Steel Works (包钢)", ("generator",), "150204"),
    ("silicon", "Hongyuan Polysilicon Co. (弘元多晶硅)", ("generator",), "150207"),
    ("pvc", "Haiping PVC Chemical Co. (海平聚氯乙烯)", ("generator",), "150206"),
    ("wwtp", "Baotou Southern Wastewater Treatment Plant (南郊污水处理厂)", ("generator",), "150203"),
    ("cement", "Jidong Cement Baotou Co. (冀东水泥包头)", ("receiver", "generator"), "150202"),
    ("brick", "Saihan Fly-ash Brick Works (赛罕粉煤灰砖厂)", ("receiver",), "150205"),
    ("landfill", "Baotou General Industrial Solid Waste Landfill (一般工业固废填埋场)", ("receiver",), "150207"),
    ("yard_a", "Qingshan Slag and Ash Storage Co. (青山灰渣贮存)", ("receiver",), "150204"),
    ("yard_b", "Kundulun Industrial Residue Storage Co. (昆都仑工业渣贮存)", ("receiver",), "150203"),
    ("t_shunda", "Shunda Logistics (顺达物流)", ("transporter",), "150203"),
    ("t_lufeng", "Lufeng Heavy Haulage (路丰重载运输)", ("transporter",), "150204"),
    ("t_mengtai", "Mengtai Transport (蒙泰运输)", ("transporter",), "150202"),
]

COLS = (-18_000.0, -9_000.0, 0.0, 9_000.0, 18_000.0)
ROWS = (-9_000.0, -3_000.0, 3_000.0, 9_000.0)
ROW_NAMES = ("Binhe Road", "Nanhuan Road", "Jianshe Road", "G110 Highway")
COL_NAMES = ("Hexi Road", "Kundulun Avenue", "Gangtie Avenue", "Qingshan Road", "Donghe Avenue")


def J(c: int, r: int) -> str:
    return f"J{c}{r}"


# (key, enterprise, name, kind, junction (c, r), offset from it (m), half size (m), permitted, capacity kg/yr)
SITES = [
    ("pp1", "pp1", "No.1 Thermal Power Plant", "plant", (3, 2), (1600, 1500), (320, 240), (), None),
    ("pp2", "pp2", "Donghua Power Station", "plant", (0, 2), (1600, 1500), (300, 240), (), None),
    ("steel", "steel", "Baogang Steel Works slag yard", "plant", (1, 3), (1800, -1600), (420, 300), (), None),
    ("silicon", "silicon", "Polysilicon Plant", "plant", (3, 0), (1600, 1500), (300, 220), (), None),
    ("pvc", "pvc", "PVC Plant", "plant", (1, 0), (-1600, 1500), (300, 230), (), None),
    ("wwtp", "wwtp", "Southern Wastewater Plant", "plant", (2, 1), (1600, 1400), (260, 200), (), None),
    ("cement", "cement", "Jidong Cement Plant", "utilisation", (4, 1), (-1600, -1500), (380, 280),
     ("SW01", "SW02", "SW03", "SW07"), 600_000_000),
    ("brick", "brick", "Saihan Brick Works", "utilisation", (0, 1), (1600, -1500), (260, 200),
     ("SW02", "SW03", "SW07"), 250_000_000),
    ("landfill", "landfill", "Industrial Solid Waste Landfill", "landfill", (2, 0), (-1800, -1600), (480, 360),
     ("SW01", "SW02", "SW03", "SW07", "SW16", "SW59"), 900_000_000),
    ("yard_a", "yard_a", "Qingshan Ash and Slag Yard", "storage", (2, 2), (-1600, 1500), (300, 220),
     ("SW01", "SW02", "SW03"), 400_000_000),
    ("yard_b", "yard_b", "Kundulun Residue Yard", "storage", (3, 1), (-1600, -1500), (280, 220),
     ("SW16", "SW59"), 200_000_000),
    ("depot_shunda", "t_shunda", "Shunda truck depot", "parking", (2, 2), (1500, -1400), (160, 120), (), None),
    ("depot_lufeng", "t_lufeng", "Lufeng truck depot", "parking", (1, 1), (1500, 1400), (160, 120), (), None),
    ("depot_mengtai", "t_mengtai", "Mengtai truck depot", "parking", (3, 2), (-1500, -1400), (160, 120), (), None),
]

FLOWS = [
    ("pp1", "SW02", "cement", 5, 30_000), ("pp1", "SW02", "brick", 2, 28_000), ("pp1", "SW02", "yard_a", 3, 30_000),
    ("pp1", "SW03", "cement", 2, 29_000), ("pp1", "SW03", "brick", 1, 28_000),
    ("pp2", "SW02", "brick", 3, 28_000), ("pp2", "SW02", "yard_a", 2, 30_000), ("pp2", "SW03", "landfill", 2, 29_000),
    ("steel", "SW01", "yard_a", 4, 31_000), ("steel", "SW01", "cement", 2, 31_000),
    ("steel", "SW01", "landfill", 1, 31_000),
    ("silicon", "SW59", "yard_b", 2, 26_000), ("silicon", "SW59", "landfill", 2, 26_000),
    ("pvc", "SW16", "landfill", 2, 27_000), ("pvc", "SW16", "yard_b", 1, 27_000),
    ("wwtp", "SW07", "landfill", 2, 22_000), ("wwtp", "SW07", "cement", 2, 22_000),
    ("wwtp", "SW07", "brick", 1, 21_000),
]

TRANSPORTERS = (("t_shunda", "depot_shunda"), ("t_lufeng", "depot_lufeng"), ("t_mengtai", "depot_mengtai"))
TRUCKS_PER_TRANSPORTER = 14


def credit_code(region_code: str, serial: int, variant: str = "") -> str:
    """A valid GB 32100-2015 unified social credit code (check character computed)."""
    tail = f"{serial:05d}"
    body = f"91{region_code}MA" + (variant[:1] or "0") + "X" + tail
    body = "".join(c if c in CREDIT_CHARSET else "0" for c in body.upper())[:17]
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(body, CREDIT_WEIGHTS, strict=False))
    return body + CREDIT_CHARSET[(31 - total % 31) % 31]


def _site_ring(center: Point, half: Point, angle: float, chamfer: float) -> list[Point]:
    hx, hy = half
    c = chamfer * min(hx, hy)
    local = [(-hx, -hy), (hx - c, -hy), (hx, -hy + c), (hx, hy), (-hx, hy)]
    ca, sa = math.cos(angle), math.sin(angle)
    return [(center[0] + x * ca - y * sa, center[1] + x * sa + y * ca) for x, y in local]


def _gate(ring: list[Point], center: Point, toward: Point) -> Point:
    """Where the straight line from the centre towards ``toward`` leaves the polygon."""
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        p = (center[0] + (toward[0] - center[0]) * mid, center[1] + (toward[1] - center[1]) * mid)
        if point_in_polygon(p, ring):
            lo = mid
        else:
            hi = mid
    return (center[0] + (toward[0] - center[0]) * hi, center[1] + (toward[1] - center[1]) * hi)


def _plate(rng: random.Random, used: set[str], variant: str) -> str:
    while True:
        if variant:
            body = variant[0] + "".join(rng.choice("0123456789") for _ in range(4))
        elif rng.random() < 0.3:
            body = rng.choice(PLATE_LETTERS) + "".join(rng.choice("0123456789") for _ in range(4))
        else:
            body = "".join(rng.choice("0123456789") for _ in range(5))
        plate = "蒙B" + body
        if plate not in used:
            used.add(plate)
            return plate


def build_region(variant: str = "") -> Region:
    """The region. ``variant`` (one capital letter or empty) makes its identifiers unique."""
    rng = random.Random(LAYOUT_SEED)
    net = _road_grid(rng)
    sites = _sites(net, rng, variant)
    tag = f" [{variant}]" if variant else ""
    enterprises = {key: EnterpriseSpec(key, name + tag, roles, region) for key, name, roles, region in ENTERPRISES}
    return Region(frame=Frame(*ORIGIN), network=net,
                  regulator_name="Baotou Ecology and Environment Enforcement Bureau" + tag,
                  enterprises=enterprises, sites=sites, zones=_zones(net, variant), vehicles=_vehicles(variant),
                  flows=[Flow(*f) for f in FLOWS], dead_zones=_dead_zones(net), variant=variant,
                  waste_names=dict(WASTE_NAMES))


def _road_grid(rng: random.Random) -> Network:
    """Junctions jittered around the grid, joined by bendy roads (the northern row a highway)."""
    net = Network()
    for c, x in enumerate(COLS):
        for r, y in enumerate(ROWS):
            net.add_node(J(c, r), (x + rng.uniform(-400, 400), y + rng.uniform(-400, 400)))
    for r in range(len(ROWS)):
        for c in range(len(COLS) - 1):
            kind = "highway" if r == len(ROWS) - 1 else "urban"
            pts = bendy(net.nodes[J(c, r)], net.nodes[J(c + 1, r)], rng, 3, 430)
            net.add_road(Road(J(c, r), J(c + 1, r), tuple(pts), kind, ROW_NAMES[r]))
    for c in range(len(COLS)):
        for r in range(len(ROWS) - 1):
            pts = bendy(net.nodes[J(c, r)], net.nodes[J(c, r + 1)], rng, 2, 380)
            net.add_road(Road(J(c, r), J(c, r + 1), tuple(pts), "urban", COL_NAMES[c]))
    return net


def _sites(net: Network, rng: random.Random, variant: str) -> dict[str, SiteSpec]:
    """Each site beside its junction, its gate joined to it by an access road (added to ``net``)."""
    sites: dict[str, SiteSpec] = {}
    for key, ent, name, kind, (c, r), (ox, oy), half, permitted, capacity in SITES:
        junction = J(c, r)
        jp = net.nodes[junction]
        center = (jp[0] + ox, jp[1] + oy)
        ring = _site_ring(center, half, rng.uniform(-0.25, 0.25), rng.uniform(0.2, 0.5))
        gate = _gate(ring, center, jp)
        inward = ((center[0] - gate[0]), (center[1] - gate[1]))
        n = math.hypot(*inward)
        scale = (gate[0] + inward[0] / n * 45, gate[1] + inward[1] / n * 45)
        yard = (center[0] + rng.uniform(-40, 40), center[1] + rng.uniform(-40, 40))
        gate_node = f"G:{key}"
        net.add_node(gate_node, gate)
        access = bendy(gate, jp, rng, 1, 90)
        net.add_road(Road(gate_node, junction, tuple(access), "access", f"{name} access road"))
        sites[key] = SiteSpec(key=key, enterprise=ent, name=name + (f" {variant}" if variant else ""), kind=kind,
                              ring=tuple(ring), center=center, junction=junction, permitted=permitted,
                              capacity_kg=capacity, gate=gate, scale=scale, yard=yard,
                              ticket_prefix=f"{key.upper().replace('_', '')}{variant}")
    return sites


def _zones(net: Network, variant: str) -> dict[str, ZoneSpec]:
    zones: dict[str, ZoneSpec] = {}
    # Drinking-water source protection zone: an irregular area inside the cell west of the centre.
    wc = (-4_600.0, -200.0)
    water = [(wc[0] + rx * math.cos(a), wc[1] + ry * math.sin(a)) for a, rx, ry in
             ((k * math.pi / 6, 1_700 + 250 * math.sin(3 * k), 1_050 + 200 * math.cos(2 * k)) for k in range(12))]
    zones["water"] = ZoneSpec("water", "Huangshui drinking-water source protection zone (饮用水水源保护区)" +
                              (f" {variant}" if variant else ""), "restricted", tuple(water), wc)
    for key, road_ends, name in (("rest_g110", (J(2, 3), J(3, 3)), "G110 Qingshan rest area"),
                                 ("rest_nanhuan", (J(1, 1), J(2, 1)), "Nanhuan Road truck rest area")):
        road = next(rd for rd in net.roads if (rd.a, rd.b) == road_ends)
        p = point_along(list(road.points), road.length * 0.5)
        ring = _site_ring((p[0], p[1] + 60), (230, 170), 0.0, 0.3)
        zones[key] = ZoneSpec(key, name + (f" {variant}" if variant else ""), "rest_area", tuple(ring), p)
    return zones


def _dead_zones(net: Network) -> list[DeadZone]:
    dead = []
    for name, ends, frac in (("Kundulun tunnel", (J(1, 2), J(1, 3)), 0.45),
                             ("Qingshan underpass", (J(3, 1), J(3, 2)), 0.55),
                             ("Binhe cutting", (J(2, 0), J(3, 0)), 0.4)):
        road = next(rd for rd in net.roads if (rd.a, rd.b) == ends)
        dead.append(DeadZone(name, point_along(list(road.points), road.length * frac), 650.0))
    return dead


def _vehicles(variant: str) -> list[VehicleSpec]:
    vehicles = []
    used: set[str] = set()
    vrng = random.Random(LAYOUT_SEED + 1)
    for t, (transporter, depot) in enumerate(TRANSPORTERS):
        for k in range(TRUCKS_PER_TRANSPORTER):
            plate = _plate(vrng, used, variant)
            n = t * TRUCKS_PER_TRANSPORTER + k + 1
            vehicles.append(VehicleSpec(plate=plate, transporter=transporter,
                                        tare_kg=int(vrng.uniform(14_200, 16_400) // 10 * 10),
                                        max_load_kg=vrng.choice((32_000, 33_000, 34_000)),
                                        gps_id=f"gps-{variant}{n:03d}", load_id=f"load-{variant}{n:03d}", depot=depot))
    return vehicles

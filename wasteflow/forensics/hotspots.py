"""Hotspots, pure: findings' locations in, places where several trucks or many findings gather out.

findings.md, "Forensics": single linkage — findings chain into one cluster while each lies within
300 m of another; the centre is their mean, the radius the farthest from it. A cluster is a hotspot
when it holds findings of at least 2 vehicles, or at least 3 findings (defaults configurable).
Repeated stops at one place by several trucks are the signature of an illegal dump or an unlicensed
receiver.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from wasteflow.forensics.rules import distance_m

M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Located:
    """A finding where it happened."""

    id: int
    lon: float
    lat: float
    vehicle: str | None
    at: datetime


@dataclass(frozen=True)
class Hotspot:
    lon: float
    lat: float
    radius_m: float
    finding_ids: list[int]
    vehicles: int
    first_seen: datetime
    last_seen: datetime


def clusters(points: Sequence[Located], link_m: float) -> list[list[Located]]:
    """Single-linkage clusters: a grid of cells at least ``link_m`` wide, so a point's links lie in its
    own cell or the eight around it (union-find over those pairs)."""
    if not points:
        return []
    cos_min = max(min(math.cos(math.radians(p.lat)) for p in points), 1e-6)
    cell_lat, cell_lon = link_m / M_PER_DEG, link_m / (M_PER_DEG * cos_min)
    parent = list(range(len(points)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        grid[(math.floor(p.lon / cell_lon), math.floor(p.lat / cell_lat))].append(i)
    for (cx, cy), members in grid.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for i in members:
                    for j in grid.get((cx + dx, cy + dy), ()):
                        if i < j and distance_m(points[i].lon, points[i].lat, points[j].lon, points[j].lat) <= link_m:
                            parent[root(i)] = root(j)
    groups: dict[int, list[Located]] = defaultdict(list)
    for i, p in enumerate(points):
        groups[root(i)].append(p)
    return list(groups.values())


def hotspot(members: Sequence[Located]) -> Hotspot:
    lon = sum(p.lon for p in members) / len(members)
    lat = sum(p.lat for p in members) / len(members)
    return Hotspot(lon=lon, lat=lat, radius_m=max(distance_m(lon, lat, p.lon, p.lat) for p in members),
                   finding_ids=sorted(p.id for p in members),
                   vehicles=len({p.vehicle for p in members if p.vehicle is not None}),
                   first_seen=min(p.at for p in members), last_seen=max(p.at for p in members))


def hotspots(points: Sequence[Located], link_m: float = 300.0, min_vehicles: int = 2,
             min_findings: int = 3) -> list[Hotspot]:
    """The clusters that count as hotspots, busiest first."""
    found = [hotspot(members) for members in clusters(points, link_m)]
    found = [h for h in found if h.vehicles >= min_vehicles or len(h.finding_ids) >= min_findings]
    return sorted(found, key=lambda h: (-len(h.finding_ids), -h.vehicles, h.first_seen))

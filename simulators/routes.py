"""A local metric frame and a road network with bends, and paths through it.

Positions inside the simulator are metres east/north of the region's origin; they are
turned into WGS 84 lon/lat (equirectangular, scaled by cos(lat) -- ample for a city) only at
the edges: GeoJSON for the API, fixes for the devices.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

M_PER_DEG_LAT = 111_320.0

Point = tuple[float, float]  # metres (x east, y north)


@dataclass(frozen=True)
class Frame:
    lon0: float
    lat0: float

    @property
    def m_per_deg_lon(self) -> float:
        return M_PER_DEG_LAT * math.cos(math.radians(self.lat0))

    def lonlat(self, p: Point) -> tuple[float, float]:
        return (round(self.lon0 + p[0] / self.m_per_deg_lon, 6), round(self.lat0 + p[1] / M_PER_DEG_LAT, 6))

    def xy(self, lon: float, lat: float) -> Point:
        return ((lon - self.lon0) * self.m_per_deg_lon, (lat - self.lat0) * M_PER_DEG_LAT)

    def ring(self, points: list[Point]) -> list[list[float]]:
        ring = [list(self.lonlat(p)) for p in points]
        if ring[0] != ring[-1]:
            ring.append(list(ring[0]))
        return ring

    def polygon(self, points: list[Point]) -> dict:
        return {"type": "Polygon", "coordinates": [self.ring(points)]}

    def linestring(self, points: list[Point]) -> dict:
        coords: list[list[float]] = []
        for p in points:
            c = list(self.lonlat(p))
            if not coords or coords[-1] != c:
                coords.append(c)
        return {"type": "LineString", "coordinates": coords}


# --- plane geometry --------------------------------------------------------------------------

def dist(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def lerp(a: Point, b: Point, f: float) -> Point:
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def polyline_length(points: list[Point]) -> float:
    return sum(dist(a, b) for a, b in zip(points, points[1:], strict=False))


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = dx * dx + dy * dy
    if n == 0:
        return dist(p, a)
    f = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / n))
    return dist(p, (a[0] + f * dx, a[1] + f * dy))


def distance_to_polyline(p: Point, points: list[Point]) -> float:
    return min(point_segment_distance(p, a, b) for a, b in zip(points, points[1:], strict=False))


def point_along(points: list[Point], s: float) -> Point:
    """The point ``s`` metres along a polyline (clamped to its ends)."""
    for a, b in zip(points, points[1:], strict=False):
        d = dist(a, b)
        if s <= d and d > 0:
            return lerp(a, b, s / d)
        s -= d
    return points[-1]


def split_at(points: list[Point], s: float) -> tuple[list[Point], list[Point]]:
    """The polyline cut ``s`` metres from its start: (head, tail), sharing the cut point."""
    head = [points[0]]
    for i, (a, b) in enumerate(zip(points, points[1:], strict=False)):
        d = dist(a, b)
        if s <= d:
            cut = lerp(a, b, s / d) if d > 0 else a
            head.append(cut)
            return head, [cut] + points[i + 1:]
        head.append(b)
        s -= d
    return points, [points[-1]]


def point_in_polygon(p: Point, ring: list[Point]) -> bool:
    x, y = p
    inside = False
    n = len(ring)
    for i in range(n):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    def orient(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


def polyline_enters(points: list[Point], ring: list[Point]) -> bool:
    if any(point_in_polygon(p, ring) for p in points):
        return True
    edges = list(zip(ring, ring[1:] + ring[:1], strict=False))
    return any(segments_cross(a, b, c, d) for a, b in zip(points, points[1:], strict=False) for c, d in edges)


# --- the road network ------------------------------------------------------------------------

@dataclass(frozen=True)
class Road:
    """One road segment between two junctions: its shape (with bends) and its speed class."""

    a: str
    b: str
    points: tuple[Point, ...]
    kind: str  # "highway" | "urban" | "access" | "track"
    name: str = ""

    @property
    def length(self) -> float:
        return polyline_length(list(self.points))


SPEED_KMH = {"highway": (58, 70), "urban": (38, 55), "access": (22, 32), "track": (30, 42)}


@dataclass
class Network:
    nodes: dict[str, Point] = field(default_factory=dict)
    roads: list[Road] = field(default_factory=list)
    _adj: dict[str, list[tuple[str, Road, bool]]] = field(default_factory=dict)

    def add_node(self, name: str, p: Point) -> None:
        self.nodes[name] = p
        self._adj.setdefault(name, [])

    def add_road(self, road: Road) -> None:
        self.roads.append(road)
        self._adj.setdefault(road.a, []).append((road.b, road, False))
        self._adj.setdefault(road.b, []).append((road.a, road, True))

    def nearest_node(self, p: Point, junctions_only: bool = True) -> str:
        names = [n for n in self.nodes if not junctions_only or n.startswith("J")]
        return min(names, key=lambda n: dist(self.nodes[n], p))

    def path(self, start: str, goal: str, via: str | None = None) -> list[tuple[Road, bool]]:
        """Shortest path (by travel time) as a list of (road, reversed)."""
        if via is not None:
            return self.path(start, via) + self.path(via, goal)
        best = {start: 0.0}
        came: dict[str, tuple[str, Road, bool]] = {}
        queue = [(0.0, start)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == goal:
                break
            if cost > best.get(node, math.inf):
                continue
            for nxt, road, rev in self._adj.get(node, []):
                lo, hi = SPEED_KMH[road.kind]
                c = cost + road.length / ((lo + hi) / 2)
                if c < best.get(nxt, math.inf):
                    best[nxt] = c
                    came[nxt] = (node, road, rev)
                    heapq.heappush(queue, (c, nxt))
        if goal not in best:
            raise ValueError(f"no road from {start} to {goal}")
        steps = []
        node = goal
        while node != start:
            prev, road, rev = came[node]
            steps.append((road, rev))
            node = prev
        return steps[::-1]


def path_points(steps: list[tuple[Road, bool]]) -> list[Point]:
    pts: list[Point] = []
    for road, rev in steps:
        seg = list(road.points[::-1] if rev else road.points)
        pts.extend(seg if not pts else seg[1:])
    return pts


def bendy(a: Point, b: Point, rng: random.Random, bends: int, amplitude: float) -> list[Point]:
    """A road from a to b with ``bends`` intermediate points pushed sideways (never straight)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    pts = [a]
    for k in range(1, bends + 1):
        f = k / (bends + 1) + rng.uniform(-0.08, 0.08)
        off = rng.uniform(0.35, 1.0) * amplitude * (1 if (k + rng.random() > 1.5) else -1)
        pts.append((a[0] + dx * f + nx * off, a[1] + dy * f + ny * off))
    pts.append(b)
    return pts

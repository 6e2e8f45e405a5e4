"""How a truck moves and what it carries: road vertices, a timed trajectory, a load profile.

Positions are metres in the region's local frame (:mod:`simulators.routes`). A
:class:`Motion` is a piecewise-linear trajectory of keyframes (a repeated position is a stop),
a :class:`LoadProfile` the true load on the truck's bed over time. Nothing here is random by
itself: the caller passes the random generator, so a seed fixes every movement.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

from simulators.region import Region
from simulators.routes import SPEED_KMH, Point, dist, lerp, polyline_length

SITE_KMH = 12.0


@dataclass
class Vtx:
    p: Point
    kind: str = "urban"  # the road class of the segment that ends here
    junction: bool = False


def verts_of(points: list[Point], kind: str) -> list[Vtx]:
    return [Vtx(p, kind) for p in points]


def road_verts(region: Region, start: str, goal: str, via: str | None = None) -> list[Vtx]:
    steps = region.network.path(start, goal, via)
    out: list[Vtx] = []
    for road, rev in steps:
        pts = list(road.points[::-1] if rev else road.points)
        end_node = road.a if rev else road.b
        if not out:
            out.append(Vtx(pts[0], road.kind))
        for p in pts[1:-1]:
            out.append(Vtx(p, road.kind))
        out.append(Vtx(pts[-1], road.kind, junction=end_node.startswith("J")))
    return out


def vlength(verts: list[Vtx]) -> float:
    return polyline_length([v.p for v in verts])


def split_verts(verts: list[Vtx], s: float) -> tuple[list[Vtx], list[Vtx]]:
    head = [verts[0]]
    for i in range(1, len(verts)):
        d = dist(verts[i - 1].p, verts[i].p)
        if s <= d:
            cut = Vtx(lerp(verts[i - 1].p, verts[i].p, s / d) if d else verts[i].p, verts[i].kind)
            head.append(cut)
            return head, [cut] + verts[i:]
        head.append(verts[i])
        s -= d
    return verts, [verts[-1]]


def arclength_of_nearest(points: list[Point], q: Point) -> tuple[float, float]:
    """(arc length along the polyline of the point nearest q, that distance)."""
    best, best_s, s = math.inf, 0.0, 0.0
    for a, b in zip(points, points[1:], strict=False):
        d = dist(a, b)
        if d > 0:
            f = max(0.0, min(1.0, ((q[0] - a[0]) * (b[0] - a[0]) + (q[1] - a[1]) * (b[1] - a[1])) / (d * d)))
            c = lerp(a, b, f)
            dd = dist(c, q)
            if dd < best:
                best, best_s = dd, s + f * d
        s += d
    return best_s, best



class Motion:
    """A piecewise-linear trajectory: keyframes (t, position); a repeated position is a stop."""

    def __init__(self, t: float, p: Point):
        self.ts = [t]
        self.ps = [p]

    @property
    def t(self) -> float:
        return self.ts[-1]

    @property
    def p(self) -> Point:
        return self.ps[-1]

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.ts.append(self.t + seconds)
            self.ps.append(self.p)

    def wait_until(self, t: float) -> None:
        self.wait(t - self.t)

    def go(self, q: Point, kmh: float) -> None:
        d = dist(self.p, q)
        if d < 0.5:
            return
        self.ts.append(self.t + d / (kmh / 3.6))
        self.ps.append(q)

    def drive(self, verts: list[Vtx], rng: random.Random, factor: float, lights: bool = True) -> None:
        for v in verts[1:]:
            lo, hi = SPEED_KMH.get(v.kind, (SITE_KMH, SITE_KMH))
            self.go(v.p, rng.uniform(lo, hi) * factor)
            if lights and v.junction and rng.random() < 0.35:
                self.wait(rng.uniform(15, 75))  # a red light

    def at(self, t: float) -> tuple[Point, float, float | None]:
        """(position, speed km/h, heading degrees or None when standing) at time t."""
        i = bisect.bisect_right(self.ts, t)
        if i <= 0:
            return self.ps[0], 0.0, None
        if i >= len(self.ts):
            return self.ps[-1], 0.0, None
        t0, t1 = self.ts[i - 1], self.ts[i]
        a, b = self.ps[i - 1], self.ps[i]
        if t1 <= t0 or a == b:
            return a, 0.0, None
        f = (t - t0) / (t1 - t0)
        d = dist(a, b)
        heading = (math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) + 360) % 360
        return lerp(a, b, f), d / (t1 - t0) * 3.6, heading


class LoadProfile:
    """The true load on the truck's bed over time (piecewise linear)."""

    def __init__(self, t: float):
        self.ts = [t]
        self.kg = [0.0]

    def set(self, t: float, kg: float) -> None:
        if t < self.ts[-1]:
            t = self.ts[-1]
        self.ts.append(t)
        self.kg.append(kg)

    def hold(self, t: float) -> None:
        self.set(t, self.kg[-1])

    def at(self, t: float) -> float:
        i = bisect.bisect_right(self.ts, t)
        if i <= 0:
            return self.kg[0]
        if i >= len(self.ts):
            return self.kg[-1]
        t0, t1 = self.ts[i - 1], self.ts[i]
        if t1 <= t0:
            return self.kg[i]
        return self.kg[i - 1] + (self.kg[i] - self.kg[i - 1]) * (t - t0) / (t1 - t0)


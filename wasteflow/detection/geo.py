"""Geodesy for detection: metres on the WGS 84 ellipsoid, never degrees.

Three tools, each chosen for the question it answers:

* Point-to-point distances between nearby fixes (stops, jumps) use the straight chord
  between the points' Earth-centred (ECEF) coordinates. For two points d metres apart the
  chord is shorter than the geodesic by about d**3 / (24 R**2): 0.1 mm at 1 km, 0.3 m at
  20 km. It is exact enough for every threshold here and fully vectorised.
* `geodesic_m` gives exact WGS 84 geodesic distances (pyproj.Geod, C speed, vectorised) for
  values reported as evidence.
* Point-to-line and point-to-polygon distances (route corridor, gate radius) use a
  `LocalFrame`: an orthographic projection of the ellipsoid onto the plane tangent at the
  trip's centre (ECEF -> east/north). Distances are compressed by at most
  1 - cos(rho / R) for points rho away from the centre: 0.003 % at 50 km, 0.012 % at 100 km,
  0.05 % at 200 km -- e.g. a 500 m corridor distance is off by 6 cm 100 km from the centre.
  Points more than `FAR_M` from the centre (GPS glitches) are not projected.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import shapely

WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)
FAR_M = 1_500_000.0  # beyond this from the frame centre a point is "far" (never near a route)

_GEOD = pyproj.Geod(ellps="WGS84")


def ecef(lon, lat) -> np.ndarray:
    """(n, 3) Earth-centred coordinates in metres of points on the ellipsoid surface."""
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    sin_phi = np.sin(phi)
    cos_phi = np.cos(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_phi * sin_phi)
    return np.stack(
        (n * cos_phi * np.cos(lam), n * cos_phi * np.sin(lam), n * (1.0 - WGS84_E2) * sin_phi),
        axis=-1,
    )


def ecef_point(lon: float, lat: float) -> np.ndarray:
    """ecef() for one point, without numpy's per-call overhead."""
    lam, phi = math.radians(lon), math.radians(lat)
    sin_phi, cos_phi = math.sin(phi), math.cos(phi)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_phi * sin_phi)
    return np.array((n * cos_phi * math.cos(lam), n * cos_phi * math.sin(lam), n * (1.0 - WGS84_E2) * sin_phi))


def chord_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances in metres between ECEF points (row-wise, broadcasting)."""
    d = a - b
    return np.sqrt(np.einsum("...i,...i->...", d, d))


def step_distances_m(xyz: np.ndarray) -> np.ndarray:
    """Distance from each point to the next one (length n - 1)."""
    return chord_m(xyz[1:], xyz[:-1])


def geodesic_m(lon1, lat1, lon2, lat2):
    """Exact WGS 84 geodesic distance in metres (scalars or arrays)."""
    return _GEOD.inv(lon1, lat1, lon2, lat2)[2]


def covers_lonlat(geometry, lon, lat) -> np.ndarray:
    """Which points lie inside the polygon, boundary included (prepared, vectorised)."""
    shapely.prepare(geometry)
    return shapely.intersects_xy(geometry, np.asarray(lon, float), np.asarray(lat, float))


def representative_lonlat(geometry) -> tuple[float, float]:
    return derived(geometry, "centroid", _centroid)


def _centroid(geometry) -> tuple[float, float]:
    c = shapely.centroid(geometry)
    return float(c.x), float(c.y)


# -- values derived from long-lived geometries ---------------------------------------------------

_DERIVED: dict[tuple[int, object], tuple[object, object]] = {}
_DERIVED_MAX = 50_000


def derived(geometry, tag, compute):
    """``compute(geometry)``, remembered while that same geometry object is in use.

    Sites and zones live in the PlaceDirectory across trips, so what detection derives from
    them (centroid, bounding circle, projection into a trip's frame) is computed once, not per
    trip. Keyed by object identity (checked, so a recycled id never returns a stale value);
    geometries are immutable. Bounded: cleared when it grows past ``_DERIVED_MAX`` entries.
    Thread-safe enough: at worst two threads compute the same value.
    """
    key = (id(geometry), tag)
    hit = _DERIVED.get(key)
    if hit is not None and hit[0] is geometry:
        return hit[1]
    value = compute(geometry)
    if len(_DERIVED) >= _DERIVED_MAX:
        _DERIVED.clear()
    _DERIVED[key] = (geometry, value)
    return value


_FRAMES: dict[tuple[float, float], LocalFrame] = {}


def local_frame(lon0: float, lat0: float) -> LocalFrame:
    """A (shared, immutable) LocalFrame at (lon0, lat0)."""
    key = (float(lon0), float(lat0))
    frame = _FRAMES.get(key)
    if frame is None:
        if len(_FRAMES) >= 10_000:
            _FRAMES.clear()
        frame = _FRAMES[key] = LocalFrame(*key)
    return frame


class LocalFrame:
    """A metric east/north plane tangent to the ellipsoid at (lon0, lat0). See module doc."""

    def __init__(self, lon0: float, lat0: float):
        self.lon0 = float(lon0)
        self.lat0 = float(lat0)
        lam, phi = np.radians(self.lon0), np.radians(self.lat0)
        self._origin = ecef(self.lon0, self.lat0)
        self._east = np.array([-np.sin(lam), np.cos(lam), 0.0])
        self._north = np.array(
            [-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)]
        )

    def xy_from_ecef(self, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """East/north metres; far points (see FAR_M) come back as NaN."""
        d = xyz - self._origin
        x = d @ self._east
        y = d @ self._north
        far = chord_m(xyz, self._origin) > FAR_M
        if far.any():
            x = np.where(far, np.nan, x)
            y = np.where(far, np.nan, y)
        return x, y

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        return self.xy_from_ecef(ecef(lon, lat))

    def distance_from_centre_m(self, xyz: np.ndarray) -> np.ndarray:
        return chord_m(xyz, self._origin)

    def project_place(self, geometry):
        """project(), remembered for long-lived geometries (site and zone geofences)."""
        return derived(geometry, ("xy", self.lon0, self.lat0), self.project)

    def project(self, geometry):
        """The geometry with its lon/lat coordinates replaced by frame metres."""

        def to_xy(coords: np.ndarray) -> np.ndarray:
            x, y = self.xy(coords[:, 0], coords[:, 1])
            return np.column_stack((x, y))

        return shapely.transform(geometry, to_xy)


def distances_beyond_corridor(
    route_xy, corridor_m: float, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Distance in metres from each point to the route, or NaN for points inside the corridor.

    Fast path: a coarse buffer (quad_segs=2) is inscribed in the true corridor, so a point
    inside it is certainly within `corridor_m`; only the others get an exact distance.
    NaN input points (far away) get +inf.
    """
    out = np.full(x.shape, np.nan)
    if x.size == 0:
        return out
    inner = shapely.buffer(route_xy, corridor_m, quad_segs=2)
    shapely.prepare(inner)
    finite = np.isfinite(x) & np.isfinite(y)
    inside = np.zeros(x.shape, bool)
    inside[finite] = shapely.intersects_xy(inner, x[finite], y[finite])
    check = finite & ~inside
    if check.any():
        d = shapely.distance(route_xy, shapely.points(x[check], y[check]))
        out[check] = np.where(d > corridor_m, d, np.nan)
    out[~finite] = np.inf
    return out

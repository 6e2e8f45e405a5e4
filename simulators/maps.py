"""Map pictures as inline SVG, drawn by the project: no tiles, no network.

Equirectangular projection scaled by cos(latitude) at the picture's centre (true to a few
parts per thousand over a city), north up. A picture of a trip shows the roads (when
known), sites and zones, the planned route with its corridor band, the track (gaps and
impossible jumps dashed), stops, the findings' locations, a scale bar and a north arrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

M_PER_DEG = 111_320.0
TZ = ZoneInfo("Asia/Shanghai")

SITE_STYLE = {  # role -> (fill, stroke)
    "generator": ("#d9f2e3", "#1f8a4c"),
    "receiver": ("#dbe8fb", "#2563eb"),
    "other_site": ("#ececec", "#777777"),
    "parking": ("#efe6fb", "#7c4dcc"),
    "rest_area": ("#eaf7d9", "#6a9a2a"),
    "restricted": ("url(#hatch)", "#c62828"),
}
SEVERITY_COLOUR = {"critical": "#c62828", "warning": "#e08a00", "info": "#607d8b"}


@dataclass
class View:
    lon0: float
    lat0: float
    lat_max: float
    k: float  # pixels per degree of latitude
    coslat: float
    width: int
    height: int
    ox: float
    oy: float

    @property
    def m_per_px(self) -> float:
        return M_PER_DEG / self.k

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.ox + (lon - self.lon0) * self.coslat * self.k, self.oy + (self.lat_max - lat) * self.k)


def make_view(points: list[tuple[float, float]], width: int, height: int, pad: float = 0.07,
              min_span_m: float = 1500.0) -> View:
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    lat_c = (min(lats) + max(lats)) / 2
    coslat = math.cos(math.radians(lat_c))
    span_x = max((max(lons) - min(lons)) * coslat, min_span_m / M_PER_DEG)
    span_y = max(max(lats) - min(lats), min_span_m / M_PER_DEG)
    k = min(width * (1 - 2 * pad) / span_x, height * (1 - 2 * pad) / span_y)
    cx = (min(lons) + max(lons)) / 2
    lon0 = cx - (width / 2) / (coslat * k)
    lat_max = lat_c + (height / 2) / k
    return View(lon0, lat_c, lat_max, k, coslat, width, height, 0.0, 0.0)


def _pts(view: View, coords) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in (view.xy(c[0], c[1]) for c in coords))


def _rings(geometry: dict) -> list[list]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _nice(metres: float) -> float:
    for v in (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000):
        if v >= metres:
            return v
    return 100000


def _scale_bar(view: View) -> str:
    length_m = _nice(view.width * 0.18 * view.m_per_px)
    px = length_m / view.m_per_px
    x0, y0 = 16, view.height - 18
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    half = px / 2
    return (f'<g class="scale"><rect x="{x0 - 6}" y="{y0 - 20}" width="{px + 12 + 40}" height="30" rx="3" '
            f'fill="#fff" fill-opacity="0.8"/>'
            f'<rect x="{x0}" y="{y0}" width="{half:.1f}" height="5" fill="#222"/>'
            f'<rect x="{x0 + half:.1f}" y="{y0}" width="{half:.1f}" height="5" fill="#fff" stroke="#222" '
            f'stroke-width="1"/>'
            f'<text x="{x0}" y="{y0 - 5}" font-size="11" fill="#222">0</text>'
            f'<text x="{x0 + px:.1f}" y="{y0 - 5}" font-size="11" fill="#222" text-anchor="middle">{label}</text></g>')


def _north(view: View) -> str:
    x, y = view.width - 26, 16
    return (f'<g class="north"><circle cx="{x}" cy="{y + 14}" r="15" fill="#fff" fill-opacity="0.85" stroke="#999"/>'
            f'<path d="M{x},{y + 2} L{x + 6},{y + 20} L{x},{y + 16} L{x - 6},{y + 20} Z" fill="#222"/>'
            f'<text x="{x}" y="{y + 40}" font-size="11" font-weight="bold" text-anchor="middle" fill="#222">N</text>'
            '</g>')


DEFS = ('<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="8" height="8" fill="#fde7e7"/><line x1="0" y1="0" x2="0" y2="8" stroke="#e57373" '
        'stroke-width="2.5"/></pattern></defs>')


def _svg(view: View, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {view.width} {view.height}" '
            f'width="{view.width}" height="{view.height}" role="img" aria-label="{escape(title)}" '
            f'font-family="Helvetica, Arial, sans-serif">{DEFS}'
            f'<rect width="{view.width}" height="{view.height}" fill="#f7f6f2"/>' + "".join(body)
            + _scale_bar(view) + _north(view) + "</svg>")


def _place(view: View, geometry: dict, role: str, name: str, label: bool = True) -> str:
    fill, stroke = SITE_STYLE.get(role, SITE_STYLE["other_site"])
    dash = ' stroke-dasharray="5 3"' if role == "rest_area" else ""
    out = []
    for ring in _rings(geometry):
        out.append(f'<polygon points="{_pts(view, ring)}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}>'
                   f'<title>{escape(name)}</title></polygon>')
    if label and _rings(geometry):
        ring = _rings(geometry)[0]
        xs = [view.xy(*c)[0] for c in ring]
        ys = [view.xy(*c)[1] for c in ring]
        x, y = (min(xs) + max(xs)) / 2, min(ys) - 4
        if -50 < x < view.width + 50 and 10 < y < view.height:
            short = name.split(" (")[0]
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="10.5" text-anchor="middle" fill="{stroke}" '
                       f'stroke="#f7f6f2" stroke-width="3" paint-order="stroke">{escape(short)}</text>')
    return "".join(out)


def _roads(view: View, roads: list[tuple[list, str]]) -> str:
    out = []
    for coords, kind in roads:
        w = {"highway": 4.0, "urban": 2.6, "access": 1.6, "track": 1.2}.get(kind, 2.0)
        out.append(f'<polyline points="{_pts(view, coords)}" fill="none" stroke="#d6d1c4" stroke-width="{w}" '
                   f'stroke-linejoin="round" stroke-linecap="round"/>')
    return "".join(out)


def _local(ts: str) -> str:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(TZ).strftime("%H:%M")


PLACE_ORDER = {"restricted": 0, "rest_area": 1, "parking": 2, "other_site": 3, "generator": 4, "receiver": 5}
SEVERITY_RANK = {"critical": 2, "warning": 1, "info": 0}
PIN_MERGE_PX = 14  # findings closer than this on the picture share a pin


@dataclass
class TripFeatures:
    """A trip's track (``GET /v1/manifests/{no}/track``) split by kind of feature."""

    places: list[dict]
    route: dict | None
    fixes: list[dict]  # in time order
    stops: list[dict]
    findings: list[dict]  # not withdrawn


def _kind(f: dict) -> str | None:
    return f["properties"].get("kind")


def trip_features(track: dict) -> TripFeatures:
    feats = track.get("features", [])
    return TripFeatures(
        places=[f for f in feats if _kind(f) in ("site", "zone")],
        route=next((f for f in feats if _kind(f) == "route"), None),
        fixes=sorted((f for f in feats if _kind(f) == "fix"), key=lambda f: f["properties"]["ts"]),
        stops=[f for f in feats if _kind(f) == "stop"],
        findings=[f for f in feats if _kind(f) == "finding" and f["properties"].get("status") != "withdrawn"])


def trip_svg(track: dict, roads: list[tuple[list, str]] | None = None, extra_places: list[dict] | None = None,
             width: int = 720, height: int = 440) -> str:
    """A trip's picture from ``GET /v1/manifests/{no}/track`` (a GeoJSON FeatureCollection)."""
    trip = trip_features(track)
    view = make_view(_framed_points(trip), width, height)
    body: list[str] = []
    if roads:
        body.append(_roads(view, roads))
    body += _trip_places(view, trip.places + _not_listed(trip.places, extra_places or []))
    if trip.route:
        body += _route(view, trip.route)
    body += _track(view, trip.fixes)
    body += _fix_marks(view, trip.fixes) if trip.fixes else [_no_position(width, height)]
    body += [_stop(view, s) for s in trip.stops]
    body += [_pin(view, x, y, members) for x, y, members in _pin_clusters(view, trip.findings)]
    return _svg(view, body, f"map of trip {track.get('manifest_no', '')}")


def _framed_points(trip: TripFeatures) -> list[tuple[float, float]]:
    """What the picture must show: generator, receiver, route, fixes and findings."""
    pts: list[tuple[float, float]] = []
    for f in trip.places:
        if f["properties"].get("role") in ("generator", "receiver"):
            for ring in _rings(f["geometry"]):
                pts += [(c[0], c[1]) for c in ring]
    if trip.route:
        pts += [(c[0], c[1]) for c in trip.route["geometry"]["coordinates"]]
    pts += [(f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][1]) for f in trip.fixes + trip.findings]
    return pts or [(109.9, 40.6)]


def _not_listed(places: list[dict], extra_places: list[dict]) -> list[dict]:
    """``extra_places`` (dicts with kind, id, name, role, geometry) the track does not list, as features."""
    known = {(f["properties"].get("kind"), f["properties"].get("id")) for f in places}
    return [{"geometry": p["geometry"], "properties": {"kind": p["kind"], "id": p["id"], "name": p["name"],
                                                       "role": p["role"]}}
            for p in extra_places if (p["kind"], p["id"]) not in known]


def _trip_places(view: View, places: list[dict]) -> list[str]:
    out = []
    for f in sorted(places, key=lambda f: PLACE_ORDER.get(f["properties"].get("role"), 3)):
        role = f["properties"].get("role")
        if f["properties"].get("kind") == "site" and role not in ("generator", "receiver"):
            role = "parking" if "depot" in f["properties"].get("name", "").lower() else "other_site"
        out.append(_place(view, f["geometry"], role, f["properties"].get("name", "")))
    return out


def _route(view: View, route: dict) -> list[str]:
    """The planned route, dashed, inside its corridor band drawn at the map's scale."""
    points = _pts(view, route["geometry"]["coordinates"])
    band = 2 * float(route["properties"].get("corridor_m") or 500) / view.m_per_px
    return [f'<polyline points="{points}" fill="none" stroke="#3b82f6" stroke-opacity="0.13" '
            f'stroke-width="{band:.1f}" stroke-linejoin="round" stroke-linecap="round"/>',
            f'<polyline points="{points}" fill="none" stroke="#3b82f6" stroke-width="1.6" '
            f'stroke-dasharray="6 4" stroke-linejoin="round"/>']


def _track(view: View, fixes: list[dict]) -> list[str]:
    """Solid where consecutive fixes are plausible, red dashes across gaps (≥ 10 min) and jumps."""
    segs: list[list[tuple[float, float]]] = []
    broken: list[tuple[tuple[float, float], tuple[float, float]]] = []
    prev = None
    for f in fixes:
        c = f["geometry"]["coordinates"]
        t = datetime.fromisoformat(f["properties"]["ts"].replace("Z", "+00:00")).timestamp()
        if prev is not None and _implausible(view, prev, (c[0], c[1], t)):
            broken.append(((prev[0], prev[1]), (c[0], c[1])))
            segs.append([])
        if not segs:
            segs.append([])
        segs[-1].append((c[0], c[1]))
        prev = (c[0], c[1], t)
    out = []
    for a, b in broken:
        (x1, y1), (x2, y2) = view.xy(*a), view.xy(*b)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#c62828" '
                   f'stroke-width="1.8" stroke-dasharray="3 4"/>')
    for seg in segs:
        if len(seg) > 1:
            out.append(f'<polyline points="{_pts(view, seg)}" fill="none" stroke="#1b1b1b" stroke-width="2" '
                       f'stroke-linejoin="round" stroke-opacity="0.85"/>')
    return out


def _implausible(view: View, a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Two fixes (lon, lat, t) 10 min or more apart, or more than 1 km apart at over 180 km/h."""
    dt = b[2] - a[2]
    d = math.hypot((b[0] - a[0]) * view.coslat, b[1] - a[1]) * M_PER_DEG
    return dt >= 600 or (d > 1000 and d / max(dt, 1) * 3.6 > 180)


def _fix_marks(view: View, fixes: list[dict]) -> list[str]:
    dots = "".join(f"M{x:.1f} {y:.1f}h0" for x, y in (view.xy(*f["geometry"]["coordinates"][:2]) for f in fixes))
    out = [f'<path d="{dots}" stroke="#1b1b1b" stroke-width="3.2" stroke-linecap="round" opacity="0.55"/>']
    for f, label in ((fixes[0], "first fix"), (fixes[-1], "last fix")):
        x, y = view.xy(*f["geometry"]["coordinates"][:2])
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#fff" stroke="#1b1b1b" stroke-width="2">'
                   f'<title>{label} {_local(f["properties"]["ts"])}</title></circle>')
    return out


def _no_position(width: int, height: int) -> str:
    return (f'<text x="{width / 2}" y="{height / 2}" font-size="15" text-anchor="middle" fill="#c62828" '
            f'stroke="#f7f6f2" stroke-width="4" paint-order="stroke">'
            f'no position received during the trip</text>')


def _stop(view: View, s: dict) -> str:
    x, y = view.xy(*s["geometry"]["coordinates"][:2])
    minutes = round((s["properties"].get("duration_s") or 0) / 60)
    return (f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#ffd54f" stroke="#8d6e00" stroke-width="1.5"/>'
            f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" font-size="10" fill="#6d5500" stroke="#f7f6f2" '
            f'stroke-width="3" paint-order="stroke">stop {minutes} min</text>'
            f'<title>stop {_local(s["properties"]["start"])}–{_local(s["properties"]["end"])}</title></g>')


PinMembers = list[tuple[int, dict]]  # (number in the findings list, finding)


def _pin_clusters(view: View, findings: list[dict]) -> list[tuple[float, float, PinMembers]]:
    """One pin per place: findings numbered by id as in the list beside the map, near ones merged."""
    clusters: list[tuple[float, float, PinMembers]] = []
    for n, f in enumerate(sorted(findings, key=lambda f: f["properties"]["id"]), 1):
        x, y = view.xy(*f["geometry"]["coordinates"][:2])
        near = next((c for c in clusters if math.hypot(c[0] - x, c[1] - y) < PIN_MERGE_PX), None)
        if near is not None:
            near[2].append((n, f))
        else:
            clusters.append((x, y, [(n, f)]))
    return clusters


def _pin(view: View, x: float, y: float, members: PinMembers) -> str:
    """A pin in the worst severity's colour, its numbers inside, its codes beside it."""
    worst = max(members, key=lambda m: SEVERITY_RANK.get(m[1]["properties"].get("severity"), 0))[1]
    colour = SEVERITY_COLOUR.get(worst["properties"].get("severity"), "#607d8b")
    nums = ",".join(str(n) for n, _ in members)
    label = nums if len(nums) <= 3 else f"{members[0][0]}–{members[-1][0]}"
    codes: list[str] = []
    for _, f in members:
        code = f["properties"].get("code", "")
        if code not in codes:
            codes.append(code)
    right = x < view.width - 170
    tx = x + 12 if right else x - 12
    anchor = "start" if right else "end"
    text = "".join(f'<tspan x="{tx:.1f}" dy="{0 if i == 0 else 12}">{escape(c)}</tspan>'
                   for i, c in enumerate(codes))
    return (f'<g><path d="M{x:.1f},{y:.1f} l-9,-16 a10,10 0 1,1 18,0 z" fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5"/><text x="{x:.1f}" y="{y - 18:.1f}" font-size="{10 if len(label) < 3 else 8}" '
            f'font-weight="bold" fill="#fff" text-anchor="middle">{escape(label)}</text>'
            f'<text x="{tx:.1f}" y="{y - 20:.1f}" font-size="11" font-weight="bold" fill="{colour}" '
            f'text-anchor="{anchor}" stroke="#f7f6f2" stroke-width="3" paint-order="stroke">{text}</text>'
            f'<title>{escape(", ".join(codes))}</title></g>')


def region_svg(places: list[dict], roads: list[tuple[list, str]], width: int = 720, height: int = 420) -> str:
    """The whole region: roads, sites (by role) and zones. ``places``: dicts with geometry, name, role."""
    pts = [tuple(c[:2]) for p in places for ring in _rings(p["geometry"]) for c in ring]
    pts += [tuple(c[:2]) for coords, _ in roads for c in coords]
    view = make_view(pts, width, height, pad=0.03)
    body = [_roads(view, roads)]
    for p in sorted(places, key=lambda p: PLACE_ORDER.get(p["role"], 3)):
        body.append(_place(view, p["geometry"], p["role"], p["name"]))
    return _svg(view, body, "map of the region")

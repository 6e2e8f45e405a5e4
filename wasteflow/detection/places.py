"""Which registered sites and zones contain a fix: one STRtree over all places."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from .model import Place

REST_AREA = "rest_area"
RESTRICTED = "restricted"
PARKING = "parking"


class PlaceIndex:
    """Built once from all registered sites and zones; answers containment in bulk.

    "Inside" follows findings.md: the boundary counts as inside (`intersects`).
    """

    CHUNK = 8
    """Consecutive points are looked up in the tree by the bounding box of chunks of this many."""

    def __init__(self, places: Iterable[Place] = ()):
        self.places: tuple[Place, ...] = tuple(places)
        self._geoms = np.array([p.geometry for p in self.places], dtype=object)
        self._tree = shapely.STRtree(self._geoms) if self.places else None
        if self.places:
            shapely.prepare(self._geoms)
            self._bounds = shapely.bounds(self._geoms)

    def __len__(self) -> int:
        return len(self.places)

    def query(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """(point index, place index) for every point inside a place, vectorised."""
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if self._tree is None or lon.size == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        ok = np.isfinite(lon) & np.isfinite(lat)
        idx = np.nonzero(ok)[0]
        x, y = lon[idx], lat[idx]
        n = idx.size
        if n == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        # A track's consecutive points lie close together: one tree lookup per chunk of points
        # (its bounding box) instead of one shapely Point per fix -- building hundreds of Points
        # cost more than the lookups. Candidate (point, place) pairs are then narrowed by the
        # place's bounding box and decided exactly with prepared intersects_xy, no Points built.
        starts = np.arange(0, n, self.CHUNK)
        boxes = shapely.box(np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts),
                            np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts))
        chunk_i, place_i = self._tree.query(boxes)
        if chunk_i.size == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        first = starts[chunk_i]
        lengths = np.minimum(first + self.CHUNK, n) - first
        ends = np.cumsum(lengths)
        pt = np.repeat(first - (ends - lengths), lengths) + np.arange(ends[-1])
        place = np.repeat(place_i, lengths)
        b = self._bounds[place]
        px, py = x[pt], y[pt]
        near = (px >= b[:, 0]) & (px <= b[:, 2]) & (py >= b[:, 1]) & (py <= b[:, 3])
        pt, place = pt[near], place[near]
        inside = shapely.intersects_xy(self._geoms[place], x[pt], y[pt])
        point_idx, place_idx = idx[pt[inside]], place[inside].astype(np.intp)
        order = np.lexsort((point_idx, place_idx))  # grouped by place, points ascending
        return point_idx[order], place_idx[order]

    def containing(self, lon: float, lat: float) -> list[Place]:
        """The places containing one point."""
        _, place_idx = self.query([lon], [lat])
        return [self.places[i] for i in place_idx]


def applies_to(place: Place, regions: tuple[str, ...]) -> bool:
    """A zone feeds detection only for trips in its region (api.md); a site always counts."""
    return not place.is_zone or not place.region_code or any(r.startswith(place.region_code) for r in regions)


class RegionalIndex:
    """A :class:`PlaceIndex` seen from one trip: zones of other regions are left out (api.md: a
    regulator's zone feeds detection only for manifests in its region). Same ``places`` tuple,
    so the indices it answers mean what the full index's do."""

    def __init__(self, index: PlaceIndex, regions: tuple[str, ...]):
        self.index = index
        self.places = index.places
        self._applies = np.array([applies_to(p, regions) for p in self.places], dtype=bool)

    def __len__(self) -> int:
        return len(self.places)

    def query(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        point_idx, place_idx = self.index.query(lon, lat)
        if place_idx.size == 0:
            return point_idx, place_idx
        keep = self._applies[place_idx]
        return point_idx[keep], place_idx[keep]

    def containing(self, lon: float, lat: float) -> list[Place]:
        _, place_idx = self.query([lon], [lat])
        return [self.places[i] for i in place_idx]


def for_trip(index: PlaceIndex, regions: tuple[str, ...] | None) -> PlaceIndex | RegionalIndex:
    """The places a trip of ``regions`` sees: every site, and the zones of its regions."""
    if regions is None or not any(p.is_zone and p.region_code for p in index.places):
        return index
    return RegionalIndex(index, regions)


EMPTY_INDEX = PlaceIndex()

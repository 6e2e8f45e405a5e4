"""Which registered sites and zones contain a fix: one STRtree over all places."""

from __future__ import annotations

from typing import Iterable

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

    def __init__(self, places: Iterable[Place] = ()):
        self.places: tuple[Place, ...] = tuple(places)
        self._tree = shapely.STRtree([p.geometry for p in self.places]) if self.places else None

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
        pairs = self._tree.query(shapely.points(lon[idx], lat[idx]), predicate="intersects")
        point_idx, place_idx = idx[pairs[0]], pairs[1]
        order = np.lexsort((point_idx, place_idx))  # grouped by place, points ascending
        return point_idx[order], place_idx[order]

    def containing(self, lon: float, lat: float) -> list[Place]:
        """The places containing one point."""
        _, place_idx = self.query([lon], [lat])
        return [self.places[i] for i in place_idx]


EMPTY_INDEX = PlaceIndex()

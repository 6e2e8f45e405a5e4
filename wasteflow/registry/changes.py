"""Telling the place caches that sites or zones changed.

Detection reads every site and zone from a cache (``monitoring.trips.PlaceDirectory``) instead of
the store on each trip. Any commit in this process that inserted, updated or deleted a site or a
zone bumps :func:`places_generation`, so the cache reloads before its next use; changes other
processes commit are caught by the cache's periodic fingerprint check.
"""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from wasteflow.registry.models import Site, Zone

_lock = threading.Lock()
_generation = 0
_DIRTY = "wasteflow.places_changed"


def places_generation() -> int:
    return _generation


def places_changed() -> None:
    global _generation
    with _lock:
        _generation += 1


def _mark(_mapper, _connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_DIRTY] = True


for _model in (Site, Zone):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _name, _mark)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    """Bump once the change is committed: a cache reloading earlier would read the old places."""
    if session.info.pop(_DIRTY, False):
        places_changed()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY, None)

"""Loading a multi-leg manifest's legs as detection's plain data (detection.model.TripLeg).

Each started leg (manifests.legs.leg_spans) with its vehicle's readings in its own window, whole
(tracks.service.leg_windows), its origin and destination (the transfer sites its handovers name)
and the weighing its load left with. A single-leg manifest has none: detection reads it as before.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from wasteflow.detection.model import Fix, LoadReading, Place, Ticket, TripLeg
from wasteflow.manifests.legs import Span, leg_rows, leg_spans
from wasteflow.manifests.models import Manifest, ManifestLeg
from wasteflow.tickets.service import handover_ticket, linked_ticket
from wasteflow.tracks import service as tracks
from wasteflow.tracks.windows import Window

SiteOf = Callable[[int], Place]
TicketOf = Callable[[object], Ticket | None]


def trip_legs(session: Session, manifest: Manifest, site_of: SiteOf, ticket_of: TicketOf) -> tuple[TripLeg, ...]:
    """The manifest's started legs, each as its own trip; () for a manifest with no later leg named."""
    rows = {row.leg: row for row in leg_rows(session, manifest)}
    if not rows:
        return ()
    spans = leg_spans(session, manifest)
    windows = tracks.leg_windows(session, manifest)
    out = []
    for i, (span, window) in enumerate(zip(spans, windows, strict=True)):
        began, ends = rows.get(span.leg), rows.get(spans[i + 1].leg) if i + 1 < len(spans) else None
        planned_after = any(number > span.leg for number in rows) and ends is None
        out.append(_leg(session, manifest, span, window, began, ends, site_of, ticket_of, planned_after))
    return tuple(out)


def _leg(session: Session, manifest: Manifest, span: Span, window: Window, began: ManifestLeg | None,
         ends: ManifestLeg | None, site_of: SiteOf, ticket_of: TicketOf, planned_after: bool) -> TripLeg:
    """One leg: ``began`` is the handover that started it (None for leg 1), ``ends`` the one that ended it."""
    origin = site_of(began.handover_site_id if began and began.handover_site_id else manifest.generator_site_id)
    destination = site_of(ends.handover_site_id if ends and ends.handover_site_id else manifest.receiver_site_id)
    if began is None:
        start_ticket = ticket_of(linked_ticket(session, manifest.manifest_no, "departure"))
    elif began.handover_site_id is not None:
        start_ticket = ticket_of(handover_ticket(session, manifest.manifest_no, began.handover_site_id,
                                                 began.handover_ticket_no))
    else:
        start_ticket = None
    fixes = tuple(Fix(*row) for row in tracks.fix_rows_in(session, [window]))
    loads = tuple(LoadReading(ts=r.ts, load_kg=r.load_kg, seq=r.seq, device_id=r.device_id, verified=r.verified,
                              via=r.via) for r in tracks.loads_in(session, [window]))
    return TripLeg(leg=span.leg, plate=span.plate, transporter_id=_transporter(manifest, began),
                   start=span.start, end=span.end if ends is not None else manifest.received_at,
                   origin=origin, destination=destination, start_ticket=start_ticket,
                   handed_over_at_site=ends is None or ends.handover_site_id is not None,
                   awaiting_handover=planned_after and span.end is None, fixes=fixes, loads=loads)


def _transporter(manifest: Manifest, began: ManifestLeg | None) -> int:
    return began.transporter_id if began is not None else manifest.transporter_id

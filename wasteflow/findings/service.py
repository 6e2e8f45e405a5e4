"""Storing findings: raise once per episode, grow while it lasts, withdraw when late data removes its ground;
and who may see them.

Rules elsewhere decide *whether* there is a finding (pure functions returning
drafts); this module decides what that means for the store, the ledger and listeners.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal, in_jurisdiction
from wasteflow.database import Query, utcnow
from wasteflow.errors import NotFound
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.findings.workflow import check_move
from wasteflow.ledger import service as ledger
from wasteflow.manifests.models import Manifest
from wasteflow.manifests.service import carried_by
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.registry.models import Site
from wasteflow.webhooks import outbox

SYSTEM_ACTOR = "system"
CLOSED_STATUSES = ("resolved", "dismissed", "withdrawn")


class Draft(Protocol):
    code: str
    severity: str
    manifest_no: str | None
    plate: str | None
    window_start: datetime
    window_end: datetime
    location: tuple[float, float] | None
    evidence: dict
    verified: bool
    episode_key: str


raised_listeners: list[Callable[[Finding], None]] = []
"""Called after a new finding is stored (the bridge publishes it on ``wf/v1/alerts/...``)."""


def scope_of(manifest_no: str | None, site_id: int | None) -> str:
    return manifest_no if manifest_no else f"site:{site_id}"


def record(session: Session, draft: Draft, *, region_code: str, site_id: int | None = None,
           known: Iterable[Finding] | None = None) -> tuple[Finding, bool]:
    """Store a draft: a new episode is raised (and ledgered); a known one grows. Returns (finding, is_new).

    ``known``: the scope's findings as the caller already read them in this transaction (a batch
    of reconciliations reads them once); otherwise the episode is looked up here."""
    scope = scope_of(draft.manifest_no, site_id)
    if known is None:
        finding = session.exec(select(Finding).where(Finding.scope == scope, Finding.code == draft.code,
                                                     Finding.episode_key == draft.episode_key)).first()
    else:
        finding = next((f for f in known if f.scope == scope and f.code == draft.code
                        and f.episode_key == draft.episode_key), None)
    location = point(draft.location)
    draft.evidence = json_safe(draft.evidence)
    if finding is not None:
        _grow(session, finding, draft, location)
        return finding, False
    finding = Finding(code=draft.code, severity=draft.severity, scope=scope, episode_key=draft.episode_key,
                      manifest_no=draft.manifest_no, site_id=site_id, region_code=region_code, plate=draft.plate,
                      window_start=draft.window_start, window_end=draft.window_end, location=location,
                      evidence=draft.evidence, verified=draft.verified)
    session.add(finding)
    session.flush()
    session.add(FindingEvent(finding_id=finding.id, actor=SYSTEM_ACTOR, to_status="open", note="raised"))
    ledger.append(session, "finding.raised", draft.window_end, manifest_no=draft.manifest_no,
                  body={"finding_id": finding.id, "code": finding.code, "severity": finding.severity,
                        "window": [finding.window_start.isoformat(), finding.window_end.isoformat()],
                        "location": location, "verified": finding.verified})
    outbox.emit(session, "finding.raised", finding.id, draft.window_end, manifest_no=finding.manifest_no,
                severity=finding.severity)
    return finding, True


def _grow(session: Session, finding: Finding, draft: Draft, location: dict | None) -> None:
    changed = (finding.window_start != draft.window_start or finding.window_end != draft.window_end
               or finding.evidence != draft.evidence)
    if finding.status == "withdrawn":
        set_status(session, finding, "open", SYSTEM_ACTOR, "the ground for it came back with new data")
        changed = True
    if changed:
        finding.window_start = min(finding.window_start, draft.window_start)
        finding.window_end = max(finding.window_end, draft.window_end)
        finding.evidence = draft.evidence
        finding.location = location or finding.location
        finding.verified = draft.verified
        finding.updated_at = utcnow()
        session.add(finding)


def withdraw_missing(session: Session, scope: str, codes: Iterable[str], keep: set[tuple[str, str]],
                     reason: str, known: Iterable[Finding] | None = None) -> list[Finding]:
    """Withdraw the open findings of ``codes`` in ``scope`` that the latest run no longer raises
    (``known``: as in :func:`record`)."""
    withdrawn = []
    codes = list(codes)
    if known is None:
        rows = list(session.exec(select(Finding).where(Finding.scope == scope, Finding.code.in_(codes))).all())
    else:
        rows = [f for f in known if f.scope == scope and f.code in codes]
    for finding in rows:
        if (finding.code, finding.episode_key) in keep or finding.status in CLOSED_STATUSES:
            continue
        set_status(session, finding, "withdrawn", SYSTEM_ACTOR, reason)
        withdrawn.append(finding)
    return withdrawn


def set_status(session: Session, finding: Finding, status: str, actor: str, note: str) -> None:
    previous = finding.status
    finding.status = status
    finding.updated_at = utcnow()
    session.add(finding)
    session.add(FindingEvent(finding_id=finding.id, actor=actor, from_status=previous, to_status=status, note=note))
    ledger.append(session, f"finding.{status}", utcnow(), manifest_no=finding.manifest_no,
                  body={"finding_id": finding.id, "code": finding.code, "from": previous, "status": status,
                        "by": actor, "note": note})
    outbox.emit(session, f"finding.{status}", finding.id, utcnow(), manifest_no=finding.manifest_no,
                severity=finding.severity)


def json_safe(evidence: dict) -> dict:
    """Evidence exactly as JSON will hold it (numpy scalars become plain numbers)."""
    return json.loads(json.dumps(evidence, default=_plain))


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"evidence holds a {type(value).__name__}, which JSON cannot")


def point(location: tuple[float, float] | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"type": "Point", "coordinates": [round(float(location[0]), 7), round(float(location[1]), 7)]}


def public(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "code": finding.code, "severity": finding.severity,
            "manifest_no": finding.manifest_no, "site_id": finding.site_id, "plate": finding.plate,
            "region_code": finding.region_code,
            "window": {"start": finding.window_start, "end": finding.window_end},
            "location": finding.location, "evidence": finding.evidence, "verified": finding.verified,
            "status": finding.status, "raised_at": finding.raised_at, "updated_at": finding.updated_at}


def for_manifest(session: Session, manifest_no: str) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.manifest_no == manifest_no).order_by(Finding.id)).all())


# --- who may see what, and reading them back --------------------------------------------------

def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`Finding`) narrowed to what ``principal`` may see, in SQL.

    An enterprise sees the findings on manifests it is a party to and those on its own sites; a
    regulator those raised in its regions or on loads sent into them; the administrator all.
    """
    query = query.outerjoin(Manifest, col(Manifest.manifest_no) == col(Finding.manifest_no))
    if principal.is_admin:
        return query
    if principal.kind == "enterprise":
        me = principal.enterprise_id
        own_sites = select(Site.id).where(col(Site.enterprise_id) == me)
        return query.where(or_(col(Manifest.generator_id) == me, col(Manifest.transporter_id) == me,
                               col(Manifest.receiver_id) == me, col(Manifest.id).in_(carried_by(me)),
                               col(Finding.site_id).in_(own_sites)))
    return query.where(in_jurisdiction(principal, Finding.region_code, Manifest.receiver_region_code))


def list_findings(session: Session, principal: Principal, page: PageRequest, *, manifest_no: str | None = None,
                  code: str | None = None, severity: str | None = None, status: str | None = None,
                  region: str | None = None, raised_from: datetime | None = None,
                  raised_to: datetime | None = None) -> tuple[list[Finding], str | None]:
    """Newest first; ``from``/``to`` keep the findings whose window overlaps them."""
    query = visible(select(Finding), principal)
    for column, value in ((Finding.manifest_no, manifest_no), (Finding.code, code), (Finding.severity, severity),
                          (Finding.status, status)):
        if value:
            query = query.where(col(column) == value)
    if region:
        query = query.where(col(Finding.region_code).startswith(region))
    if raised_from:
        query = query.where(col(Finding.window_end) >= raised_from)
    if raised_to:
        query = query.where(col(Finding.window_start) < raised_to)
    return keyset_page(session, query, Finding.id, "f", page)


def get_visible(session: Session, principal: Principal, finding_id: int) -> Finding:
    finding = session.exec(visible(select(Finding), principal).where(col(Finding.id) == finding_id)).first()
    if finding is None:
        raise NotFound(f"no finding {finding_id}")
    return finding


def work(session: Session, principal: Principal, finding_id: int, status: str, note: str) -> Finding:
    """A regulator's move through the workflow (``workflow.REGULATOR_MOVES``), with its note."""
    finding = get_visible(session, principal, finding_id)
    principal.require_oversight()
    check_move(finding.status, status)
    set_status(session, finding, status, principal.label, note)
    return finding


def history(session: Session, finding: Finding) -> list[dict[str, Any]]:
    events = session.exec(select(FindingEvent).where(col(FindingEvent.finding_id) == finding.id)
                          .order_by(col(FindingEvent.id))).all()
    return [{"at": e.at, "by": e.actor, "from": e.from_status, "status": e.to_status, "note": e.note} for e in events]

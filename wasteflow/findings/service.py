"""Storing findings: raise once per episode, grow while it lasts, withdraw when late data removes its ground.

Rules elsewhere decide *whether* there is a finding (pure functions returning
drafts); this module decides what that means for the store, the ledger and listeners.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, select

from wasteflow.database import utcnow
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.ledger import service as ledger

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


def record(session: Session, draft: Draft, *, region_code: str, site_id: int | None = None) -> tuple[Finding, bool]:
    """Store a draft: a new episode is raised (and ledgered); a known one grows. Returns (finding, is_new)."""
    scope = scope_of(draft.manifest_no, site_id)
    finding = session.exec(select(Finding).where(Finding.scope == scope, Finding.code == draft.code,
                                                 Finding.episode_key == draft.episode_key)).first()
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
                     reason: str) -> list[Finding]:
    """Withdraw the open findings of ``codes`` in ``scope`` that the latest run no longer raises."""
    withdrawn = []
    rows = session.exec(select(Finding).where(Finding.scope == scope, Finding.code.in_(list(codes)))).all()
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

"""Rejected telemetry, listable and countable by regulators."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import select

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.errors import RuleViolation
from wasteflow.quarantine.models import QuarantinedMessage

router = APIRouter(prefix="/v1/quarantine", tags=["quarantine"], responses=responses(401, 403, 422))


class QuarantineItem(BaseModel):
    id: int
    topic: str
    received_at: str
    reason: str
    detail: str
    device_id: str | None
    payload: str
    payload_encoding: str


class QuarantinePage(BaseModel):
    items: list[QuarantineItem]
    next_cursor: str | None


def _payload_text(raw: bytes) -> tuple[str, str]:
    """The payload as sent: UTF-8 text where it is, else base64."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"


@router.get("", response_model=QuarantinePage)
def list_quarantine(reason: str | None = None, device_id: str | None = None, cursor: str | None = None,
                    limit: int | None = Query(None, ge=1), principal: Principal = Depends(get_principal),
                    db: Db = Depends(get_db), settings: Settings = Depends(get_settings)):
    principal.require_oversight()
    limit = min(limit or settings.page_size_default, settings.page_size_max)
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id.desc()).limit(limit + 1)
    if reason:
        query = query.where(QuarantinedMessage.reason == reason)
    if device_id:
        query = query.where(QuarantinedMessage.device_id == device_id)
    if cursor:
        if not cursor.isdigit():
            raise RuleViolation("bad_cursor", "cursor", "the cursor is not one this API gave out")
        query = query.where(QuarantinedMessage.id < int(cursor))
    with db.reading() as session:
        rows = list(session.exec(query).all())
    items = []
    for row in rows[:limit]:
        text, encoding = _payload_text(row.payload)
        items.append(QuarantineItem(id=row.id, topic=row.topic, received_at=row.received_at.isoformat(),
                                    reason=row.reason, detail=row.detail, device_id=row.device_id,
                                    payload=text, payload_encoding=encoding))
    return QuarantinePage(items=items, next_cursor=str(rows[limit - 1].id) if len(rows) > limit else None)


@router.get("/counts")
def count_by_reason(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)) -> dict[str, int]:
    principal.require_oversight()
    with db.reading() as session:
        rows = session.exec(select(QuarantinedMessage.reason, func.count()).group_by(QuarantinedMessage.reason)).all()
    return {reason: count for reason, count in rows}

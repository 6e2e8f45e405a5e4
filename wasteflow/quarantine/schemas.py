"""Response shapes of the quarantine (api.md: ``GET /v1/quarantine``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

from wasteflow.paging import Page
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.quarantine.service import payload_text


class QuarantineItem(BaseModel):
    id: int
    topic: str
    received_at: str
    reason: str = Field(examples=["bad_signature"])
    detail: str
    device_id: str | None
    payload: str
    payload_encoding: Literal["utf-8", "base64"]

    @classmethod
    def of(cls, message: QuarantinedMessage) -> QuarantineItem:
        text, encoding = payload_text(message.payload)
        return cls.model_validate({"id": message.id, "topic": message.topic,
                                   "received_at": message.received_at.isoformat(), "reason": message.reason,
                                   "detail": message.detail, "device_id": message.device_id, "payload": text,
                                   "payload_encoding": encoding})


class QuarantinePage(Page[QuarantineItem]):
    pass


class QuarantineCounts(RootModel[dict[str, int]]):
    """Messages quarantined so far, by reason."""

"""What the console asks of the API beyond the public routes: who the key belongs to."""

from __future__ import annotations

from pydantic import BaseModel


class ConsoleMe(BaseModel):
    kind: str
    label: str
    name: str
    regions: list[str]
    oversight: bool
    timezone: str

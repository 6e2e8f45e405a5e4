"""Domain errors, and their rendering as RFC 9457 problem details.

Services raise these; the API turns them into ``application/problem+json``. Each
carries the rule it enforces and the field it concerns, so a client knows what to fix.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://wasteflow.example/problems/"


class DomainError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status,
                "detail": self.detail}
        body.update(self.extra)
        return body


class RuleViolation(DomainError):
    """Input that breaks a rule: 422, naming the rule and the field."""

    status = 422
    title = "A rule was broken"
    slug = "rule-violation"

    def __init__(self, rule: str, field: str, detail: str) -> None:
        super().__init__(detail, rule=rule, errors=[{"field": field, "rule": rule, "detail": detail}])
        self.rule = rule
        self.field = field


class NotFound(DomainError):
    """Missing, or not the caller's to see: the two answer the same."""

    status = 404
    title = "Not found"
    slug = "not-found"


class StateConflict(DomainError):
    status = 409
    title = "Not allowed in the current state"
    slug = "state-conflict"

    def __init__(self, detail: str, current_state: str) -> None:
        super().__init__(detail, current_state=current_state)


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"

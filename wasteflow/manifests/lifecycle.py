"""The manifest's state machine, as pure data: which action is allowed from which state."""

from __future__ import annotations

from datetime import datetime, timedelta

from wasteflow.errors import RuleViolation, StateConflict

TRANSITIONS: dict[str, dict[str, str]] = {
    "dispatch": {"filed": "dispatched"},
    "cancel": {"filed": "cancelled"},
    "depart": {"dispatched": "in_transit"},
    "arrive": {"dispatched": "arrived", "in_transit": "arrived"},
    # a dead terminal must not block the paperwork: receipt and rejection need no ``arrived``
    "receive": {"dispatched": "received", "in_transit": "received", "arrived": "received"},
    "reject": {"dispatched": "rejected", "in_transit": "rejected", "arrived": "rejected"},
    "reconcile": {"received": "reconciled", "reconciled": "reconciled"},
    # multi-leg transport: neither changes the state; a leg is added before its handover, and the
    # load changes hands while it is on the road
    "add_leg": {"filed": "filed", "dispatched": "dispatched", "in_transit": "in_transit"},
    "handover": {"dispatched": "dispatched", "in_transit": "in_transit"},
}

TIMESTAMP_FIELD = {
    "dispatched": "dispatched_at", "cancelled": "cancelled_at", "in_transit": "in_transit_at",
    "arrived": "arrived_at", "received": "received_at", "rejected": "rejected_at",
    "reconciled": "reconciled_at",
}

OPEN_STATES = ("dispatched", "in_transit", "arrived")
"""A trip is under way in these states: the vehicle is loaded or about to be."""


def next_state(action: str, current: str) -> str:
    """The state ``action`` leads to from ``current``, or a 409 naming the current state."""
    target = TRANSITIONS[action].get(current)
    if target is None:
        allowed = ", ".join(sorted(TRANSITIONS[action]))
        raise StateConflict(f"cannot {action} a manifest that is {current} (allowed from: {allowed})",
                            current_state=current)
    return target


def check_signature_time(at: datetime, previous: datetime, now: datetime, skew_s: float) -> datetime:
    """A signature's event time may not lie in the future, nor before the previous signature."""
    if at.tzinfo is None:
        raise RuleViolation("at_offset", "at", "give 'at' in RFC 3339 with an offset, like 2026-11-23T08:00:00+08:00")
    if at > now + timedelta(seconds=skew_s):
        raise RuleViolation("at_in_future", "at", f"'at' ({at.isoformat()}) lies in the future")
    if at < previous:
        raise RuleViolation("at_before_previous", "at",
                            f"'at' ({at.isoformat()}) lies before the manifest's previous signature "
                            f"({previous.isoformat()})")
    return at


def check_filing_age(at: datetime, now: datetime, max_age_h: float) -> None:
    """A filing may be backdated only so far: a manifest filed weeks back would name a vehicle's
    past trips as its own and open that vehicle's history to the filer (issue 12)."""
    if now - at > timedelta(hours=max_age_h):
        raise RuleViolation("at_too_old", "at",
                            f"a filing's 'at' ({at.isoformat()}) may lie at most {max_age_h:g} h in the past")

"""What a revision may change, as pure rules over the manifest as it stands.

Domain.md: waste code, declared kg, accepted or refused kg, or — before arrival — the receiving
site; never of a cancelled manifest. The checks that need the registry (a permit, a vehicle's
maximum load) are made by the service with these answers.
"""

from __future__ import annotations

from typing import Any

from wasteflow.errors import RuleViolation, StateConflict

BEFORE_ARRIVAL = ("filed", "dispatched", "in_transit")
RECEIVED = ("received", "reconciled")
REVISABLE_FIELDS = ("waste_code", "declared_kg", "accepted_kg", "refused_kg", "receiver_site_id")


def check_revisable(status: str) -> None:
    if status == "cancelled":
        raise StateConflict("a cancelled manifest cannot be revised", current_state=status)


def check_changes(changes: dict[str, Any], current: dict[str, Any], status: str) -> None:
    """``changes`` (only the fields given) against the manifest's ``current`` values and ``status``."""
    if not changes:
        raise RuleViolation("no_changes", "changes", "a revision changes at least one field")
    for name, value in changes.items():
        field = f"changes.{name}"
        if value == current.get(name):
            raise RuleViolation("no_change", field, f"{name} is already {value!r}")
        if name == "receiver_site_id" and status not in BEFORE_ARRIVAL:
            raise RuleViolation("receiver_after_arrival", field,
                                f"the receiving site can be revised only before arrival (the manifest is {status})")
        if name in ("accepted_kg", "refused_kg") and status not in RECEIVED:
            raise RuleViolation("not_received", field, f"{name} can be revised once received (it is {status})")


def parties(generator_id: int, transporter_ids: list[int], receiver_id: int) -> dict[int, list[str]]:
    """Each party enterprise and its roles on the manifest (one enterprise may hold several)."""
    roles: dict[int, list[str]] = {}
    roles.setdefault(generator_id, []).append("generator")
    for leg, transporter in enumerate(transporter_ids, start=1):
        roles.setdefault(transporter, []).append(f"transporter:{leg}")
    roles.setdefault(receiver_id, []).append("receiver")
    return roles

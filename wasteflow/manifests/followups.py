"""Follow-up manifests of a refusal (domain.md "Partial refusal and follow-up manifests"), as pure rules.

The refused part of a load (or a whole rejected load) leaves on a follow-up filed by the parent's
receiver from the parent's receiving site: ``return`` to the original generator's site (no permit
needed there; the original generator signs its receipt) or ``redirect`` to another permitted
receiver. All follow-ups of one parent together declare no more than what was refused.
"""

from __future__ import annotations

from wasteflow.errors import Forbidden, RuleViolation
from wasteflow.manifests.models import Manifest

REFUSED_STATES = ("received", "reconciled")


def refused_kg(parent: Manifest) -> int | None:
    """What the parent's receiver refused: the refused kg of a receipt, the declared kg of a rejected load."""
    if parent.status == "rejected":
        return parent.declared_kg
    if parent.status in REFUSED_STATES and parent.refused_kg:
        return parent.refused_kg
    return None


def check_filer(parent: Manifest, enterprise_id: int | None) -> None:
    if enterprise_id != parent.receiver_id:
        raise Forbidden(f"only the receiver of {parent.manifest_no} files its follow-ups")


def check_kind(parent_manifest_no: str | None, kind: str | None) -> None:
    if (parent_manifest_no is None) != (kind is None):
        missing = "kind" if kind is None else "parent_manifest_no"
        raise RuleViolation("follow_up_incomplete", missing,
                            "a follow-up names both its parent_manifest_no and its kind (return or redirect)")


def check_follow_up(parent: Manifest, *, generator_site_id: int, receiver_site_id: int, kind: str,
                    waste_code: str, declared_kg: int, already_declared_kg: int) -> None:
    """The rules a follow-up of ``parent`` obeys; ``already_declared_kg`` sums its other live follow-ups."""
    refused = refused_kg(parent)
    if refused is None:
        raise RuleViolation("parent_not_refused", "parent_manifest_no",
                            f"{parent.manifest_no} is {parent.status} and refused nothing: it has no follow-up")
    if generator_site_id != parent.receiver_site_id:
        raise RuleViolation("follow_up_not_from_receiving_site", "generator_site_id",
                            f"a follow-up leaves from {parent.manifest_no}'s receiving site "
                            f"({parent.receiver_site_id})")
    if waste_code != parent.waste_code:
        raise RuleViolation("follow_up_waste_code", "waste_code",
                            f"a follow-up carries {parent.manifest_no}'s own waste ({parent.waste_code})")
    if kind == "return" and receiver_site_id != parent.generator_site_id:
        raise RuleViolation("return_not_to_generator", "receiver_site_id",
                            f"a return goes back to the original generator's site ({parent.generator_site_id})")
    if kind == "redirect" and receiver_site_id == parent.receiver_site_id:
        raise RuleViolation("redirect_to_same_receiver", "receiver_site_id",
                            "a redirect goes to another receiver than the one that refused the load")
    if already_declared_kg + declared_kg > refused:
        raise RuleViolation("follow_up_over_refused", "declared_kg",
                            f"{parent.manifest_no}'s follow-ups would carry {already_declared_kg + declared_kg} kg, "
                            f"more than the {refused} kg refused ({already_declared_kg} kg already on follow-ups)")

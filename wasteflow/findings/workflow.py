"""How a regulator works a finding: the allowed moves, as data."""

from wasteflow.errors import StateConflict

REGULATOR_MOVES: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "investigating", "dismissed"),
    "acknowledged": ("investigating", "resolved", "dismissed"),
    "investigating": ("resolved", "dismissed"),
    "resolved": ("investigating",),
    "dismissed": ("investigating",),
    "withdrawn": (),
}
"""A closed case can be reopened for investigation; ``withdrawn`` belongs to the system alone."""


def check_move(current: str, target: str) -> None:
    if target not in REGULATOR_MOVES.get(current, ()):
        allowed = ", ".join(REGULATOR_MOVES.get(current, ())) or "nothing (the system withdrew it)"
        raise StateConflict(f"a finding that is {current} can move to: {allowed}", current_state=current)

"""Tonnage tolerance (findings.md, "Terms")."""

from __future__ import annotations

from .model import Thresholds


def tolerance_kg(
    departure_net: int | float, tolerance_pct_override: float | None, th: Thresholds = Thresholds()
) -> float:
    """The larger of pct % of the departure net and `tolerance_min_kg`.

    pct is the waste category's override when it has one (SW07 sludge: 5 %), else
    `th.tolerance_pct` (2 %). The 50 kg floor applies in both cases. Not rounded: a
    difference equal to the tolerance is within it.
    """
    pct = th.tolerance_pct if tolerance_pct_override is None else tolerance_pct_override
    return max(abs(departure_net) * pct / 100.0, float(th.tolerance_min_kg))

"""Stays: how long a vehicle remained somewhere, robust to the stray fixes real GPS produces.

findings.md ("Terms", a stay): a stay ends only when the vehicle is beyond its radius for
≥ 2 consecutive fixes spanning ≥ 60 s (``Thresholds.stay_leave_fixes`` / ``stay_leave_s``);
a fix beyond it that is not such a departure is an *outlier* — counted, not a departure. One
multipath fix 133 m away in the middle of a 12-minute stop must not split it into two short
ones (and a dumper who injects one far fix every nine minutes must not hide the stop).

Two shapes of stay share that rule:

* a **dwell** inside a set of places (DIVERSION): membership is a mask, one value per fix
  (:func:`dwell_runs`);
* a **stop** around a point (UNAUTHORIZED_STOP, the gate queue, the track's stops):
  membership depends on the point (:func:`stop_spans`, in ``stops.py``).

Both use :func:`left_at` to tell a departure from outliers.
"""

from __future__ import annotations

import numpy as np

from .runs import true_runs


def left_at(beyond: np.ndarray, t: np.ndarray, leave_fixes: int, leave_s: float) -> int | None:
    """Where the vehicle left: the position of the first fix of the first run of ``beyond`` fixes
    that is a departure (≥ ``leave_fixes`` fixes spanning ≥ ``leave_s``), or None.

    ``t`` may run backwards (a walk towards earlier fixes): spans are absolute. Runs are walked in
    Python: a stay's window holds few fixes beyond its radius, and numpy's per-call cost would
    dominate (this runs several times per stop).
    """
    positions = np.flatnonzero(beyond).tolist()
    if not positions:
        return None
    start = prev = positions[0]
    for k in positions[1:]:
        if k != prev + 1:
            if prev - start + 1 >= leave_fixes and abs(t[prev] - t[start]) >= leave_s:
                return start
            start = k
        prev = k
    if prev - start + 1 >= leave_fixes and abs(t[prev] - t[start]) >= leave_s:
        return start
    return None


def dwell_runs(member: np.ndarray, t: np.ndarray, leave_fixes: int, leave_s: float) -> list[tuple[int, int]]:
    """Inclusive (first, last) member fixes of each dwell: runs of members joined across the
    non-member fixes between them unless those are a departure."""
    runs: list[tuple[int, int]] = []
    for first, last in true_runs(member):
        if runs:
            gap = slice(runs[-1][1] + 1, first)
            if left_at(np.ones(first - gap.start, bool), t[gap], leave_fixes, leave_s) is None:
                runs[-1] = (runs[-1][0], last)
                continue
        runs.append((first, last))
    return runs


def max_gap_s(t: np.ndarray, first: int, last: int) -> float:
    """The longest time between consecutive fixes of an episode (findings.md: evidence across gaps)."""
    return float(np.max(t[first + 1:last + 1] - t[first:last])) if last > first else 0.0

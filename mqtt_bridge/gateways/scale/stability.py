"""The stable-weight rule: when a stream of readings becomes one weighing (devices.md).

A **weighing** is a reading above the empty threshold (default 500 kg) that holds within one
division for the hold time (default 3 s) with no motion; then the platform must return below
the threshold before the next one, so a truck standing on the bridge for an hour is weighed once.
A frame in motion, negative or over range breaks the hold (the truck is moving, or the
indicator is not showing a weight to trust); a bad checksum or a garbled frame says nothing about
the platform and is ignored. Pure: the caller passes each reading's monotonic time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mqtt_bridge.gateways.scale.framing import Decoded, Fault, Reading

BREAKS_HOLD = ("negative", "over_range")


@dataclass(frozen=True)
class StableRule:
    threshold_kg: float = 500.0
    hold_s: float = 3.0
    division_kg: float = 20.0


@dataclass(frozen=True)
class Settled:
    """A weighing: the weight held, when the hold began and when it was confirmed (monotonic)."""

    kg: int
    since: float
    at: float


def shown_most(window: list[float]) -> float:
    """The weight the indicator showed most during the hold (a one-division flicker does not move
    it); on a tie, the one it settled on first."""
    return Counter(window).most_common(1)[0][0]


class StableWeigher:
    """Readings in, at most one :class:`Settled` per time a load stands on the platform.

    ``latched`` (a weighing made, the platform not yet back below the threshold) is the one
    piece of state worth keeping across a restart: the spool keeps it, so a gateway restarted
    under a truck does not weigh it twice.
    """

    def __init__(self, rule: StableRule, latched: bool = False) -> None:
        self.rule = rule
        self.latched = latched
        self._window: list[float] = []
        self._since: float | None = None

    def feed(self, decoded: Decoded, now: float) -> Settled | None:
        if isinstance(decoded, Fault):
            if decoded.reason in BREAKS_HOLD:
                self.reset()
            return None
        return self._reading(decoded, now)

    def _reading(self, reading: Reading, now: float) -> Settled | None:
        if reading.gross_kg < self.rule.threshold_kg:
            self.latched = False
            self.reset()
            return None
        if self.latched or reading.motion:
            self.reset()
            return None
        window = self._window + [reading.gross_kg]
        if max(window) - min(window) > self.rule.division_kg or self._since is None:
            self._window, self._since = [reading.gross_kg], now
            return None
        self._window = window
        if now - self._since < self.rule.hold_s:
            return None
        settled = Settled(round(shown_most(self._window)), self._since, now)
        self.latched = True
        self.reset()
        return settled

    def reset(self) -> None:
        """Forget the hold in progress (motion, a fault, a lost connection)."""
        self._window, self._since = [], None

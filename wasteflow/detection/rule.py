"""What a rule is, and how a set of them runs: each one guarded, like Traccar's event handlers.

Traccar's ``BaseEventHandler`` catches whatever one handler throws, logs it and lets the
next handler see the position. Rules here do the same: a rule that raises on some trip
(a bug, data no test foresaw) costs that rule's findings on that trip, logged with the
manifest number — never the other rules' findings, never the detector. The run reports
which codes it could not decide, so the caller keeps their stored findings instead of
withdrawing them as "no longer supported".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .context import TripContext
from .model import FindingDraft

log = logging.getLogger("wasteflow.detection")

Check = Callable[[TripContext], list[FindingDraft]]


@dataclass(frozen=True)
class Rule:
    """One rule: the codes it may raise and the pure check that raises them."""

    codes: tuple[str, ...]
    check: Check

    @property
    def name(self) -> str:
        return getattr(self.check, "__name__", repr(self.check))

    def __call__(self, ctx: TripContext) -> list[FindingDraft]:
        return self.check(ctx)


@dataclass
class RuleRun:
    """The drafts of every rule that ran, and the codes of the rules that failed."""

    drafts: list[FindingDraft] = field(default_factory=list)
    failed_codes: set[str] = field(default_factory=set)


def run_rules(rules: Iterable[Rule], ctx: TripContext) -> RuleRun:
    out = RuleRun()
    for rule in rules:
        try:
            drafts = rule(ctx)
        except Exception:  # one broken rule must not silence the others (see the module doc)
            log.exception("detection rule %s failed on %s; the other rules ran", rule.name, ctx.trip.manifest_no)
            out.failed_codes.update(rule.codes)
            continue
        out.drafts.extend(drafts)
    return out

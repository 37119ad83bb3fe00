"""One grading plan per bank for the tests, built on first use: compiling a plan embeds its rubrics."""

from __future__ import annotations

from shared.bank import Bank
from shared.grading import GradingPlan

# By identity: a test that edits a bank gets a plan of its own, even when the version is unchanged.
_PLANS: dict[int, tuple[Bank, GradingPlan]] = {}


def plan_for(bank: Bank) -> GradingPlan:
    """The plan of ``bank``, built once per bank object."""
    known = _PLANS.get(id(bank))
    if known is None or known[0] is not bank:
        known = _PLANS[id(bank)] = (bank, GradingPlan.of(bank))
    return known[1]

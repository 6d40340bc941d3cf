"""Facts: per-host, lazy, cached, typed views of a snapshot. Checks see only these."""

from __future__ import annotations

from memcheck.facts.base import FactsBase, cached
from memcheck.facts.processes import ProcessFacts
from memcheck.facts.schedules import ScheduleFacts
from memcheck.facts.services import ServiceFacts
from memcheck.facts.systemd import SystemdFacts
from memcheck.facts.thp import ThpFacts

__all__ = ["Facts", "cached"]


class Facts(
    ThpFacts,
    ScheduleFacts,
    ServiceFacts,
    ProcessFacts,
    SystemdFacts,
    FactsBase,
):
    """Every fact a check may ask for; each domain's accessors live in their own mixin."""

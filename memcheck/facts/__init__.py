"""Facts: per-host, lazy, cached, typed views of a snapshot. Checks see only these."""

from __future__ import annotations

from memcheck.facts.base import FactsBase, cached

__all__ = ["Facts", "cached"]


class Facts(FactsBase):
    """Every fact a check may ask for; each domain's accessors live in their own mixin."""

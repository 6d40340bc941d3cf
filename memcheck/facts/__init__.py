"""Facts: per-host, lazy, cached, typed views of a snapshot. Checks see only these."""

from __future__ import annotations

from memcheck.facts.base import FactsBase, cached
from memcheck.facts.cgroup import CgroupFacts
from memcheck.facts.host import HostFacts
from memcheck.facts.kernel_log import KernelLogFacts
from memcheck.facts.meminfo import MeminfoFacts
from memcheck.facts.numa import NumaFacts
from memcheck.facts.pressure import PressureFacts
from memcheck.facts.process_memory import ProcessMemoryFacts
from memcheck.facts.processes import ProcessFacts
from memcheck.facts.schedules import ScheduleFacts
from memcheck.facts.services import ServiceFacts
from memcheck.facts.swap import SwapFacts
from memcheck.facts.sysctl import SysctlFacts
from memcheck.facts.systemd import SystemdFacts
from memcheck.facts.thp import ThpFacts
from memcheck.facts.vm import VmFacts

__all__ = ["Facts", "cached"]


# Mixins that build on others (ThpFacts on BootFacts and SystemdFacts, ServiceFacts on
# ProcessFacts) come first so that Python can linearise the class.
class Facts(
    PressureFacts,
    SwapFacts,
    ProcessMemoryFacts,
    VmFacts,
    ThpFacts,
    ScheduleFacts,
    CgroupFacts,
    ServiceFacts,
    NumaFacts,
    HostFacts,
    KernelLogFacts,
    MeminfoFacts,
    ProcessFacts,
    SysctlFacts,
    SystemdFacts,
    FactsBase,
):
    """Every fact a check may ask for; each domain's accessors live in their own mixin."""

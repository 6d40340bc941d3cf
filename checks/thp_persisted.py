"""The THP modes thp_enabled and thp_defrag require are what the host gets after a reboot."""

from __future__ import annotations

from memcheck.engine import SUDO_HINT
from memcheck.facts import Facts
from memcheck.facts.base import is_denied
from memcheck.facts.boot import BOOT_READS
from memcheck.facts.container import container_basis
from memcheck.facts.systemd import UNIT_READS
from memcheck.facts.thp import THP_BOOT_READS, THP_DEFAULT_ALLOWED, THP_READS, ThpSetter
from memcheck.model import JSON, CheckMeta, Outcome, Params, ev

META = CheckMeta(
    id="thp_persisted",
    title="Transparent hugepage modes survive a reboot",
    area="thp",
    severity="medium",
    rationale=(
        "Writing to /sys/kernel/mm/transparent_hugepage lasts until the next boot. After a "
        "reboot the kernel's built-in default (often `always`) returns unless the kernel "
        "command line, a unit or tmpfiles.d line that runs at boot, the active tuned profile "
        "or rc.local sets the mode again; a unit that exists but is not enabled does nothing. "
        "Things that write the file at boot run after the command line is applied, so they win."
    ),
    remediation=(
        "Put transparent_hugepage=never on the kernel command line (GRUB_CMDLINE_LINUX in "
        "/etc/default/grub then update-grub or grub2-mkconfig, or grubby --update-kernel=ALL "
        "--args=transparent_hugepage=never), and for defrag (which has no command-line "
        "parameter) add '[vm] transparent_hugepage.defrag=never' to a tuned profile or enable a "
        "oneshot unit that writes both files: systemctl enable disable-thp.service."
    ),
    references=(
        "https://docs.kernel.org/admin-guide/mm/transhuge.html#boot-parameter",
        "https://docs.kernel.org/admin-guide/kernel-parameters.html",
        "https://man7.org/linux/man-pages/man5/tmpfiles.d.5.html",
        "https://www.mongodb.com/docs/manual/administration/tcmalloc-performance/",
        "https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/monitoring_and_managing_system_status_and_performance/customizing-tuned-profiles_monitoring-and-managing-system-status-and-performance",
    ),
    reads=(*THP_READS, *BOOT_READS, *THP_BOOT_READS, *UNIT_READS),
)


def _required(facts: Facts, check: str) -> list[str]:
    """The other check's `allowed` for this run, else its default."""
    value = facts.selection.get(check, {}).get("allowed")
    return [str(v) for v in value] if isinstance(value, list) else list(THP_DEFAULT_ALLOWED)


def _ev(s: ThpSetter, prefix: str = "") -> dict[str, JSON]:
    text = f"{prefix}{s.control}: {s.mechanism} sets {s.mode or '(not a literal value)'}"
    text += f" ({s.text})" + (f"; {s.note}" if s.note else "")
    return ev(text, source=s.source, line=s.line, control=s.control, mode=s.mode)


def judge(facts: Facts, params: Params) -> Outcome:
    if facts.thp_dir is None:
        return Outcome.skipped("THP is compiled out of this kernel: nothing to persist")
    inside = container_basis(facts)
    if inside is not None:
        # The container's own units, tmpfiles.d and rc.local cannot write /sys (read-only in
        # a container), and the host's boot configuration is not in its file system.
        return Outcome.skipped(
            "inside a container: the THP modes are the host kernel's, and what they are after "
            "the host reboots depends on the host's kernel command line, units, tmpfiles.d or "
            "tuned, which a container does not see; audit the host",
            [ev(f"inside a container ({inside})", in_container=True)],
        )
    evidence: list[dict[str, JSON]] = []
    observed, expected, problems = [], [], []
    unreadable: dict[str, str] = {}
    for control in ("enabled", "defrag"):
        allowed = _required(facts, f"thp_{control}")
        boot = facts.thp_boot(control)
        unreadable.update(boot.unreadable)
        deciding = boot.deciding
        evidence += [_ev(s) for s in deciding]
        evidence += [_ev(s, "ignored, does not run at boot: ") for s in boot.inactive]
        evidence += [ev(f"{control}: {note}") for note in boot.notes]
        modes = sorted({s.mode or "unknown" for s in deciding}) or ["unknown"]
        observed.append(f"{control}={'/'.join(modes)}")
        expected.append(f"{control} in {'|'.join(allowed)}")
        how = ", ".join(dict.fromkeys(s.mechanism for s in deciding))
        if not deciding:
            problems.append(
                f"{control}: unknown after reboot (no command line, unit, tmpfiles.d, tuned, "
                "rc.local or kernel config setting found)"
            )
        elif any(s.mode not in allowed for s in deciding):
            unused = ", ".join(dict.fromkeys(s.mechanism for s in boot.inactive))
            problems.append(
                f"{control} would be {'/'.join(modes)} ({how}), not {'|'.join(allowed)}"
                + (f"; found but not run at boot: {unused}" if unused else "")
            )
        else:
            observed[-1] += f" ({how})"
    if unreadable:
        # What could not be read may set a mode at boot (or keep one from running): the
        # mode after a reboot is unknown, whatever the readable files say.
        listed = ", ".join(f"{p} ({r})" for p, r in list(unreadable.items())[:5])
        more = f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
        hint = f"; {SUDO_HINT}" if any(is_denied(r) for r in unreadable.values()) else ""
        evidence += [ev(f"cannot read {p}: {r}", source=p) for p, r in unreadable.items()]
        return Outcome.errored(
            f"cannot tell the THP modes after a reboot: cannot read {listed}{more}{hint}",
            evidence,
        )
    if problems:
        return Outcome.failed(
            "after a reboot THP " + "; ".join(problems),
            "; ".join(observed),
            "; ".join(expected),
            evidence,
        )
    return Outcome.passed(
        "after a reboot THP " + "; ".join(observed),
        "; ".join(observed),
        "; ".join(expected),
        evidence,
    )

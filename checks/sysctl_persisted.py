"""Would this host still comply after a reboot? Boot-time sysctl values against the other checks."""

from __future__ import annotations

from memcheck.errors import ParseError, Unavailable
from memcheck.facts import Facts
from memcheck.facts.container import container_basis
from memcheck.facts.sysctl import CONFIG, RUNTIME, SYSCTL_READS, BootValue, SysctlRule
from memcheck.model import JSON, CheckMeta, Outcome, Params, ev

META = CheckMeta(
    id="sysctl_persisted",
    title="Kernel tunables keep their compliant values after a reboot",
    area="sysctl",
    severity="medium",
    rationale=(
        "sysctl -w changes only the running kernel. At boot, systemd-sysctl (or procps "
        "sysctl --system) applies the sysctl.d files sorted by file name across /etc, /run and "
        "/usr/lib, then /etc/sysctl.conf, and every key no file sets starts at the kernel "
        "default. A value fixed by hand, or overridden by a later-sorting vendor file, "
        "silently reverts at the next reboot or kernel update."
    ),
    remediation=(
        "Write the value the failing check expects to a file that sorts last, e.g. "
        "'vm.swappiness = 1' in /etc/sysctl.d/99-zz-memcheck.conf (or fix the file and line "
        "named in the message), then apply it at once with 'sysctl --system' (or "
        "'systemctl restart systemd-sysctl') and confirm with 'sysctl vm.swappiness'."
    ),
    references=(
        "https://man7.org/linux/man-pages/man5/sysctl.d.5.html",
        "https://man7.org/linux/man-pages/man8/systemd-sysctl.service.8.html",
        "https://man7.org/linux/man-pages/man8/sysctl.8.html",
        "https://man7.org/linux/man-pages/man5/sysctl.conf.5.html",
    ),
    reads=SYSCTL_READS,
    params={},
)


def _evidence(
    boot: BootValue, rule: SysctlRule, runtime: int | None, ok: bool
) -> list[dict[str, JSON]]:
    setting, key = boot.setting, boot.key
    if boot.origin == CONFIG and setting is not None:
        main = ev(f"{setting.key} = {setting.value}", setting.source, setting.line)
    elif boot.origin == RUNTIME:
        text = f"{key}: no file sets it; the kernel computes it at boot (now {boot.value})"
        main = ev(text, "/proc/sys/" + key.replace(".", "/"))
    else:
        main = ev(f"{key}: no file sets it; kernel default {boot.value}")
    main.update(
        key=key,
        check=rule.check_id,
        boot_value=boot.value,
        runtime_value=runtime,
        origin=boot.origin,
        complies=ok,
    )
    items = [main]
    if boot.note and setting is not None:
        items.append(ev(boot.note, setting.source, setting.line, key=key))
    for old in setting.overridden if setting is not None else ():
        items.append(
            ev(
                f"overridden: {old.key} = {old.value}",
                old.source,
                old.line,
                key=key,
                overridden_by=setting.where if setting else None,
            )
        )
    return items


def judge(facts: Facts, params: Params) -> Outcome:
    rules = [r for r in facts.sysctl_rules if r.check_id != META.id]
    if not rules:
        return Outcome.skipped("no selected check constrains a sysctl")
    inside = container_basis(facts)
    if inside is not None:
        # vm.* sysctls are the host kernel's; a container's own sysctl.d files never set them
        # (systemd-sysctl does not run where /proc/sys is read-only, as it is in a container).
        return Outcome.skipped(
            "inside a container: these sysctls are the host's, unchanged by a container "
            "restart, and what they are after the host reboots depends on the host's sysctl.d "
            "files, which a container does not see; audit the host",
            [ev(f"inside a container ({inside})", in_container=True)],
        )
    config = facts.sysctl_config
    evidence = [
        ev(
            "applied in order: " + ", ".join(config.applied or ["(none)"]),
            files=list(config.applied),
        )
    ]
    evidence += [ev(f"{low} is hidden by {high}", low) for low, high in config.hidden.items()]
    evidence += [ev(f"{path} is masked (link to /dev/null)", path) for path in config.masked]
    evidence += [
        ev(f"ignored line {p.text.strip()!r}: {p.reason}", p.source, p.line)
        for p in config.problems
    ]
    bad: list[str] = []
    good: list[str] = []
    unknown: list[str] = []
    observed: list[str] = []
    for rule in rules:
        try:
            runtime: int | None = facts.sysctl_int(rule.key)
        except Unavailable as exc:
            if exc.missing:  # e.g. zone_reclaim_mode on a kernel without NUMA
                evidence.append(ev(f"{rule.key} does not exist on this kernel; not judged"))
                continue
            runtime = None
        except ParseError:
            runtime = None
        try:
            boot = facts.sysctl_boot_value(rule.key)
            ok = rule.complies(boot.value, facts)
            runtime_ok = runtime is not None and rule.complies(runtime, facts)
        except (Unavailable, ParseError) as exc:
            unknown.append(f"{rule.key}: {exc}")
            continue
        evidence += _evidence(boot, rule, runtime, ok)
        said = f"{rule.key} = {boot.value} ({boot.source})"
        if boot.note:
            said = f"{rule.key} = {boot.value} ({boot.source}: {boot.note})"
        if ok:
            good.append(said if runtime in (None, boot.value) else f"{said}, now {runtime}")
            continue
        observed.append(said)
        if runtime_ok:
            bad.append(
                f"{said} fails {rule.check_id}; the runtime value {runtime} complies but "
                "reverts at reboot"
            )
        elif runtime is not None:
            bad.append(f"{said} fails {rule.check_id}, and so does the runtime value {runtime}")
        else:
            bad.append(f"{said} fails {rule.check_id}")
    expected = "boot values that " + ", ".join(sorted({r.check_id for r in rules})) + " accept"
    if bad:
        return Outcome.failed("; ".join(bad), "; ".join(observed), expected, evidence)
    if unknown:
        return Outcome.errored("cannot tell the boot value of " + "; ".join(unknown), evidence)
    if not good:
        return Outcome.skipped("none of the constrained sysctls exists on this kernel", evidence)
    message = "boot values comply: " + "; ".join(good)
    return Outcome.passed(message, "; ".join(good), expected, evidence)

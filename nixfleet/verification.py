"""One host's verification: every area's checks, in a stable order, plus the metrics reports
export. The areas come from :mod:`nixfleet.areas`; nothing here names one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nixfleet import areas
from nixfleet.area import Context, Declared, Metric, Observed, Subjects
from nixfleet.checks import Check, Severity

__all__ = ["HostVerification", "Metric", "check_ids", "verify"]


def check_ids() -> tuple[str, ...]:
    """Every check id, in report order (from the areas)."""
    return areas.check_ids()


@dataclass(frozen=True)
class HostVerification:
    host: str
    checks: tuple[Check, ...]
    metrics: tuple[Metric, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """A host is ok when no error-severity check fails (warnings are reported, not fatal)."""
        return not any(not c.ok and c.severity is Severity.ERROR for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks]}


def verify(
    declared: Declared, observed: Observed, context: Context, only: Iterable[str] | None = None
) -> HostVerification:
    """Run every check (or those in ``only``) and gather the metrics. Only what was read gives
    a metric: an Unknown read gives none (its check's ``nixfleet_check_ok`` is 0), so a stale
    number never stands in for one that could not be read."""
    wanted = None if only is None else set(only)
    subjects = Subjects(declared, observed, context, areas.owned_units(declared))
    checks = []
    for spec in areas.checks():
        if wanted is not None and spec.id not in wanted:
            continue
        result = spec.run(subjects)
        if result is not None and result.id != spec.id:
            raise ValueError(f"check {spec.id} reported itself as {result.id}")
        if result is not None:
            checks.append(result)
    host = context.host
    metrics = [
        Metric(
            "nixfleet_check_ok",
            {"host": host, "check": c.id, "severity": c.severity.value},
            float(c.ok),
        )
        for c in checks
    ]
    if wanted is None:
        metrics += [m for area in areas.areas() for m in area.metrics(subjects)]
        metrics.append(Metric(areas.VERIFIED, {"host": host}, context.now.timestamp()))
    return HostVerification(host, tuple(checks), tuple(metrics))

"""Pure rules of the aws-ecs target: what AWS accepts, checked before anything is declared.

Each parser raises validation.InvalidValue with what is allowed, so settings.py reports a
bad stack file in one message, as for every other key. Sources of the limits:
- Fargate task sizes: ECS developer guide, "Task CPU and memory" (Linux, 0.25-4 vCPU rows;
  larger sizes exist and are rejected here until someone needs them);
- CloudWatch Logs retention: the PutRetentionPolicy API's allowed `retentionInDays` values;
- RDS automated backups: BackupRetentionPeriod 0-35 days (0 disables them: refused here);
- EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`,
  one of day-of-month/day-of-week must be `?`, days of week 1-7 = SUN-SAT.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from components.validation import InvalidValue

FARGATE_MEMORY_MB: Final[dict[int, tuple[int, ...]]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
RDS_MAX_BACKUP_RETENTION_DAYS: Final = 35
DAY_NAMES: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
ECS_HEALTH_RANGES: Final = {  # seconds; ECS HealthCheck API limits
    "healthInterval": (5, 300),
    "healthTimeout": (2, 60),
    "healthStartPeriod": (0, 300),
}
ECS_HEALTH_RETRIES: Final = (1, 10)
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_S: Final = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(go_duration: str) -> int:
    """Whole seconds of a duration in Go's form ("1m30s" → 90), as settings store them."""
    return int(sum(float(n) * _UNIT_S[u] for n, u in _GO_PART.findall(go_duration)))


def ecs_health_problem(key: str, go_duration: str) -> str | None:
    """None when an ECS container health check accepts this timing; else what it accepts."""
    low, high = ECS_HEALTH_RANGES[key]
    if low <= duration_seconds(go_duration) <= high:
        return None
    return f"{low}s to {high}s on aws-ecs (ECS container health check limits)"


def parse_fargate_cpu(raw: str) -> int:
    try:
        cpu = int(raw)
    except ValueError:
        cpu = -1
    if cpu not in FARGATE_MEMORY_MB:
        raise InvalidValue(
            "Fargate CPU units, one of " + ", ".join(str(c) for c in FARGATE_MEMORY_MB)
        )
    return cpu


def fargate_memory_problem(cpu: int, memory_mb: int) -> str | None:
    """None when Fargate accepts `cpu` with `memory_mb`; else what it accepts."""
    allowed = FARGATE_MEMORY_MB[cpu]
    if memory_mb in allowed:
        return None
    return f"for {cpu} CPU units one of {', '.join(str(m) for m in allowed)} MB (Fargate sizes)"


def smallest_fargate_cpu(memory_mb: int) -> int | None:
    """The cheapest CPU size that Fargate pairs with `memory_mb` (None: no such size)."""
    return next((cpu for cpu, sizes in FARGATE_MEMORY_MB.items() if memory_mb in sizes), None)


def parse_log_retention(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days not in LOG_RETENTION_DAYS:
        raise InvalidValue(
            "a CloudWatch Logs retention in days: " + ", ".join(map(str, LOG_RETENTION_DAYS))
        )
    return days


def parse_cidr16(raw: str) -> str:
    """An IPv4 private /16 (the VPC): room for the four /20 subnets carved from it."""
    try:
        network = ipaddress.IPv4Network(raw.strip(), strict=True)
    except ValueError:
        network = None
    if network is None or network.prefixlen != 16 or not network.is_private:
        raise InvalidValue('a private IPv4 /16 such as "10.40.0.0/16"')
    return str(network)


def subnet_cidrs(vpc_cidr: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(public a, public b), (private a, private b): /20s at the start of the VPC."""
    subnets = [str(s) for s in ipaddress.IPv4Network(vpc_cidr).subnets(new_prefix=20)]
    return (subnets[0], subnets[1]), (subnets[8], subnets[9])


def parse_rds_backup_retention(days: int) -> int:
    if not 1 <= days <= RDS_MAX_BACKUP_RETENTION_DAYS:
        raise InvalidValue(
            f"1 to {RDS_MAX_BACKUP_RETENTION_DAYS} on aws-ecs "
            "(RDS keeps automated backups, and so point-in-time recovery, at most 35 days)"
        )
    return days


def https_host(url: str) -> str:
    """The host of an https:// URL (the ACM certificate's name); InvalidValue otherwise."""
    match = re.fullmatch(r"https://([a-z0-9.-]+\.[a-z]{2,})(?::443)?", url.strip().lower())
    if not match:
        raise InvalidValue(
            "an https:// URL with a DNS name and no path on aws-ecs (the load balancer "
            "serves it with an ACM certificate for that name)"
        )
    return match.group(1)


_STEP_OR_RANGE = re.compile(r"^(\*|\d+)(?:-(\d+))?(?:/(\d+))?$")


def _day_of_week(field: str) -> str:
    """Cron day-of-week (0-7, 0 and 7 = Sunday) in Scheduler's names (SUN-SAT)."""

    def name(number: str) -> str:
        value = int(number)
        if not 0 <= value <= 7:
            raise InvalidValue("a day of week from 0 to 7")
        return DAY_NAMES[value % 7]

    parts: list[str] = []
    for item in field.split(","):
        match = _STEP_OR_RANGE.match(item)
        if not match or match.group(1) == "*" or match.group(3):
            raise InvalidValue(
                "days of week as numbers, ranges or lists (e.g. 1-5 or 1,3,5) on aws-ecs"
            )
        start, end = match.group(1), match.group(2)
        parts.append(name(start) + (f"-{name(end)}" if end else ""))
    return ",".join(parts)


def scheduler_cron(cron: str) -> str:
    """A validated 5-field cron as an EventBridge Scheduler expression.

    "0 2 * * *" → "cron(0 2 * * ? *)"; "30 1 * * 1-5" → "cron(30 1 ? * MON-FRI *)".
    Scheduler cannot combine a day of month with a day of week: refused with the reason.
    """
    minute, hour, day, month, weekday = cron.split()
    if weekday == "*":
        return f"cron({minute} {hour} {day} {month} ? *)"
    if day == "*":
        return f"cron({minute} {hour} ? {month} {_day_of_week(weekday)} *)"
    raise InvalidValue(
        "a schedule with a day of month or a day of week, not both, on aws-ecs "
        "(EventBridge Scheduler cannot combine them)"
    )


def fit_name(name: str, limit: int) -> str:
    """`name` cut to an AWS name limit, never ending in a hyphen (ALB, ElastiCache refuse)."""
    return name[:limit].rstrip("-")

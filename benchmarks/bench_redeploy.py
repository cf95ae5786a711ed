"""What clients see during a redeploy: zero-downtime (ingress + create-before-delete)
side by side with the delete-first replacement the program did before, same run.

One dev stack (e2e harness: test infrastructure standing in for `pulumi up`),
two measurements, each a redeploy of the app (a new APP_VERSION, so the
container is replaced) under ~50 requests/s of mixed GET/POST /api/clients
(tests/e2e/load.py), from WARMUP_S before the `up` to COOLDOWN_S after it.
Columns: requests sent/served/failed, how long clients saw failures, latency
percentiles, the whole `up`, and the time spent on the app containers' steps and
their health gates (the rest is the harness checking every other resource, e.g.
image builds):

- baseline "delete-first (before)": the app container as the program declared
  it before the ingress — fixed name `<prefix>-app`, its port published on
  127.0.0.1, delete_before_replace — reached directly on that port. The
  recorded run is rewritten to that shape before the harness realises it.
- "zero-downtime (now)": the program as it is — Caddy in front, the app
  autonamed and replaced create-before-delete, the route switched once the
  new container is healthy, the old one deleted last.

    eval "$(../shared/lab/lab.sh env)"; venv/bin/python -m benchmarks.bench_redeploy
"""

from __future__ import annotations

import time

from tests.e2e import scenarios, zero_downtime
from tests.e2e.conftest import Deployment, deployment, free_port
from tests.e2e.harness import CONTAINER, UpResult
from tests.e2e.load import Load, Report
from tests.support import docker_env
from tests.support.program import ProgramRun

APP_PORT = 3000
APP_STEPS = ("Container/app", "HealthGate/app")  # the replicas, and the waits for their health


def as_before(run: ProgramRun, prefix: str, host_port: int) -> ProgramRun:
    """The app containers as the program declared them before the ingress."""
    for r in run.resources:
        labels = {item["label"]: item["value"] for item in r.inputs.get("labels") or []}
        if r.type == CONTAINER and labels.get("escalafin.component") == "app":
            r.inputs["name"] = f"{prefix}-{r.name}"
            r.inputs["ports"] = [{"internal": APP_PORT, "external": host_port, "ip": "127.0.0.1"}]
            r.delete_before_replace = r.delete_before_replace_defined = True
    return run


def measure(d: Deployment, port: int, version: str, before: int | None) -> tuple[Report, UpResult]:
    """Redeploy to `version` under load on `port`; (what the clients saw, the up)."""
    d.configure(appVersion=version)
    run = d.program()
    if before is not None:
        run = as_before(run, d.prefix, before)
    with Load(port, zero_downtime.ADMIN, zero_downtime.admin_password(d)) as load:
        time.sleep(zero_downtime.WARMUP_S)
        result = d.harness.up(run)
        time.sleep(zero_downtime.COOLDOWN_S)
    return load.report, result


def row(label: str, report: Report, result: UpResult) -> str:
    app = sum(s for name, _, s in result.steps if name.startswith(APP_STEPS))
    return (
        f"{label:<24} {report.sent:>6} {report.ok:>7} {report.failed:>7} "
        f"{report.failing_s:>10.1f} {report.percentile(50) * 1000:>7.0f} "
        f"{report.percentile(99) * 1000:>7.0f} {result.seconds:>7.1f} {app:>7.1f}"
    )


def main() -> None:
    client = docker_env.client()
    stack = deployment(client, "dev")
    d = next(stack)
    try:
        before_port = free_port()
        d.harness.up(as_before(d.program(), d.prefix, before_port))
        assert scenarios.wait_health(before_port)[0] == 200
        baseline = measure(d, before_port, "1.0.1", before_port)
        failures = baseline[0].failures[:3]

        d.harness.up(d.program())  # to the program as it is: the app behind the ingress
        assert scenarios.wait_health(d.app_port)[0] == 200
        now = measure(d, d.app_port, "1.0.2", None)

        print(
            f"{'redeploy under load':<24} {'sent':>6} {'served':>7} {'failed':>7} "
            f"{'failing s':>10} {'p50 ms':>7} {'p99 ms':>7} {'up s':>7} {'app s':>7}"
        )
        print(row("delete-first (before)", *baseline))
        print(row("zero-downtime (now)", *now))
        if failures:
            print("baseline failures, first few:", *failures, sep="\n  ")
        if now[0].failed:
            print("zero-downtime failures:", *now[0].failures[:3], sep="\n  ")
    finally:
        stack.close()


if __name__ == "__main__":
    main()

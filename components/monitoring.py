"""The `monitoring` stack output: the probe every target's uptime monitor is given.

One definition for every target (docker-host, aws-ecs), so monitors and tools.probe read
the same fields whatever runs the app.
"""

from __future__ import annotations

from typing import Any

HEALTH_CHECK_INTERVAL_SECONDS = 60
HEALTH_CHECK_TIMEOUT_SECONDS = 10


def monitoring_spec(health_url: str) -> dict[str, Any]:
    """GET health_url, expect 200 and {"status": "healthy"}, every minute."""
    return {
        "url": health_url,
        "method": "GET",
        "expectedStatus": 200,
        "jsonField": "status",
        "expectedValue": "healthy",
        "intervalSeconds": HEALTH_CHECK_INTERVAL_SECONDS,
        "timeoutSeconds": HEALTH_CHECK_TIMEOUT_SECONDS,
    }

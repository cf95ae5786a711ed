"""Looking at a running app container from a test: HTTP answers, exec and logs.

Shared by the app image tests (Python reference and Next.js example), which probe the same
health contract through a port published on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from docker.models.containers import Container


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    seconds: float

    def json(self) -> dict[str, object]:
        return json.loads(self.text)


def get(url: str) -> Answer:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return Answer(status, text, time.monotonic() - started)


def wait_for_status(url: str, status: int, timeout: float = 60) -> Answer:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = get(url)
            if answer.status == status or time.monotonic() > deadline:
                return answer
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def run_in(container: Container, argv: list[str]) -> tuple[int, str]:
    result = container.exec_run(argv)
    output = result.output if isinstance(result.output, bytes) else b"".join(result.output)
    return result.exit_code or 0, output.decode()


def logs(container: Container) -> str:
    return container.logs(stdout=True, stderr=True).decode(errors="replace")


def published_port(container: Container, port: str = "3000/tcp") -> int:
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])

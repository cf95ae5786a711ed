"""App image templates: which Dockerfile builds the app, and the defaults that fit its runtime.

`escalafin:appTemplate` names one. A template is only a bundle of defaults: `appDockerfile`,
`appBaseImage` and `appHealthcheckCommand`, when set, still win.

- `python` (default): the app's own Dockerfile inside `appContext` (the reference service in
  `app/`), a Python slim base image and a Python probe.
- `nextjs`: the project's maintained Next.js standalone Dockerfile (`templates/nextjs/`),
  built with `appContext` (a Next.js app with package.json and package-lock.json) as context,
  a Node.js slim base image and a Node.js probe. Slim images carry neither curl nor wget, so
  each probe uses the runtime the image already has.

Pure: nothing here touches Pulumi or the file system beyond building paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_DOCKERFILE = "Dockerfile"
PROBE_TIMEOUT_MS = 8000  # below the default healthTimeout (10s): the probe reports, not Docker


def python_probe(port: int, path: str) -> tuple[str, ...]:
    """Exec-form healthcheck for images with Python and no curl/wget (the reference app)."""
    probe = (
        "import sys, urllib.request\n"
        f"r = urllib.request.urlopen('http://127.0.0.1:{port}{path}', "
        f"timeout={PROBE_TIMEOUT_MS // 1000})\n"
        "sys.exit(0 if r.status == 200 else 1)"
    )
    return ("CMD", "python", "-c", probe)


def node_probe(port: int, path: str) -> tuple[str, ...]:
    """Exec-form healthcheck with Node.js 18+'s built-in fetch (node:*-slim has no curl/wget)."""
    probe = (
        f"fetch('http://127.0.0.1:{port}{path}',"
        f"{{signal:AbortSignal.timeout({PROBE_TIMEOUT_MS})}})"
        ".then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"
    )
    return ("CMD", "node", "-e", probe)


@dataclass(frozen=True)
class AppTemplate:
    name: str
    dockerfile: Path | None
    """The shipped Dockerfile; None: `appDockerfile` inside `appContext`."""
    base_image: str
    required_files: tuple[str, ...]
    """Files `appContext` must hold for this template's build to work."""
    probe: Callable[[int, str], tuple[str, ...]]
    summary: str

    def own_dockerfile(self, configured: str | None) -> str | None:
        """The app's own Dockerfile, relative to `appContext`: `appDockerfile` when set, else
        `Dockerfile` for a template that ships none. None: the template's shipped Dockerfile,
        which lies outside `appContext` by design (pulumi-docker sends it with the context)."""
        if configured:
            return configured
        return None if self.dockerfile else DEFAULT_DOCKERFILE


TEMPLATES: dict[str, AppTemplate] = {
    t.name: t
    for t in (
        AppTemplate(
            name="python",
            dockerfile=None,
            base_image="python:3.13-slim",
            required_files=(),
            probe=python_probe,
            summary="the Dockerfile in appContext (the Python reference service in app/)",
        ),
        AppTemplate(
            name="nextjs",
            dockerfile=TEMPLATES_DIR / "nextjs" / "Dockerfile",
            base_image="node:20-slim",
            required_files=("package.json", "package-lock.json"),
            probe=node_probe,
            summary="the maintained Next.js standalone Dockerfile, templates/nextjs/Dockerfile",
        ),
    )
}

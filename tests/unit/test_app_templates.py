"""appTemplate: which Dockerfile, base image and healthcheck the app gets, and the container's
read-only root filesystem, under mocks for the reference Python app and the Next.js example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.app_templates import TEMPLATES, node_probe
from tests.support.program import PROJECT_DIR, run_program
from tests.unit.test_settings import error_for, settings_for

pytestmark = pytest.mark.unit

NEXTJS_APP = "examples/nextjs-app"
CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
TMP = "/tmp"  # noqa: S108 - the container's own tmpfs, asserted, not used


def test_python_is_the_default_and_builds_app_with_its_own_dockerfile() -> None:
    s = settings_for("dev")
    assert s.app.build.dockerfile == PROJECT_DIR / "app" / "Dockerfile"
    assert s.app.build.base_image == "python:3.13-slim"
    assert s.app.health.command[:2] == ("CMD", "python")
    assert "http://127.0.0.1:3000/api/health" in s.app.health.command[-1]


def test_nextjs_builds_the_example_with_the_shipped_dockerfile_and_node_defaults() -> None:
    s = settings_for("dev", appTemplate="nextjs", appContext=NEXTJS_APP, appPort="8080")
    build = s.app.build
    assert build.context == PROJECT_DIR / NEXTJS_APP
    assert build.dockerfile == PROJECT_DIR / "templates" / "nextjs" / "Dockerfile"
    assert build.dockerfile.is_file() and build.target == "runner"
    assert build.base_image == "node:20-slim"
    assert s.app.health.command == node_probe(8080, "/api/health")
    assert s.lifecycle.migrations_dir == PROJECT_DIR / NEXTJS_APP / "prisma" / "migrations"
    assert s.lifecycle.seed_file == PROJECT_DIR / NEXTJS_APP / "prisma" / "seed.json"


def nextjs_copy(tmp_path: Path) -> Path:
    """A user's Next.js app: the example's prisma/ and npm files, nothing else."""
    app = tmp_path / "my-app"
    shutil.copytree(PROJECT_DIR / NEXTJS_APP / "prisma", app / "prisma")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PROJECT_DIR / NEXTJS_APP / name, app / name)
    return app


def test_explicit_keys_win_over_the_template(tmp_path: Path) -> None:
    app = nextjs_copy(tmp_path)
    (app / "Dockerfile.custom").write_text("FROM scratch AS final\n")
    s = settings_for(
        "dev",
        appTemplate="nextjs",
        appContext=str(app),
        appDockerfile="Dockerfile.custom",
        appTarget="final",  # a stage of the explicit Dockerfile, not of the template's
        appBaseImage="node:22-slim",
        appHealthcheckCommand='["CMD", "true"]',
    )
    assert s.app.build.dockerfile == app / "Dockerfile.custom"
    assert s.app.build.target == "final"
    assert s.app.build.base_image == "node:22-slim"
    assert s.app.health.command == ("CMD", "true")


def test_app_target_names_a_stage_of_the_template_dockerfile(tmp_path: Path) -> None:
    app = nextjs_copy(tmp_path)
    (app / "Dockerfile").write_text("FROM scratch AS final\n")  # not the one nextjs builds
    assert settings_for("dev", appTemplate="nextjs", appContext=str(app)).app.build.target == (
        "runner"
    )
    message = error_for("dev", appTemplate="nextjs", appContext=str(app), appTarget="final")
    assert "escalafin:appTarget = 'final': expected a stage of the Dockerfile: base, deps, " in (
        message
    )


def test_only_an_explicit_app_dockerfile_must_stay_inside_app_context(tmp_path: Path) -> None:
    """The template's Dockerfile lies outside appContext by design; a configured one may not."""
    app = nextjs_copy(tmp_path)
    template = TEMPLATES["nextjs"].dockerfile
    assert template is not None and not template.is_relative_to(app)
    assert settings_for("dev", appTemplate="nextjs", appContext=str(app)).app.build.dockerfile == (
        template
    )
    message = error_for(
        "dev", appTemplate="nextjs", appContext=str(app), appDockerfile=str(template)
    )
    assert f"escalafin:appDockerfile = '{template}': expected a Dockerfile in {app} inside " in (
        message
    )


def test_python_app_without_its_dockerfile_names_the_default(tmp_path: Path) -> None:
    app = nextjs_copy(tmp_path)  # prisma/ but no Dockerfile
    message = error_for("dev", appContext=str(app))
    assert "escalafin:appDockerfile = 'Dockerfile': expected a Dockerfile in " in message


def test_nextjs_on_a_folder_without_npm_files_names_what_is_missing() -> None:
    message = error_for("dev", appTemplate="nextjs")  # appContext stays app/ (Python)
    assert "escalafin:appContext = 'app': expected an app with package.json, package-lock.json" in (
        message
    )
    assert "(missing: package.json, package-lock.json)" in message


def test_node_probe_is_one_exec_form_node_call_with_a_timeout() -> None:
    argv = node_probe(3000, "/api/health")
    assert argv[:3] == ("CMD", "node", "-e") and len(argv) == 4
    assert "fetch('http://127.0.0.1:3000/api/health'" in argv[3]
    assert "AbortSignal.timeout(8000)" in argv[3]
    assert not {"curl", "wget"} & set(argv[3].split())


def test_every_template_dockerfile_ships_with_its_ignore_file() -> None:
    for template in TEMPLATES.values():
        if template.dockerfile is not None:
            assert template.dockerfile.is_file(), template.name
            assert Path(f"{template.dockerfile}.dockerignore").is_file(), template.name


@pytest.mark.parametrize(
    ("stack", "platform"),
    [("dev", "linux/arm64"), ("prod", None)],  # prod: Pulumi.prod.yaml's linux/amd64
)
def test_program_declares_the_nextjs_build_and_a_read_only_app(
    stack: str, platform: str | None
) -> None:
    run = run_program(
        stack,
        {
            "escalafin:appTemplate": "nextjs",
            "escalafin:appContext": NEXTJS_APP,
            **({"escalafin:appPlatform": platform} if platform else {}),
        },
    )
    build = run.one(IMAGE, "app").inputs["build"]
    # Relative to the project, pulumi's working directory (no path of this machine in state).
    assert build["dockerfile"] == "templates/nextjs/Dockerfile"
    assert build["context"] == NEXTJS_APP
    assert build["args"]["BASE_IMAGE"] == "node:20-slim"
    assert build["platform"] == (platform or "linux/amd64")  # the Docker host's, as the ops image
    assert run.one(IMAGE, "ops").inputs["build"]["platform"] == build["platform"]
    app = run.one(CONTAINER, "app")
    assert app.inputs["healthcheck"]["tests"][:3] == ["CMD", "node", "-e"]
    assert app.inputs["healthcheck"]["startInterval"] == "1s"  # seen healthy by its gate fast
    assert app.inputs["user"] == "1001:1001"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_app_root_filesystem_is_read_only_but_cache_and_tmp(stack: str) -> None:
    app = run_program(stack).one(CONTAINER, "app")
    assert app.inputs["readOnly"] is True
    assert list(app.inputs["tmpfs"]) == [TMP]
    assert "noexec" in app.inputs["tmpfs"][TMP]
    assert [v["containerPath"] for v in app.inputs["volumes"]] == ["/app/.next/cache"]
    assert "tmpfs" in app.replace_on_changes

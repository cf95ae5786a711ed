"""Pure parts of the ingress: the rendered Caddyfile and the route's decisions (no Docker).

Whether a container is healthy enough to switch to is the HealthGate's rule
(lifecycle/health_gate.py `assess`, tested in test_health_gate.py / test_day_two_rules.py)."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from ingress import caddyfile, route
from lifecycle.dynamic_inputs import UNKNOWN

pytestmark = pytest.mark.unit


def site(**changes: Any) -> caddyfile.Site:
    values: dict[str, Any] = {
        "host": "app.escalafin.example.com",
        "tls": True,
        "upstreams": ("app-1a2b3c4:3000",),
        "max_body_mb": 20,
        "grace_period_s": 30,
    }
    return caddyfile.Site(**{**values, **changes})


def test_https_site_gets_hsts_acme_settings_and_the_body_limit() -> None:
    text = caddyfile.render(
        site(acme_email="ops@example.com", acme_ca="https://acme.test/dir", acme_ca_root=True)
    )
    assert "\napp.escalafin.example.com {\n" in text
    assert 'Strict-Transport-Security "max-age=31536000"' in text
    assert "\temail ops@example.com\n" in text and "\tacme_ca https://acme.test/dir\n" in text
    assert f"\tacme_ca_root {caddyfile.ACME_ROOT_PATH}\n" in text
    assert "max_size 20MB" in text and f"> {20 * 1024 * 1024}" in text
    assert "\tadmin localhost:2019\n" in text and "grace_period 30s" in text
    assert "reverse_proxy app-1a2b3c4:3000 {" in text


def test_http_site_listens_on_80_for_any_host_without_hsts() -> None:
    text = caddyfile.render(site(tls=False, upstreams=("a-1:3000", "a-2:3000")))
    assert "\n:80 {\n" in text and "Strict-Transport-Security" not in text
    assert "email" not in text and "acme_ca" not in text
    assert "reverse_proxy a-1:3000 a-2:3000 {" in text


@pytest.mark.parametrize(
    "changes",
    [
        {"upstreams": ()},
        {"host": "evil.example.com {\n respond 200"},
        {"acme_email": 'a"b@example.com'},
        {"upstreams": ("app # comment",)},
    ],
)
def test_values_that_could_escape_a_token_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"upstream|token"):
        caddyfile.render(site(**changes))


def test_bootstrap_answers_503_and_keeps_the_admin_api_local() -> None:
    text = caddyfile.bootstrap()
    assert 'respond "starting" 503' in text and "admin localhost:2019" in text


def test_config_archive_holds_the_caddyfile_and_the_ca_root() -> None:
    archive = route.config_archive("CADDY", "PEM")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files = {m.name: m for m in tar.getmembers()}
        assert set(files) == {"Caddyfile", "acme-ca-root.pem"}
        assert all(m.mode == 0o644 for m in files.values())
        handle = tar.extractfile(files["Caddyfile"])
        assert handle is not None and handle.read() == b"CADDY"
    with tarfile.open(fileobj=io.BytesIO(route.config_archive("CADDY", None))) as tar:
        assert tar.getnames() == ["Caddyfile"]


PROPS = {
    "ingress_container": "abc",
    "upstream_containers": ["app-1"],
    "caddyfile": "x",
    "acme_ca_root": "",
    "docker_host": "",
    "health_timeout_s": 300,
}


def test_provider_check_and_diff_never_touch_docker() -> None:
    provider = route.IngressRouteProvider()
    assert provider.check({}, PROPS).failures == []
    preview = {**PROPS, "ingress_container": UNKNOWN, "upstream_containers": [UNKNOWN]}
    assert provider.check({}, preview).failures == []
    missing = provider.check({}, {**PROPS, "upstream_containers": [], "caddyfile": ""})
    assert {f.property for f in missing.failures} == {"upstream_containers", "caddyfile"}
    assert not provider.diff("id", PROPS, dict(PROPS)).changes
    assert provider.diff("id", PROPS, preview).changes  # not known yet: an update
    switched = provider.diff("id", PROPS, {**PROPS, "upstream_containers": ["app-2"]})
    assert switched.changes and not switched.replaces  # always in place, never a replacement
    assert not provider.diff("id", PROPS, {**PROPS, "health_timeout_s": 60}).changes

"""The pure config parsers."""

from __future__ import annotations

import pytest

from components import validation as v

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("30s", "30s"),
        ("10s", "10s"),
        ("90s", "1m30s"),
        ("1m30s", "1m30s"),
        ("1m", "1m0s"),
        ("1h", "1h0m0s"),
        ("500ms", "500ms"),
        ("1500ms", "1.5s"),
        ("2h5s", "2h0m5s"),
    ],
)
def test_durations_match_go(raw: str, canonical: str) -> None:
    assert v.parse_duration(raw) == canonical


@pytest.mark.parametrize("raw", ["", "30", "1d", "s", "-5s", "1m 30s", "0s"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(v.InvalidValue):
        v.parse_duration(raw)


@pytest.mark.parametrize(
    "ref",
    [
        "postgres:17-alpine",
        "redis:7-alpine",
        "python:3.13-slim",
        "minio/minio:latest",
        "escalafin-lab/postgres:17",
        "registry.example.com:5000/team/app:1.2",
        "localhost/app",
        "ghcr.io/org/app@sha256:" + "a" * 64,
        "app",
    ],
)
def test_image_refs_accepted(ref: str) -> None:
    assert v.parse_image_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    ["", "Postgres:17", "app:", "app:tag with space", ":tag", "app@sha256:123", "-app", "a" * 300],
)
def test_image_refs_rejected(ref: str) -> None:
    with pytest.raises(v.InvalidValue):
        v.parse_image_ref(ref)


def test_image_tag() -> None:
    assert v.image_tag("registry:5000/pg:17-alpine") == "17-alpine"
    assert v.image_tag("postgres") is None


def test_key_values() -> None:
    assert v.parse_key_values('["A=1", "B=x=y", "C="]') == {"A": "1", "B": "x=y", "C": ""}

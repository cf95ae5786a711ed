"""The dev program's recorded bucket resources, realised through an aws Provider on real S3.

Until the stack declares its own aws Provider for the embedded store, the
recorded dev run has none and the harness skips its bucket resources; this
test attaches such a provider to the recorded resources so the mapping to the
S3 API is proven now, against the S3-compatible image.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from typing import Any

import docker
import pytest

from tests.e2e import aws_store
from tests.e2e.harness import Harness
from tests.support import backup_env
from tests.support.program import ProgramRun, Resource, run_program

pytestmark = pytest.mark.e2e


def provider_for(endpoint: str) -> Resource:
    return Resource(
        type="pulumi:providers:aws",
        name="embedded-store",
        urn="urn:pulumi:dev::escalafin::pulumi:providers:aws::embedded-store",
        parent="",
        custom=True,
        inputs={
            "endpoints": json.dumps([{"s3": endpoint}]),
            "accessKey": backup_env.S3_USER,
            "secretKey": backup_env.S3_SECRET,
            "region": "us-east-1",
            "s3UsePathStyle": "true",
            "skipCredentialsValidation": "true",
        },
        secret_paths=set(),
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        replace_on_changes=[],
        dependencies=[],
        provider="",
    )


def test_dev_bucket_is_created_versioned_and_expiring(docker_client: docker.DockerClient) -> None:
    recorded = run_program("dev").resources
    bucket_name = f"escalafin-e2e-{secrets.token_hex(4)}-backups"
    with backup_env.s3_server(docker_client) as s3:
        provider = provider_for(s3.endpoint)
        bucket_resources = [
            dataclasses.replace(
                r,
                provider=f"{provider.urn}::provider-id",
                inputs={**r.inputs, "bucket": bucket_name},
            )
            for r in recorded
            if r.type.startswith("aws:s3/")
        ]
        assert {r.type for r in bucket_resources} == {
            aws_store.BUCKET,
            aws_store.VERSIONING,
            aws_store.LIFECYCLE,
        }
        run = ProgramRun("dev", {}, [provider, *bucket_resources], {}, set())
        harness = Harness(docker_client, bucket_name)
        try:
            first = harness.up(run)
            assert sorted(first.created) == [
                "Bucket/bucket",
                "BucketLifecycleConfiguration/lifecycle",
                "BucketVersioning/versioning",
            ]
            client = s3.client()
            assert client.get_bucket_versioning(Bucket=bucket_name)["Status"] == "Enabled"
            rules: list[Any] = list(
                client.get_bucket_lifecycle_configuration(Bucket=bucket_name)["Rules"]
            )
            assert rules[0]["ID"] == "expire-old-backups"
            assert rules[0]["Expiration"]["Days"] == 37
            assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
            second = harness.up(run)
            assert second.changed() == []
        finally:
            harness.destroy()

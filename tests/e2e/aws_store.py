"""The dev backup bucket's aws resources, realised with boto3 against the recorded endpoint.

Test infrastructure (see harness.py). pulumi-aws runs on the machine running
`pulumi`, configured by an explicit `aws.Provider`; in dev that provider points
at the embedded S3-compatible store. The same calls are made here with boto3.
Only the resources the backup bucket uses are mapped; anything else fails loudly.

| resource / provider | input | S3 API call |
|---|---|---|
| pulumi:providers:aws | endpoints[].s3, accessKey, secretKey, region, s3UsePathStyle | client config |
|  | skip* validations, version | no effect on S3 API calls |
| s3.Bucket | bucket, forceDestroy | CreateBucket (forceDestroy: the store dies with its container) |
| s3.BucketVersioning | bucket, versioningConfiguration.status | PutBucketVersioning |
| s3.BucketLifecycleConfiguration | bucket, rules[] (id, status, filter.prefix, expiration.days, noncurrentVersionExpiration.noncurrentDays, abortIncompleteMultipartUpload.daysAfterInitiation) | PutBucketLifecycleConfiguration |
"""  # noqa: E501 - a table reads better unwrapped

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from tests.e2e import plan
from tests.support.program import Resource

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
PROVIDER_KEYS = {
    "endpoints", "accessKey", "secretKey", "region", "s3UsePathStyle", "version",
    "skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck",
    "skipRegionValidation",
}  # fmt: skip
RULE_KEYS = {
    "id", "status", "filter", "expiration", "noncurrentVersionExpiration",
    "abortIncompleteMultipartUpload",
}  # fmt: skip


def _decoded(value: Any) -> Any:
    """Provider inputs of non-string type travel JSON-encoded."""
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def client(provider: Resource, inputs: dict[str, Any]) -> Any:
    """A boto3 S3 client configured exactly from the recorded provider's inputs."""
    plan.check_keys(provider, inputs, PROVIDER_KEYS)
    endpoints = _decoded(inputs.get("endpoints")) or []
    s3_urls = [e["s3"] for e in endpoints if isinstance(e, dict) and e.get("s3")]  # pyright: ignore[reportUnknownMemberType]
    if not s3_urls:
        raise plan.UnmappedInput(provider, "endpoints (an s3 endpoint is required)", PROVIDER_KEYS)
    path_style = str(inputs.get("s3UsePathStyle", "false")).lower() == "true"
    return boto3.client(  # pyright: ignore[reportUnknownMemberType]
        "s3",
        endpoint_url=str(s3_urls[0]),
        region_name=str(inputs.get("region") or "us-east-1"),
        aws_access_key_id=str(inputs.get("accessKey") or ""),
        aws_secret_access_key=str(inputs.get("secretKey") or ""),
        config=Config(s3={"addressing_style": "path" if path_style else "auto"}),
    )


def realise(s3: Any, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
    """Create or update one bucket resource; returns its real outputs."""
    bucket = str(inputs.get("bucket") or "")
    if r.type == BUCKET:
        plan.check_keys(r, inputs, {"bucket", "forceDestroy"})
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
        return {"id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    if r.type == VERSIONING:
        plan.check_keys(r, inputs, {"bucket", "versioningConfiguration"})
        config = dict(inputs["versioningConfiguration"])
        plan.check_keys(r, config, {"status"}, "versioningConfiguration.")
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": config["status"]}
        )
        return {"id": bucket}
    if r.type == LIFECYCLE:
        plan.check_keys(r, inputs, {"bucket", "rules"})
        rules = [_rule(r, dict(rule)) for rule in inputs["rules"]]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
        return {"id": bucket}
    raise plan.UnmappedInput(r, "<resource type>", [BUCKET, VERSIONING, LIFECYCLE])


def _rule(r: Resource, rule: dict[str, Any]) -> dict[str, Any]:
    plan.check_keys(r, rule, RULE_KEYS, "rules[].")
    out: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"]}
    nested = {
        "filter": ("Filter", {"prefix": "Prefix"}),
        "expiration": ("Expiration", {"days": "Days"}),
        "noncurrentVersionExpiration": (
            "NoncurrentVersionExpiration",
            {"noncurrentDays": "NoncurrentDays"},
        ),
        "abortIncompleteMultipartUpload": (
            "AbortIncompleteMultipartUpload",
            {"daysAfterInitiation": "DaysAfterInitiation"},
        ),
    }
    for key, (api_key, fields) in nested.items():
        if rule.get(key) is None:
            continue
        value = dict(rule[key])
        plan.check_keys(r, value, fields, f"rules[].{key}.")
        out[api_key] = {
            fields[k]: (int(v) if isinstance(v, float) else v) for k, v in value.items()
        }
    return out

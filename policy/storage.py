"""Stack-level checks: data volumes are retained; the backup bucket is hardened.

These need more than one resource at a time (a volume and the containers that
mount it; a bucket and its separate versioning/encryption/access-block/policy
resources), so they take the whole stack as a list of `Res` and return
(urn, message) pairs. Pure functions: __main__ adapts pulumi-policy's
PolicyResource to `Res`, tests build `Res` by hand or from a mocked run.

Limit: `retain_on_delete` is a resource option the engine never sends to
policy packs (its analyzer protocol carries `protect`, not retainOnDelete).
What is checkable here: no container keeps data in an anonymous volume, every
mounted volume is a `docker:Volume` the stack declares (a separate resource,
so replacing a container never takes data with it), and, where configured
(prod), every volume a database/cache mounts is `protect`ed. retain_on_delete
itself is asserted by the unit tier on the recorded registrations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.containers import is_data_service
from policy.props import UNKNOWN, get, items, reveal

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
VERSIONING = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
ENCRYPTION = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACCESS_BLOCK_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
SSE_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})

Finding = tuple[str, str]


@dataclass(frozen=True)
class Res:
    """What a stack policy needs of one resource."""

    type: str
    urn: str
    props: Any
    dependencies: Sequence[str] = ()
    protect: bool = False
    provider_props: Mapping[str, Any] | None = field(default=None)


# ------------------------------------------------------------------ volumes


def unretained_data(resources: Sequence[Res], *, require_protect: bool) -> list[Finding]:
    declared = {reveal(get(r.props, "name")): r for r in resources if r.type == VOLUME}
    found: list[Finding] = []
    for c in (r for r in resources if r.type == CONTAINER):
        data_service = is_data_service(c.props)
        for mount in items(get(c.props, "volumes", [])):
            if mount is UNKNOWN:
                continue
            path = reveal(get(mount, "containerPath", "?"))
            name = reveal(get(mount, "volumeName"))
            if name is UNKNOWN or get(mount, "hostPath"):
                continue
            if not name:
                found.append((c.urn, f"{path} is an anonymous volume: mount a docker.Volume"))
            elif name not in declared:
                found.append(
                    (c.urn, f"{path} mounts volume {name!r} that this stack does not declare")
                )
            elif require_protect and data_service and not declared[name].protect:
                found.append(
                    (declared[name].urn, f"data volume {name!r} is not protected (protect=True)")
                )
    return found


# ------------------------------------------------------------------ buckets


def is_s3_compatible_store(bucket: Res) -> bool:
    """A bucket on an explicit provider with custom endpoints (the dev embedded store)."""
    endpoints = get(bucket.provider_props or {}, "endpoints")
    return endpoints not in (None, "", "[]", [], UNKNOWN)


def _belongs(res: Res, bucket: Res) -> bool:
    if bucket.urn in res.dependencies:
        return True
    target = reveal(get(res.props, "bucket"))
    names = {reveal(get(bucket.props, "bucket")), reveal(get(bucket.props, "id"))}
    return target not in (None, UNKNOWN) and target in names


def _parts(resources: Sequence[Res], bucket: Res, types: Iterable[str]) -> list[Res]:
    wanted = set(types)
    return [r for r in resources if r.type in wanted and _belongs(r, bucket)]


def _versioned(bucket: Res, parts: list[Res]) -> bool:
    inline = get(get(bucket.props, "versioning"), "enabled")
    statuses = [reveal(get(get(p.props, "versioningConfiguration"), "status")) for p in parts]
    return inline is True or any(s in ("Enabled", UNKNOWN) for s in statuses)


def _encrypted(parts: list[Res]) -> bool:
    for part in parts:
        rules = get(part.props, "rules", [])
        if rules is UNKNOWN:
            return True
        for rule in items(rules):
            default = get(rule, "applyServerSideEncryptionByDefault")
            algorithm = reveal(get(default, "sseAlgorithm"))
            if algorithm is UNKNOWN or algorithm in SSE_ALGORITHMS:
                return True
    return False


def _private(parts: list[Res]) -> bool:
    return any(
        all(get(p.props, flag) in (True, UNKNOWN) for flag in ACCESS_BLOCK_FLAGS) for p in parts
    )


def denies_insecure_transport(document: Any) -> bool:
    """A policy statement Deny-ing every request with aws:SecureTransport = false."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return False
    if not isinstance(document, Mapping):
        return False
    statements = document.get("Statement", [])  # pyright: ignore[reportUnknownMemberType]
    if isinstance(statements, Mapping):
        statements = [statements]
    for st in statements if isinstance(statements, list) else []:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(st, Mapping) or st.get("Effect") != "Deny":  # pyright: ignore[reportUnknownMemberType]
            continue
        condition: Any = st.get("Condition", {})  # pyright: ignore[reportUnknownMemberType]
        value = condition.get("Bool", {}).get("aws:SecureTransport")
        if str(value).lower() in {"false", "['false']"} or value == ["false"]:
            return True
    return False


def _tls_only(parts: list[Res]) -> bool:
    for part in parts:
        document = reveal(get(part.props, "policy"))
        if document is UNKNOWN or denies_insecure_transport(document):
            return True
    return False


def unhardened_buckets(resources: Sequence[Res]) -> list[Finding]:
    """Each AWS bucket: versioned, SSE-encrypted, public access blocked, TLS-only."""
    found: list[Finding] = []
    for bucket in (r for r in resources if r.type in BUCKET_TYPES):
        if is_s3_compatible_store(bucket):
            continue
        missing: list[str] = []
        if not _versioned(bucket, _parts(resources, bucket, VERSIONING)):
            missing.append("versioning (BucketVersioning status Enabled)")
        if not _encrypted(_parts(resources, bucket, ENCRYPTION)):
            missing.append("encryption (BucketServerSideEncryptionConfiguration)")
        if not _private(_parts(resources, bucket, [ACCESS_BLOCK])):
            missing.append("a BucketPublicAccessBlock with all four flags true")
        if not _tls_only(_parts(resources, bucket, [BUCKET_POLICY])):
            missing.append("a BucketPolicy denying aws:SecureTransport=false")
        if missing:
            found.append((bucket.urn, "backup bucket lacks " + "; ".join(missing)))
    return found

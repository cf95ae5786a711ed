"""The off-site backup bucket on AWS S3, hardened: versioned, encrypted, private, TLS-only.

Prod only: dev keeps its backups in the embedded store (components/object_store.py),
so the dev stack needs no AWS provider. Lifecycle rules expire current and noncurrent
versions a little after the agent's own retention, so the bucket never keeps what
retention already dropped, and never drops what it still keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import BackupSettings

# Days past retention before S3 itself expires objects: the agent prunes first
# (honouring the keep-min floor); the bucket rule is the backstop.
EXPIRY_GRACE_DAYS = 30


@dataclass(frozen=True)
class BackupBucketArgs:
    settings: BackupSettings
    protect: bool
    create_credentials: bool


class BackupBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None
    """Credentials of a user that can only touch this bucket (when created here)."""

    def __init__(
        self, name: str, args: BackupBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("escalafin:index:BackupBucket", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            "bucket",
            bucket=s.bucket_name,
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        bucket_id = self.bucket.id
        aws.s3.BucketVersioning(
            "versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        expire_after = s.retention_days + EXPIRY_GRACE_DAYS
        aws.s3.BucketLifecycleConfiguration(
            "lifecycle",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-backups",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=expire_after
                    ),
                    noncurrent_version_expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=s.retention_days
                        )
                    ),
                    abort_incomplete_multipart_upload=(
                        aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=1
                        )
                    ),
                )
            ],
            opts=child,
        )
        self._harden(bucket_id, self.bucket.arn, child)
        self.access_key_id = None
        self.secret_access_key = None
        if args.create_credentials:
            self._credentials(s.bucket_name, self.bucket.arn, child)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.name})

    def _harden(
        self, bucket_id: pulumi.Output[str], arn: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> None:
        aws.s3.BucketServerSideEncryptionConfiguration(
            "encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            "tls-only",
            bucket=bucket_id,
            policy=arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[block])),
        )

    def _credentials(
        self, bucket_name: str, arn: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> None:
        user = aws.iam.User("agent", name=f"{bucket_name}-agent", opts=child)
        aws.iam.UserPolicy(
            "agent-policy", user=user.name, policy=arn.apply(agent_policy), opts=child
        )
        key = aws.iam.AccessKey("agent-key", user=user.name, opts=child)
        self.access_key_id = key.id
        self.secret_access_key = pulumi.Output.secret(key.secret)


def tls_only_policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def agent_policy(arn: str) -> str:
    """Least privilege for the backup agent: list, read, write, prune; nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": arn,
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "s3:PutObject",
                        "s3:GetObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    "Resource": f"{arn}/*",
                },
            ],
        }
    )

"""Off-site copies of backups in an S3 bucket (AWS in prod, the embedded store in dev).

Uploads go through boto3's managed transfer, so large dumps are sent as a multipart
upload in parallel parts; every part carries a SHA-256 checksum the server verifies
(`ChecksumAlgorithm`), and the whole file's SHA-256 is recorded as object metadata
(`x-amz-meta-sha256`) so a download can be checked end to end. A failed upload aborts
its multipart upload, so no partial object or orphaned parts are left behind.
Credentials come from the environment / instance role, never from arguments on a
command line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lifecycle import retention

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

SHA256_METADATA: Final = "sha256"
_ERRORS: Final = (BotoCoreError, ClientError, Boto3Error)
PART_SIZE: Final = 64 * 1024 * 1024
TRANSFER: Final = TransferConfig(
    multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=4
)


class ObjectStoreError(RuntimeError):
    """The bucket could not be read or written; the message names bucket and key."""


@dataclass(frozen=True)
class StoreSettings:
    """Where off-site copies go. `endpoint_url` is set for S3-compatible stores only."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StoreSettings | None:
        """S3_BUCKET, S3_PREFIX, S3_ENDPOINT_URL, S3_REGION; None when S3_BUCKET is unset."""
        e = dict(os.environ) if env is None else env
        bucket = e.get("S3_BUCKET", "")
        if not bucket:
            return None
        return cls(
            bucket=bucket,
            prefix=e.get("S3_PREFIX", ""),
            endpoint_url=e.get("S3_ENDPOINT_URL") or None,
            region=e.get("S3_REGION") or e.get("AWS_REGION") or None,
        )

    def key(self, name: str) -> str:
        return f"{self.prefix.strip('/')}/{name}" if self.prefix.strip("/") else name

    def where(self, name: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(name)}"


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    sha256: str | None


class ObjectStore:
    """The backup bucket, seen through the operations backups need."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        # Path-style addressing works with AWS and with every S3-compatible store.
        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=120,
        )
        self.client: S3Client = boto3.client(  # pyright: ignore[reportUnknownMemberType]
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
        )

    def bucket_exists(self) -> bool:
        """HeadBucket: True when it exists, False on 404; any other answer raises."""
        try:
            self.client.head_bucket(Bucket=self.settings.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket", "NotFound"}:
                return False
            raise ObjectStoreError(f"cannot read {self.settings.where()}: {exc}") from exc
        except _ERRORS as exc:
            raise ObjectStoreError(f"cannot reach {self.settings.where()}: {exc}") from exc
        return True

    def ensure_bucket(self) -> bool:
        """Create the bucket unless it exists (a retained store keeps it); True when created."""
        if self.bucket_exists():
            return False
        try:
            self.client.create_bucket(Bucket=self.settings.bucket)
        except _ERRORS as exc:
            raise ObjectStoreError(f"cannot create {self.settings.where()}: {exc}") from exc
        return True

    def upload(self, path: Path, sha256: str) -> None:
        """Upload `path` under its own name; on failure abort and remove anything partial.

        Never replaces another backup: an object of that name with the same checksum and
        size is this archive already uploaded (a retry), one with other content is refused.
        """
        key = self.settings.key(path.name)
        existing = self.find(path.name)
        if existing is not None:
            if existing.sha256 == sha256 and existing.size == path.stat().st_size:
                return
            raise ObjectStoreError(
                f"{self.settings.where(path.name)} already exists with other content; "
                "refusing to replace it"
            )
        try:
            self.client.upload_file(
                str(path),
                self.settings.bucket,
                key,
                ExtraArgs={
                    "Metadata": {SHA256_METADATA: sha256},
                    "ChecksumAlgorithm": "SHA256",
                    "ContentType": "application/octet-stream",
                },
                Config=TRANSFER,
            )
        except (*_ERRORS, OSError) as exc:
            # The transfer manager aborts its multipart upload on failure; sweep any
            # leftovers (e.g. a crash between parts) and any object that did land.
            self._abort_uploads(key)
            self._delete_quietly(key)
            raise ObjectStoreError(
                f"upload to {self.settings.where(path.name)} failed: {exc}"
            ) from exc
        stored = self.head(path.name)
        if stored.sha256 != sha256 or stored.size != path.stat().st_size:
            self._delete_quietly(key)
            raise ObjectStoreError(
                f"upload to {self.settings.where(path.name)} does not match the local file "
                f"(size {stored.size} vs {path.stat().st_size}); the object was removed"
            )

    def head(self, name: str) -> StoredObject:
        try:
            head = self.client.head_object(Bucket=self.settings.bucket, Key=self.settings.key(name))
        except _ERRORS as exc:
            raise ObjectStoreError(f"cannot read {self.settings.where(name)}: {exc}") from exc
        return StoredObject(
            name, head["ContentLength"], head.get("Metadata", {}).get(SHA256_METADATA)
        )

    def find(self, name: str) -> StoredObject | None:
        """Like head, but None when there is no such object."""
        try:
            return self.head(name)
        except ObjectStoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in (
                "404",
                "NoSuchKey",
                "NotFound",
            ):
                return None
            raise

    def backups(self) -> list[retention.BackupRef]:
        """Every backup object under the prefix (other keys are ignored)."""
        return list(self._iter_backups())

    def _iter_backups(self) -> Iterator[retention.BackupRef]:
        prefix = self.settings.key("")
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    ref = retention.parse_name(
                        obj.get("Key", "")[len(prefix) :], obj.get("Size", 0)
                    )
                    if ref is not None:
                        yield ref
        except _ERRORS as exc:
            raise ObjectStoreError(f"cannot list {self.settings.where()}: {exc}") from exc

    def download(self, name: str, destination: Path) -> StoredObject:
        """Download to `destination`; the caller verifies the checksum it returns."""
        stored = self.head(name)
        try:
            self.client.download_file(
                self.settings.bucket, self.settings.key(name), str(destination), Config=TRANSFER
            )
        except (*_ERRORS, OSError) as exc:
            destination.unlink(missing_ok=True)
            raise ObjectStoreError(
                f"download of {self.settings.where(name)} failed: {exc}"
            ) from exc
        return stored

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.settings.bucket, Key=self.settings.key(name))
        except _ERRORS as exc:
            raise ObjectStoreError(f"cannot delete {self.settings.where(name)}: {exc}") from exc

    def _delete_quietly(self, key: str) -> None:
        # Best effort: the upload error is what gets reported.
        with contextlib.suppress(*_ERRORS):
            self.client.delete_object(Bucket=self.settings.bucket, Key=key)

    def _abort_uploads(self, key: str) -> None:
        try:
            uploads = self.client.list_multipart_uploads(Bucket=self.settings.bucket, Prefix=key)
            for upload in uploads.get("Uploads", []):
                if upload.get("Key") == key and "UploadId" in upload:
                    self.client.abort_multipart_upload(
                        Bucket=self.settings.bucket, Key=key, UploadId=upload["UploadId"]
                    )
        except _ERRORS:
            pass  # best effort, as above

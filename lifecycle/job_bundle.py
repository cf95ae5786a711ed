"""Inside an ECS ops task: fetch a job's input archive from S3, verify it, run the command.

    python -m lifecycle.job_bundle s3://bucket/lifecycle-jobs/<sha256>.tar <sha256> \\
        lifecycle.migrate deploy --json --migrations /tmp/escalafin-job/migrations ...

The in-network mode copies the same archive into its container with put_archive; a Fargate
task has no such door, so lifecycle.ecs_runner stages it in S3 and this module unpacks it
under /tmp (the archive's paths start with `escalafin-job/`) before running the lifecycle
command in this process (`runpy`, as `python -m` would). The command's exit code is this
process's exit code; a missing or altered archive fails with one JSON line like every
lifecycle command. Credentials: the task role (s3:GetObject on the bundle prefix only);
the client is lifecycle.object_store's (retries, timeouts, S3_ENDPOINT_URL for an
S3-compatible store, as the backup agent uses).
"""

from __future__ import annotations

import hashlib
import io
import os
import runpy
import sys
import tarfile
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from lifecycle import cli
from lifecycle.object_store import ObjectStore, StoreSettings

EXTRACT_TO: Final = Path("/tmp")  # noqa: S108 (inside the throwaway task; jobs.JOB_DIR's parent)


class BundleError(RuntimeError):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fetch(uri: str, sha256: str, destination: Path = EXTRACT_TO) -> int:
    """Download the archive at `uri`, check its SHA-256, unpack it; returns its size."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise BundleError(f"job input {uri!r}: expected s3://bucket/key", cli.EXIT_USAGE)
    store = ObjectStore(
        StoreSettings(
            bucket=parts.netloc,
            endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
            region=os.environ.get("S3_REGION") or os.environ.get("AWS_REGION") or None,
        )
    )
    try:
        found = store.client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
        body = found["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise BundleError(f"cannot read job input {uri}: {exc}", cli.EXIT_UNAVAILABLE) from None
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise BundleError(
            f"job input {uri} has SHA-256 {actual}, expected {sha256}: refusing to run it",
            cli.EXIT_USAGE,
        )
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"cannot unpack job input {uri}: {exc}", cli.EXIT_USAGE) from None
    return len(body)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        return cli.fail(
            True, cli.EXIT_USAGE, "usage: lifecycle.job_bundle <s3 uri> <sha256> <module> [args]"
        )
    uri, sha256, module, *rest = args
    try:
        fetch(uri, sha256)
    except BundleError as exc:
        return cli.fail(True, exc.exit_code, str(exc))
    sys.argv = [module, *rest]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

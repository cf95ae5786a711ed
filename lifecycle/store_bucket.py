"""The backup bucket of the embedded S3-compatible store (dev), as a one-off job.

`python -m lifecycle.store_bucket ensure|exists --json` runs in the ops image on the
stack's internal network (the store publishes nothing): S3_ENDPOINT_URL, S3_BUCKET,
S3_REGION and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY come from the environment,
never from argv. `ensure` creates the bucket unless it exists (a retained store
volume keeps it across destroy/up); `exists` only looks. One JSON line on stdout;
exit 0 done, 2 configuration error, 4 store unreachable or refusing.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

from lifecycle import cli
from lifecycle.object_store import ObjectStore, ObjectStoreError, StoreSettings

log = logging.getLogger("lifecycle.store_bucket")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.store_bucket")
    parser.add_argument("command", choices=("ensure", "exists"))
    parser.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    args = parser.parse_args(argv)
    cli.setup_logging()
    settings = StoreSettings.from_env()
    if settings is None or settings.endpoint_url is None:
        return cli.fail(args.json, cli.EXIT_USAGE, "S3_BUCKET and S3_ENDPOINT_URL are required")
    started = time.monotonic()
    try:
        store = ObjectStore(settings)
        if args.command == "ensure":
            created = store.ensure_bucket()
            exists = True
        else:
            created, exists = False, store.bucket_exists()
    except ObjectStoreError as exc:
        return cli.fail(args.json, cli.EXIT_UNAVAILABLE, str(exc))
    log.info(
        "%s %s: exists=%s created=%s (%.1f s)",
        args.command,
        settings.where(),
        exists,
        created,
        time.monotonic() - started,
    )
    result = {"ok": True, "bucket": settings.bucket, "exists": exists, "created": created}
    cli.emit(
        args.json,
        result,
        f"{settings.where()}: {'created' if created else 'present' if exists else 'missing'}",
    )
    return cli.EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

"""Container healthcheck: `python -m escalafin_app.healthcheck`.

Why Python: slim images ship neither wget nor curl. Exit 0 only on HTTP 200 from
/api/health on this container's own port; prints one short line that Docker
keeps in the health log (never the response body).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 8.0  # the endpoint bounds itself at ~3 s; stay under a 10 s probe timeout


def main() -> int:
    port = os.environ.get("PORT", "").strip() or "3000"
    url = f"http://127.0.0.1:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        print(f"unhealthy: {type(error).__name__}")
        return 1
    print("healthy" if status == 200 else f"unhealthy: HTTP {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())

"""The dynamic provider host, as pulumi runs it: a separate Python process in the project root.

pulumi/pulumi `sdk/python/lib/pulumi/dynamic/__main__.py` is started as
`python -m pulumi.dynamic` by the language host with the program's directory as
its working directory (`sdk/go/common/resource/plugin/plugin.go`, `ExecPlugin`:
`cmd.Dir = pwd`), so `sys.path[0]` is the checkout that runs `pulumi` and the
dill pickle of a provider (`dynamic.py`, `serialize_provider`: `dill.dumps(...,
recurse=True)`, by reference for classes importable from a module) is resolved
against *that* checkout's code. `get_provider` unpickles the `__provider` of the
properties it is given: the *new* inputs for Check, Diff, Create and Update, the
*stored* state for Read and Delete — so a provider class renamed or moved since
the state was written breaks refresh and destroy.

This module is that process for the e2e harness (`python -m tests.e2e.dynamic_host`,
run with `cwd` = the checkout): one JSON request per line on stdin, one JSON
answer per line on stdout. `HostProcess` is the harness's side of the pipe.
Test infrastructure, not the product path.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

# Unknown inputs during preview; the harness never previews, but keeps the contract.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _provider(encoded: str, cache: dict[str, Any]) -> Any:
    """`get_provider`: dill.loads of the base64 pickle, configured once, cached by pickle."""
    provider = cache.get(encoded)
    if provider is None:
        import dill  # noqa: PLC0415  # pyright: ignore[reportMissingTypeStubs]
        from pulumi.dynamic import ConfigureRequest  # noqa: PLC0415
        from pulumi.dynamic.config import Config  # noqa: PLC0415

        provider = dill.loads(base64.b64decode(encoded))  # noqa: S301  # pyright: ignore[reportUnknownMemberType]
        provider.configure(ConfigureRequest(Config(raw_config={}, project_name="escalafin")))
        cache[encoded] = provider
    return provider


def _serve_one(request: dict[str, Any], cache: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "check":
        news = request["news"]
        provider = _provider(news["__provider"], cache)
        result = provider.check(request["olds"], news)
        inputs = dict(result.inputs or news)
        inputs["__provider"] = news["__provider"]
        failures = [{"property": f.property, "reason": f.reason} for f in result.failures or []]
        return {"inputs": inputs, "failures": failures}
    if op == "diff":
        news = request["news"]
        key = news["__provider"] if news["__provider"] != UNKNOWN else request["olds"]["__provider"]
        result = _provider(key, cache).diff(request["id"], request["olds"], news)
        return {
            "changes": result.changes,
            "replaces": list(result.replaces or []),
            "delete_before_replace": result.delete_before_replace,
        }
    if op == "create":
        props = request["props"]
        result = _provider(props["__provider"], cache).create(props)
        outs = dict(result.outs or {})
        outs["__provider"] = props["__provider"]
        return {"id": result.id, "outs": outs}
    if op == "update":
        news = request["news"]
        result = _provider(news["__provider"], cache).update(request["id"], request["olds"], news)
        outs = dict(result.outs or {})
        outs["__provider"] = news["__provider"]
        return {"outs": outs}
    if op == "read":
        props = request["props"]
        result = _provider(props["__provider"], cache).read(request["id"], props)
        outs = dict(result.outs or {})
        outs["__provider"] = props["__provider"]
        inputs = result.inputs
        if inputs is not None:
            inputs = {**inputs, "__provider": props["__provider"]}
        return {"id": result.id, "outs": outs, "inputs": inputs}
    if op == "delete":
        props = request["props"]
        _provider(props["__provider"], cache).delete(request["id"], props)
        return {}
    raise ValueError(f"unknown dynamic provider operation {op!r}")


def main() -> None:
    cache: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": True, "result": _serve_one(request, cache)}
        except Exception as exc:  # every provider error goes back to the engine
            traceback.print_exc(file=sys.stderr)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class ProviderError(AssertionError):
    """A dynamic provider raised: the engine fails the step with this message."""


class HostProcess:
    """One provider host process per deployment operation, as the engine starts one per run."""

    def __init__(self, project_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.project_dir = project_dir
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.dynamic_host"],
            cwd=project_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise ProviderError(f"dynamic provider host exited (code {self._proc.poll()})")
        answer = json.loads(line)
        if not answer["ok"]:
            raise ProviderError(answer["error"])
        return dict(answer["result"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> HostProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()

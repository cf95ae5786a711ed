"""Realise a mocked run's recorded resources on a real Docker engine (test infrastructure).

This is test infrastructure, not the product path: the product path is
`pulumi up`. No Pulumi engine or provider plugin can be installed on these
machines, so `tests/support/program.run_program` evaluates the real program
under mocks and records every resource; `Harness.up` then walks the recorded
custom resources in dependency order and does what the provider would do,
with the provider's semantics. Mocked outputs (digests, ids, random results)
are replaced by the real ones in every later input (`plan.Substitutions`).

Mapped inputs (wire names); any other recorded key raises `plan.UnmappedInput`:

| resource              | input (wire name)          | Docker / behaviour                     |
|-----------------------|----------------------------|----------------------------------------|
| docker.Network        | name, internal, labels     | networks.create(bridge, internal, ...) |
| docker.Volume         | name, labels               | volumes.create; id = name              |
| docker.RemoteImage    | name                       | must exist locally; imageId = local id |
|                       | keepLocally (only true)    | never removed                          |
| docker.Image          | imageName                  | -t tag (removed by destroy)            |
|                       | skipPush (only true)       | nothing pushed (no registry)           |
|                       | buildOnPreview             | no preview here: ignored by design     |
|                       | build.context, dockerfile  | `$ESCALAFIN_DOCKER_CLI build -f ...`   |
|                       | build.target, platform     | --target, --platform                   |
|                       | build.args                 | --build-arg NAME=value                 |
|                       | build.builderVersion       | only BuilderBuildKit                   |
|                       | build.cacheFrom.images     | --cache-from                           |
|                       | (output) repoDigest        | the built image id (--iidfile)         |
| docker.Container      | name (unset: autonamed     | create_container(...)                  |
|                       |   <name>-<7 hex>, new on   |                                        |
|                       |   every replacement)       |                                        |
|                       | image, user                |                                        |
|                       | envs, command, entrypoints | environment, command, entrypoint       |
|                       | labels                     | labels (+ test/session labels)         |
|                       | healthcheck.tests          | Healthcheck.test                       |
|                       | healthcheck.interval,      | Go durations -> nanoseconds            |
|                       |   timeout, startPeriod     |                                        |
|                       | healthcheck.retries        | retries                                |
|                       | networksAdvanced[].name,   | first at create (endpoint aliases),    |
|                       |   aliases                  | others connected before start          |
|                       | ports[].internal, external,| port_bindings {int/proto: (ip, ext)}   |
|                       |   ip, protocol             | + exposed ports                        |
|                       | volumes[].volumeName,      | Mount(type=volume, source, target,     |
|                       |   containerPath, readOnly  |   read_only)                           |
|                       | restart                    | RestartPolicy.Name                     |
|                       | memory (MB)                | Memory in bytes                        |
|                       | stopSignal, stopTimeout    | StopSignal, StopTimeout                |
|                       | wait, waitTimeout          | poll until healthy; fail on unhealthy, |
|                       |                            |   exit or timeout (with last logs)     |
|                       | uploads[].file, content    | put_archive before start (mode 0644)   |
|                       | mustRun (default true)     | running after start                    |
|                       | destroyGraceSeconds        | stop timeout on delete                 |
| random.RandomPassword | length, special, upper,    | `secrets` draw from the same alphabet; |
|                       |   lower, numeric,          |   bcryptHash = real bcrypt of result   |
|                       |   overrideSpecial          |                                        |
| dynamic resources     | __provider                 | base64 + dill.loads, as the host does  |
|                       | every other prop           | check -> create; later check -> diff   |
|                       |                            |   -> update (replace if diff says so)  |
| aws.s3.*              | see aws_store.py           | boto3 against the endpoint of the      |
|                       |                            |   recorded aws Provider; without one:  |
|                       |                            |   skipped, listed in UpResult.skipped  |

Change semantics on a later `up`: a resource whose substituted inputs equal the
previous ones (and that still exists: a refresh) is left alone. Otherwise
Network/Volume/Container are replaced, RandomPassword is regenerated, dynamic
resources follow their provider's diff.

Replacement order, as pulumi/pulumi's engine does it (pkg/resource/deploy/
step_generator.go, continueStepsFromDiff; step.go, CreateStep.Apply;
deployment_executor.go, performPostSteps):
- delete_before_replace (the option, or when the program leaves it unset the
  provider's answer: pulumi-docker provider/resources.go declares
  `DeleteBeforeReplace: true` for docker_container, nothing for the others):
  delete the old object, then create the new one.
- otherwise create before delete: create the new object, carry on with the
  rest of the program (dependents see the new one), and delete the old one
  only after every resource is realised (GenerateDeletes runs once the program
  has registered everything), in reverse order. Resources the program no
  longer declares are deleted at that point too.
- a create that fails after the object exists (a container that never gets
  healthy with `wait`: the provider returns an error after SetId, i.e. a
  partial failure) keeps the new object in state with an init error and marks
  the old one pending delete (CreateStep.Apply sets old.Delete even then);
  the `up` fails, so the delete does not run. The next `up` deletes pending
  objects at its end; a resource with an init error and unchanged inputs gets
  an empty update (the docker provider's update does not wait again), one
  with changed inputs is replaced.
Everything created carries the labels `escalafin.test=1` and
`escalafin.e2e-session=<session>`; `destroy()` removes all of it.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import secrets
import string
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import dill  # pyright: ignore[reportMissingTypeStubs]
import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from tests.e2e import aws_store, plan
from tests.support import images
from tests.support.docker_env import LABEL
from tests.support.program import PROJECT_DIR, ProgramRun, Resource

log = logging.getLogger("tests.e2e.harness")

SESSION_LABEL = "escalafin.e2e-session"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
IMAGE = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

NETWORK_KEYS = {"name", "internal", "labels"}
VOLUME_KEYS = {"name", "labels"}
REMOTE_IMAGE_KEYS = {"name", "keepLocally"}
IMAGE_KEYS = {"imageName", "skipPush", "buildOnPreview", "build"}
BUILD_KEYS = {"context", "dockerfile", "target", "platform", "args", "builderVersion", "cacheFrom"}
CONTAINER_KEYS = {
    "name", "image", "envs", "command", "entrypoints", "user", "labels", "healthcheck",
    "networksAdvanced", "ports", "volumes", "restart", "memory", "stopSignal", "stopTimeout",
    "wait", "waitTimeout", "mustRun", "destroyGraceSeconds", "uploads",
}  # fmt: skip
UPLOAD_KEYS = {"file", "content"}
AUTONAME_HEX = 7  # pulumi-terraform-bridge autonaming: <name>-<7 random hex>
HEALTHCHECK_KEYS = {"tests", "interval", "timeout", "startPeriod", "retries"}
NETWORK_ADV_KEYS = {"name", "aliases"}
PORT_KEYS = {"internal", "external", "ip", "protocol"}
MOUNT_KEYS = {"volumeName", "containerPath", "readOnly"}
PASSWORD_KEYS = {"length", "special", "overrideSpecial", "upper", "lower", "numeric"}
LABEL_KEYS = {"label", "value"}


@dataclass
class Realised:
    resource: Resource
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    init_error: bool = False
    """Created, but the create failed afterwards (e.g. never healthy): in state anyway."""


class PartialCreate(AssertionError):
    """A create failed after the object came to exist; the engine keeps it in state."""

    def __init__(self, message: str, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.outputs = outputs


@dataclass
class UpResult:
    created: list[str] = field(default_factory=list[str])
    replaced: list[str] = field(default_factory=list[str])
    updated: list[str] = field(default_factory=list[str])
    unchanged: list[str] = field(default_factory=list[str])
    skipped: list[str] = field(default_factory=list[str])
    deleted: list[str] = field(default_factory=list[str])
    """Replaced objects deleted last (create before delete) and resources no longer declared."""
    seconds: float = 0.0
    steps: list[tuple[str, str, float]] = field(default_factory=list[tuple[str, str, float]])
    """(resource, action, seconds) in the order realised."""

    def changed(self) -> list[str]:
        return [*self.created, *self.replaced, *self.updated]


class Harness:
    """One e2e deployment: `up(run)` as often as needed, then `destroy()`."""

    def __init__(self, client: docker.DockerClient, session: str) -> None:
        self.client = client
        self.session = session
        self.state: dict[str, Realised] = {}
        self.pending_deletes: list[Realised] = []
        """Replaced by create-before-delete; deleted at the end of a successful walk."""
        self.built_images: set[str] = set()
        self.image_tags: set[str] = set()

    # ------------------------------------------------------------------ public

    def up(self, run: ProgramRun, *, replace: Iterable[str] = ()) -> UpResult:
        """Converge the engine to `run`; `replace` names resources to force-replace (--replace)."""
        forced = set(replace)
        started = time.monotonic()
        result = UpResult()
        subs = plan.Substitutions()
        providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
        for resource in plan.creation_order(run.resources):
            if resource.urn in providers:
                continue
            step = time.monotonic()
            inputs = subs.apply(resource.inputs)
            previous = self.state.get(resource.urn)
            if resource.type.startswith("aws:"):
                provider = providers.get(plan.provider_urn(resource))
                if provider is None:
                    # No aws Provider (pointed at the embedded store) recorded: nothing to call.
                    result.skipped.append(label(resource))
                    log.info("skipped %s: no aws provider recorded", label(resource))
                    continue
                s3 = aws_store.client(provider, subs.apply(provider.inputs))
                action, outputs = self._aws(s3, resource, inputs, previous)
            else:
                try:
                    action, outputs = self._realise(
                        resource, inputs, previous, resource.name in forced
                    )
                except PartialCreate as failed:
                    self.state[resource.urn] = Realised(resource, inputs, failed.outputs, True)
                    raise
            self.state[resource.urn] = Realised(resource, inputs, outputs)
            subs.learn(plan.mock_values(resource), outputs)
            getattr(result, action).append(label(resource))
            took = time.monotonic() - step
            result.steps.append((label(resource), action, took))
            log.info("%s %s %s (%.1fs)", action, resource.type, resource.name, took)
        self._delete_last(run, result)
        result.seconds = time.monotonic() - started
        return result

    def _delete_last(self, run: ProgramRun, result: UpResult) -> None:
        """GenerateDeletes: replaced objects, then what the program stopped declaring."""
        declared = {r.urn for r in run.resources}
        gone = [r for urn, r in self.state.items() if urn not in declared]
        for realised in [*reversed(self.pending_deletes), *reversed(gone)]:
            step = time.monotonic()
            if not realised.resource.retain_on_delete:  # DeleteStep.Apply: a no-op when retained
                with contextlib.suppress(NotFound):
                    self._delete(realised)
            if realised in gone:
                del self.state[realised.resource.urn]
            took = time.monotonic() - step
            result.deleted.append(label(realised.resource))
            result.steps.append((label(realised.resource), "deleted", took))
            log.info("deleted %s %s (%.1fs)", realised.resource.type, realised.resource.name, took)
        self.pending_deletes.clear()

    def outputs(self, kind_and_name: str) -> dict[str, Any]:
        """Real outputs of a realised resource named like `UpResult` does ("Container/app")."""
        for realised in self.state.values():
            if label(realised.resource) == kind_and_name:
                return realised.outputs
        raise KeyError(f"{kind_and_name} was not realised; have: {sorted(self._labels_seen())}")

    def _labels_seen(self) -> list[str]:
        return [label(r.resource) for r in self.state.values()]

    def container(self, name: str) -> Any:
        """The docker-py container realised for the recorded Container `name`."""
        return self.client.containers.get(self.outputs(f"Container/{name}")["id"])

    def destroy(self) -> None:
        """Remove everything this session created, in reverse order, then sweep by label."""
        for realised in reversed(list(self.state.values())):
            with contextlib.suppress(NotFound, APIError):
                self._delete(realised)
        flt: dict[str, str | list[str] | bool] = {"label": f"{SESSION_LABEL}={self.session}"}
        for c in self.client.containers.list(all=True, filters=flt):
            with contextlib.suppress(NotFound, APIError):
                c.remove(force=True)
        for n in self.client.networks.list(filters=flt):
            with contextlib.suppress(NotFound, APIError):
                n.remove()
        for v in self.client.volumes.list(filters=flt):
            with contextlib.suppress(NotFound, APIError):
                v.remove(force=True)
        for ref in [*self.image_tags, *self.built_images]:
            with contextlib.suppress(NotFound, APIError):
                self.client.images.remove(ref, noprune=False)
        self.state.clear()

    # ------------------------------------------------------------------ dispatch

    def _realise(
        self, r: Resource, inputs: dict[str, Any], previous: Realised | None, forced: bool
    ) -> tuple[str, dict[str, Any]]:
        if r.type == IMAGE:
            return self._image(r, inputs, previous)
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            return self._dynamic(r, inputs, previous, forced)
        creators = {
            NETWORK: self._create_network,
            VOLUME: self._create_volume,
            REMOTE_IMAGE: self._remote_image,
            CONTAINER: self._create_container,
            RANDOM_PASSWORD: self._random_password,
        }
        create = creators.get(r.type)
        if create is None:
            raise plan.UnmappedInput(r, "<resource type>", [*creators, IMAGE, "dynamic"])
        if previous is not None and not self._exists(previous):
            previous = None  # refresh: deleted behind our back, so the engine would create it
        if previous is not None and not forced and previous.inputs == inputs:
            # An init error with no diff is an empty update; it clears the error.
            return ("updated" if previous.init_error else "unchanged"), previous.outputs
        if previous is not None and delete_before_replace(r):
            self._delete(previous)
            return "replaced", create(r, inputs)
        if previous is None:
            return "created", create(r, inputs)
        try:
            outputs = create(r, inputs)
        except PartialCreate:
            self.pending_deletes.append(previous)  # old.Delete = true even on a partial failure
            raise
        self.pending_deletes.append(previous)
        return "replaced", outputs

    def _exists(self, realised: Realised) -> bool:
        """Refresh: does the realised object still exist on the engine?"""
        kind, rid = realised.resource.type, realised.outputs["id"]
        getter = {
            NETWORK: self.client.networks.get,
            VOLUME: self.client.volumes.get,
            CONTAINER: self.client.containers.get,
        }.get(kind)
        if getter is None:
            return True
        try:
            getter(rid)
        except NotFound:
            return False
        return True

    def _delete(self, realised: Realised) -> None:
        kind, rid = realised.resource.type, realised.outputs["id"]
        if kind == CONTAINER:
            grace = int(realised.inputs.get("destroyGraceSeconds") or 0)
            container = self.client.containers.get(rid)
            with contextlib.suppress(APIError):
                container.stop(timeout=grace)
            container.remove(force=True)
        elif kind == NETWORK:
            self.client.networks.get(rid).remove()
        elif kind == VOLUME:
            self.client.volumes.get(rid).remove(force=True)
        elif kind.startswith(plan.DYNAMIC_PREFIX):
            with contextlib.chdir(PROJECT_DIR):
                _provider(realised.inputs).delete(rid, realised.outputs)

    def _labels(self, r: Resource, recorded: list[dict[str, Any]] | None) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in recorded or []:
            plan.check_keys(r, item, LABEL_KEYS, "labels[].")
            found[str(item["label"])] = str(item["value"])
        return {**found, LABEL: "1", SESSION_LABEL: self.session}

    # ------------------------------------------------------------------ docker objects

    def _create_network(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, NETWORK_KEYS)
        net = self.client.networks.create(
            inputs["name"],
            driver="bridge",
            internal=bool(inputs.get("internal", False)),
            labels=self._labels(r, inputs.get("labels")),
        )
        return {"id": net.id, "name": inputs["name"]}

    def _create_volume(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, VOLUME_KEYS)
        volume = self.client.volumes.create(
            name=inputs["name"], labels=self._labels(r, inputs.get("labels"))
        )
        return {"id": volume.name, "name": volume.name}

    def _remote_image(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, REMOTE_IMAGE_KEYS)
        if inputs.get("keepLocally") is not True:
            raise plan.UnmappedInput(r, "keepLocally (only true is supported)", REMOTE_IMAGE_KEYS)
        name = str(inputs["name"])
        image = self.client.images.get(name)  # no registry: it must exist locally
        digests: list[str] = image.attrs.get("RepoDigests") or []
        repo_digest = digests[0] if digests else f"{name}@{image.id}"
        return {"id": f"{image.id}{name}", "imageId": image.id, "repoDigest": repo_digest}

    def _image(
        self, r: Resource, inputs: dict[str, Any], previous: Realised | None
    ) -> tuple[str, dict[str, Any]]:
        plan.check_keys(r, inputs, IMAGE_KEYS)
        if inputs.get("skipPush") is not True:
            raise plan.UnmappedInput(r, "skipPush (only true: no registry)", IMAGE_KEYS)
        build = dict(inputs["build"])
        plan.check_keys(r, build, BUILD_KEYS, "build.")
        if build.get("builderVersion", "BuilderBuildKit") != "BuilderBuildKit":
            raise plan.UnmappedInput(r, "build.builderVersion (only BuilderBuildKit)", BUILD_KEYS)
        tag = str(inputs["imageName"])
        with tempfile.TemporaryDirectory() as tmp:
            iidfile = Path(tmp) / "iid"
            cmd = [images.DOCKER_CLI, "build", "-q", "-t", tag, "--iidfile", str(iidfile)]
            context = Path(build["context"])
            if build.get("dockerfile"):
                cmd += ["-f", str(context / build["dockerfile"])]
            if build.get("target"):
                cmd += ["--target", str(build["target"])]
            if build.get("platform"):
                cmd += ["--platform", str(build["platform"])]
            for key, value in (build.get("args") or {}).items():
                cmd += ["--build-arg", f"{key}={value}"]
            cache_from = build.get("cacheFrom") or {}
            plan.check_keys(r, cache_from, {"images"}, "build.cacheFrom.")
            for ref in cache_from.get("images") or []:
                cmd += ["--cache-from", str(ref)]
            cmd.append(str(context))
            env = {**os.environ, "DOCKER_BUILDKIT": "1"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise AssertionError(f"build of {tag} failed:\n{done.stderr[-4000:]}")
            image_id = iidfile.read_text().strip()
        self.built_images.add(image_id)
        self.image_tags.add(tag)
        outputs = {"id": image_id, "repoDigest": image_id, "baseImageName": tag, "imageName": tag}
        if previous is None:
            return "created", outputs
        if previous.outputs["repoDigest"] == image_id and previous.inputs == inputs:
            return "unchanged", previous.outputs
        return "updated", outputs

    def _create_container(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, CONTAINER_KEYS)
        api = self.client.api
        networks: list[dict[str, Any]] = list(inputs.get("networksAdvanced") or [])
        for n in networks:
            plan.check_keys(r, n, NETWORK_ADV_KEYS, "networksAdvanced[].")
        ports: list[dict[str, Any]] = list(inputs.get("ports") or [])
        bindings: dict[int | str, Any] = {}
        for p in ports:
            plan.check_keys(r, p, PORT_KEYS, "ports[].")
            key = f"{int(p['internal'])}/{p.get('protocol') or 'tcp'}"
            bindings[key] = (str(p.get("ip") or "0.0.0.0"), int(p["external"]))  # noqa: S104 - provider default
        mounts: list[Mount] = []
        for v in inputs.get("volumes") or []:
            plan.check_keys(r, v, MOUNT_KEYS, "volumes[].")
            mounts.append(
                Mount(
                    target=str(v["containerPath"]),
                    source=str(v["volumeName"]),
                    type="volume",
                    read_only=bool(v.get("readOnly", False)),
                )
            )
        host_config = api.create_host_config(
            port_bindings=bindings or None,
            mounts=mounts or None,
            restart_policy={"Name": inputs["restart"]} if inputs.get("restart") else None,
            mem_limit=int(inputs["memory"]) * 1024 * 1024 if inputs.get("memory") else None,
            network_mode=networks[0]["name"] if networks else None,
        )
        # docker-py takes {network: EndpointConfig}; its stubs say a single EndpointConfig.
        endpoints: Any = {
            n["name"]: api.create_endpoint_config(aliases=n.get("aliases") or None)
            for n in networks[:1]
        }
        networking = api.create_networking_config(endpoints) if networks else None
        hc = inputs.get("healthcheck")
        healthcheck = None
        if hc:
            plan.check_keys(r, hc, HEALTHCHECK_KEYS, "healthcheck.")
            healthcheck = {
                "test": list(hc["tests"]),
                "interval": plan.go_duration_ns(hc.get("interval") or "0s"),
                "timeout": plan.go_duration_ns(hc.get("timeout") or "0s"),
                "start_period": plan.go_duration_ns(hc.get("startPeriod") or "0s"),
                "retries": int(hc.get("retries") or 0),
            }
        name = str(inputs.get("name") or f"{r.name}-{secrets.token_hex(4)[:AUTONAME_HEX]}")
        created = api.create_container(
            image=inputs["image"],
            name=name,
            command=inputs.get("command") or None,
            entrypoint=inputs.get("entrypoints") or None,
            user=inputs.get("user") or "",
            environment=list(inputs.get("envs") or []),
            labels=self._labels(r, inputs.get("labels")),
            ports=[(int(p["internal"]), p.get("protocol") or "tcp") for p in ports] or None,
            healthcheck=healthcheck,
            stop_signal=inputs.get("stopSignal") or None,
            stop_timeout=int(inputs["stopTimeout"]) if inputs.get("stopTimeout") else None,
            host_config=host_config,
            networking_config=networking,
        )
        cid = str(created["Id"])
        outputs = {"id": cid, "name": name}
        for n in networks[1:]:
            api.connect_container_to_network(cid, n["name"], aliases=n.get("aliases") or None)
        uploads: list[dict[str, Any]] = list(inputs.get("uploads") or [])
        if uploads:
            api.put_archive(cid, "/", _upload_archive(r, uploads))
        api.start(cid)
        container = self.client.containers.get(cid)
        try:
            if inputs.get("wait"):
                _wait_healthy(r, container, float(inputs.get("waitTimeout") or 60))
            if inputs.get("mustRun", True):
                container.reload()
                if container.status != "running":
                    raise AssertionError(
                        f"container {r.name} is {container.status}, mustRun is set"
                    )
        except AssertionError as failed:  # after SetId: the provider reports a partial create
            raise PartialCreate(str(failed), outputs) from None
        return outputs

    # ------------------------------------------------------------------ others

    def _random_password(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, PASSWORD_KEYS)
        alphabet = ""
        if inputs.get("upper", True):
            alphabet += string.ascii_uppercase
        if inputs.get("lower", True):
            alphabet += string.ascii_lowercase
        if inputs.get("numeric", True):
            alphabet += string.digits
        if inputs.get("special", True):
            alphabet += inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
        result = "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))
        hashed = bcrypt.hashpw(result.encode(), bcrypt.gensalt()).decode()
        return {"id": "none", "result": result, "bcryptHash": hashed}

    def _dynamic(
        self, r: Resource, inputs: dict[str, Any], previous: Realised | None, forced: bool
    ) -> tuple[str, dict[str, Any]]:
        """Call the dill-pickled provider exactly as pulumi's dynamic provider host does."""
        provider = _provider(inputs)
        with contextlib.chdir(PROJECT_DIR):
            olds_in = previous.inputs if previous else {}
            checked = provider.check(olds_in, inputs)
            if checked.failures:
                problems = "; ".join(f"{f.property}: {f.reason}" for f in checked.failures)
                raise AssertionError(f"{r.type} {r.name}: check failed: {problems}")
            news = dict(checked.inputs or inputs)
            news["__provider"] = inputs["__provider"]
            if previous is None:
                created = provider.create(news)
                return "created", _dyn_outputs(created.id, created.outs, news)
            rid = previous.outputs["id"]
            diff = provider.diff(rid, previous.outputs, news)
            if forced or diff.replaces:
                provider.delete(rid, previous.outputs)
                created = provider.create(news)
                return "replaced", _dyn_outputs(created.id, created.outs, news)
            if diff.changes is False or (diff.changes is None and previous.inputs == inputs):
                return "unchanged", previous.outputs
            updated = provider.update(rid, previous.outputs, news)
            return "updated", _dyn_outputs(rid, updated.outs, news)

    def _aws(
        self, s3: Any, r: Resource, inputs: dict[str, Any], previous: Realised | None
    ) -> tuple[str, dict[str, Any]]:
        """S3 settings converge in place (PUT); the store itself dies with its container."""
        if previous is not None and previous.inputs == inputs:
            return "unchanged", previous.outputs
        outputs = aws_store.realise(s3, r, inputs)
        return ("updated" if previous else "created"), outputs


def delete_before_replace(r: Resource) -> bool:
    """The program's option when set, else the provider's answer (see the module docstring)."""
    if r.delete_before_replace is not None:
        return r.delete_before_replace
    return r.type == CONTAINER


def _upload_archive(r: Resource, uploads: list[dict[str, Any]]) -> bytes:
    """The provider's upload: one tar entry per file, mode 0644, extracted at /."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for upload in uploads:
            plan.check_keys(r, upload, UPLOAD_KEYS, "uploads[].")
            data = str(upload["content"]).encode()
            info = tarfile.TarInfo(str(upload["file"]).lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def label(r: Resource) -> str:
    """How results name a resource: type's last segment and name, e.g. "Container/app"."""
    return f"{r.type.rsplit(':', 1)[-1]}/{r.name}"


def _provider(props: Mapping[str, Any]) -> Any:
    encoded = props.get("__provider")
    if not isinstance(encoded, str):
        raise AssertionError("dynamic resource without a __provider input")
    # Our own program's provider, pickled moments ago by the recorded run: trusted input.
    return dill.loads(base64.b64decode(encoded))  # noqa: S301  # pyright: ignore[reportUnknownMemberType]


def _dyn_outputs(rid: str | None, outs: Mapping[str, Any] | None, news: Mapping[str, Any]) -> Any:
    base = dict(outs) if outs is not None else dict(news)
    return {**base, "id": rid, "__provider": news["__provider"]}


def _wait_healthy(r: Resource, container: Any, timeout: float) -> None:
    """Like the provider's `wait`: healthy within `timeout`, else fail with the last logs."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        state = container.attrs["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return
        if (
            health == "unhealthy"
            or state["Status"] in {"exited", "dead"}
            or (time.monotonic() > deadline)
        ):
            logs = container.logs(tail=30).decode(errors="replace")
            raise AssertionError(
                f"container {r.name} not healthy (status {state['Status']}, health {health}) "
                f"within {timeout:g}s; last logs:\n{logs}"
            )
        time.sleep(1)

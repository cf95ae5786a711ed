"""Realise a mocked run's recorded resources on a real Docker engine, as `pulumi` would.

Test infrastructure, not the product path (the product path is `pulumi up`). No
Pulumi engine or provider plugin can be installed where the tests run, so
`tests/support/program.run_program` evaluates the real program under mocks and
records every registration; `Harness` then plays the engine and the providers
against that record. Mocked outputs (ids, digests, random results) are replaced
by the real ones in every later input (`plan.Substitutions`). Every behaviour
below is the upstream one, read from these sources (versions: pulumi 3.2xx,
pulumi-docker 5.1-5.2 = kreuzwerker/terraform-provider-docker v4.5.0, pulumi-random 4.x):

Engine (pulumi/pulumi `pkg/resource/deploy/step_generator.go`)
- `up` never refreshes: `continueStepsFromDiff` diffs the program's inputs against
  the *state*; an object deleted behind the engine's back stays "same" until
  `refresh` (`GenerateRefreshes` → provider `Read`; an empty id drops it from state).
- Every resource with old state is diffed by its provider (`diff` → `diffResource`,
  no short cut on equal inputs); a `DiffUnknown` answer falls back to comparing inputs.
- `applyReplaceOnChanges`: a changed key listed in `replaceOnChanges` turns an
  update into a replacement.
- Check: a new resource, one re-created by a delete-before-replace cascade and a
  `--replace` target are checked without old inputs; a replacement found by the
  diff is checked again without them ("we need to recompute the default values"):
  that is where an autonamed container gets its new name.
- Replacement order: create-before-delete by default — the new object is created,
  dependents are updated, and the old one is deleted *after all creates and
  updates* (`GenerateDeletes`, "pending delete"; it survives a failed `up` and is
  deleted at the end of the next successful one — `deployment_executor.go`,
  `performDeletes`; pulumi 3.x no longer retires pending deletes at the *start* of
  an up). `deleteBeforeReplace` (the resource option when the program set it,
  `deleteBeforeReplaceDefined`, else the provider's answer) deletes first, and with
  it every dependent whose inputs come from the replaced resource and would be
  replaced by that change (`calculateDependentReplacements`: diff with those inputs
  unknown).
- Init errors: a create that fails after the object exists keeps it in state with
  the error (pulumi-terraform-bridge `pkg/tfbridge/provider.go`, `Create` →
  `initializationError`); the next `up` with no diff runs an *empty update*
  ("attempt to continue awaiting initialization"), which for a container waits
  for nothing and succeeds (`Update` returns the old state when the TF diff is nil).
- Resources in state but no longer in the program are deleted at the end;
  `retainOnDelete` skips the provider's delete; `protect` refuses it.

docker.Container (`internal/provider/resource_docker_container.go` schema,
`resource_docker_container_funcs.go`; pulumi-docker `provider/resources.go`):
- Autonaming (`prov.SetAutonaming(255, "-")`): without a `name` input, Check names
  the container `<resource name>-<7 random hex>` and keeps the old name on later
  checks (pulumi-terraform-bridge `pkg/tfbridge/schema.go`, defaults reused only when
  the old value came from the autonamer) — so a replacement gets a new name.
- Diff answers delete-before-replace for every replacement (resources.go declares
  `DeleteBeforeReplace: true` for docker_container; bridge `provider.go` `Diff`:
  `len(replaces) > 0 && (res.Schema.DeleteBeforeReplace ||
  nameRequiresDeleteBeforeReplace(...))`); networks and volumes get it when the
  program set their `name` (`nameRequiresDeleteBeforeReplace`). Only an explicit
  `delete_before_replace=False` in the program gives a container create-before-delete.
- ForceNew (replace): name, image, env, command, entrypoint, user, labels,
  networks_advanced, ports, volumes, stop_signal, stop_timeout, read_only.
- In place (`resourceDockerContainerUpdate` → `ContainerUpdate`): restart, memory,
  memory_swap (sent only when set; Memory without MemorySwap above the swap set at
  create is refused by Docker); must_run false → true starts the container.
- State only (no Docker call): healthcheck and tmpfs (not ForceNew and not in the
  update list: hence `replace_on_changes=["healthcheck", "tmpfs"]`), wait, wait_timeout,
  destroy_grace_seconds.
- Create (`resourceDockerContainerCreate`): HostConfig.ReadonlyRootfs = read_only,
  HostConfig.Tmpfs = the tmpfs map as given; `ContainerCreate`, `upload` files copied
  in (mode 0644, 0744 when executable), `ContainerStart`, then with `wait` poll
  `ContainerInspect` every second until `Health.Status == healthy` or `wait_timeout`
  — no early stop on unhealthy or exit, no logs: "container failed to be in healthy
  state"; must_run is not checked. The `Read` that ends Create/refresh sets
  must_run=false in state for a stopped container (drift the next `up` turns into
  a start).
- Delete: `ContainerStop` with `destroy_grace_seconds` (0 = killed at once), then
  remove; "No such container" is ignored. Update of a vanished container fails.
- Read: a vanished container is dropped from state.
docker.Network / docker.Volume: every input ForceNew; Read drops vanished objects.
docker.RemoteImage (`resource_docker_image*.go`): name ForceNew, keep_locally state
only; no registry here, so the image must exist locally; Read drops a vanished one.
docker.Image (pulumi-docker `provider/provider.go`, `provider/image.go`): `Check`
inserts `build.platform = linux/<GOARCH of the machine running pulumi>` when unset
and `build.contextDigest` (see build_context.py); any input change → `Update`
(rebuild), never replace; with skip_push, id = image name and repoDigest = the
local image id; `Read` returns state unchanged; `Delete` is a no-op (old builds
stay on the host). Paths are resolved from the project directory (plugin cwd).
random.RandomPassword (hashicorp/terraform-provider-random `resource_password.go`):
every input RequiresReplace; Read and Delete touch nothing.
Dynamic providers: run in a separate host process in the project directory,
unpickling `__provider` from new inputs (check/diff/create/update) or from state
(read/delete) — see dynamic_host.py.
Explicit provider resources (`pulumi:providers:*`) and any type or input not listed
in `plan.RULES` / the keys below are not emulated: they fail loudly (UnmappedInput).

What the harness adds for tests only: labels `escalafin.test=1` and
`escalafin.e2e-session=<session>` on containers, networks and volumes, and
`cleanup()`, which removes everything the session created (retained volumes and
built images included) — unlike `destroy()`, which does what `pulumi destroy` does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import platform
import secrets
import string
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from tests.e2e import build_context, plan
from tests.e2e.dynamic_host import UNKNOWN, HostProcess, ProviderError
from tests.e2e.plan import CONTAINER, IMAGE, NETWORK, RANDOM_PASSWORD, REMOTE_IMAGE, VOLUME
from tests.support import images
from tests.support.docker_env import LABEL
from tests.support.program import PROJECT_DIR, ProgramRun, Resource

log = logging.getLogger("tests.e2e.harness")

SESSION_LABEL = "escalafin.e2e-session"
IMAGE_KEYS = {"imageName", "skipPush", "buildOnPreview", "build"}
BUILD_KEYS = {
    "context", "dockerfile", "target", "platform", "args", "builderVersion", "cacheFrom",
    "contextDigest",
}  # fmt: skip
HEALTHCHECK_KEYS = {"tests", "interval", "timeout", "startPeriod", "startInterval", "retries"}
NETWORK_ADV_KEYS = {"name", "aliases"}
PORT_KEYS = {"internal", "external", "ip", "protocol"}
MOUNT_KEYS = {"volumeName", "containerPath", "readOnly"}
LABEL_KEYS = {"label", "value"}
UPLOAD_KEYS = {"file", "content", "executable"}
AUTONAME_HEX = 7  # pulumi-terraform-bridge AutoName: <name><separator><7 random hex>
MIB = 1024 * 1024
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
WAIT_ERROR = "container failed to be in healthy state"


class DeploymentError(AssertionError):
    """A step failed: the message is what `pulumi up` would print for the resource."""


class InitError(DeploymentError):
    """The object was created but failed to initialise: it stays in state with the error."""

    def __init__(self, message: str, realised: Realised) -> None:
        super().__init__(message)
        self.realised = realised


@dataclass
class Realised:
    resource: Resource
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    init_errors: list[str] = field(default_factory=list[str])
    deleted: bool = False
    """Deleted early by a delete-before-replace cascade; re-created when registered."""


@dataclass
class UpResult:
    created: list[str] = field(default_factory=list[str])
    replaced: list[str] = field(default_factory=list[str])
    updated: list[str] = field(default_factory=list[str])
    unchanged: list[str] = field(default_factory=list[str])
    deleted: list[str] = field(default_factory=list[str])
    """Deleted at the end of the up: old objects of replacements (pending deletes), then
    resources the program no longer declares."""
    seconds: float = 0.0
    steps: list[tuple[str, str, float]] = field(default_factory=list[tuple[str, str, float]])
    """(resource, action, seconds) in the order realised."""

    def changed(self) -> list[str]:
        return [*self.created, *self.replaced, *self.updated, *self.deleted]


@dataclass
class RefreshResult:
    gone: list[str] = field(default_factory=list[str])
    """Dropped from state: the object no longer exists."""
    drifted: list[str] = field(default_factory=list[str])
    """Still there, but what the provider read differs from state."""


class Harness:
    """One stack's state: `up(run)`, `refresh()`, `destroy()` as often as needed, `cleanup()`."""

    def __init__(
        self, client: docker.DockerClient, session: str, project_dir: Path = PROJECT_DIR
    ) -> None:
        self.client = client
        self.session = session
        self.project_dir = project_dir
        self.state: dict[str, Realised] = {}
        self.pending_deletes: list[Realised] = []
        self._host: HostProcess | None = None

    # ------------------------------------------------------------------ engine operations

    def up(self, run: ProgramRun, *, replace: Iterable[str] = ()) -> UpResult:
        """`pulumi up` of `run`; `replace` names resources to force-replace (`--replace`)."""
        forced = set(replace)
        started = time.monotonic()
        result = UpResult()
        subs = plan.Substitutions()
        registered: set[str] = set()
        with self._provider_host():
            for r in plan.creation_order(run.resources):
                if r.type.startswith("pulumi:providers:"):
                    raise plan.UnmappedInput(r, "<explicit provider>", ["the default providers"])
                registered.add(r.urn)
                step = time.monotonic()
                try:
                    action = self._register(r, subs.apply(r.inputs), r.name in forced)
                except InitError as exc:
                    self.state[r.urn] = exc.realised
                    raise DeploymentError(f"{label(r)}: {exc}") from None
                except DeploymentError as exc:
                    raise DeploymentError(f"{label(r)}: {exc}") from None
                realised = self.state[r.urn]
                subs.learn(plan.mock_values(r), realised.outputs)
                getattr(result, action).append(label(r))
                took = time.monotonic() - step
                result.steps.append((label(r), action, took))
                log.info("%s %s (%.1fs)", action, label(r), took)
            self._delete_leftovers(registered, result)
        result.seconds = time.monotonic() - started
        return result

    def refresh(self, project_dir: Path | None = None) -> RefreshResult:
        """`pulumi refresh`: each provider reads its object; vanished ones leave the state."""
        result = RefreshResult()
        with self._provider_host(project_dir):
            for urn, realised in list(self.state.items()):
                if realised.deleted:
                    continue
                read = self._read(realised)
                if read is None:
                    del self.state[urn]
                    result.gone.append(label(realised.resource))
                elif (read.inputs, read.outputs) != (realised.inputs, realised.outputs):
                    self.state[urn] = read
                    result.drifted.append(label(realised.resource))
        log.info("refresh: gone %s, drifted %s", result.gone, result.drifted)
        return result

    def destroy(self) -> list[str]:
        """`pulumi destroy`: delete in reverse order; retained objects stay, images stay."""
        everything = [*self.state.values(), *self.pending_deletes]
        protected = [label(r.resource) for r in everything if r.resource.protect]
        if protected:
            raise DeploymentError(f"refusing to delete protected resources: {protected}")
        deleted: list[str] = []
        with self._provider_host():
            for realised in reversed(everything):
                if not realised.deleted:
                    self._delete(realised)
                deleted.append(label(realised.resource))
        self.state.clear()
        self.pending_deletes.clear()
        return deleted

    def cleanup(self) -> None:
        """Test teardown: remove every object of this session, retained or not, and its images."""
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
        # Untag only this session's names: an identical build elsewhere (another test,
        # another run) can share the image id, and removing by id would take its tags too.
        tags = [t for i in self.client.images.list() for t in i.tags if t.startswith(self.session)]
        for tag in tags:
            with contextlib.suppress(NotFound, APIError):
                self.client.images.remove(tag)
        self.state.clear()
        self.pending_deletes.clear()

    # ------------------------------------------------------------------ lookups

    def outputs(self, kind_and_name: str) -> dict[str, Any]:
        """Real outputs of a realised resource named like `UpResult` does ("Container/app")."""
        for realised in self.state.values():
            if label(realised.resource) == kind_and_name:
                return realised.outputs
        raise KeyError(f"{kind_and_name} is not in state; have: {self.labels()}")

    def labels(self) -> list[str]:
        return [label(r.resource) for r in self.state.values()]

    def container(self, name: str) -> Any:
        """The docker-py container realised for the recorded Container `name`."""
        return self.client.containers.get(self.outputs(f"Container/{name}")["id"])

    # ------------------------------------------------------------------ one registration

    def _register(self, r: Resource, program: dict[str, Any], forced: bool) -> str:
        previous = self.state.get(r.urn)
        recreated = previous is not None and previous.deleted  # by a delete-before-replace cascade
        inputs = self._check(r, program, None if recreated or forced else previous)
        if previous is not None and previous.deleted:
            self.state[r.urn] = self._create(r, inputs)
            return "replaced"
        if previous is None:
            self.state[r.urn] = self._create(r, inputs)
            return "created"
        diff = plan.Diff(("id",), ("id",)) if forced else self._diff(previous, r, inputs)
        if diff.replace:
            if not forced:  # the defaults the check carried over from the old one are recomputed
                inputs = self._check(r, program, None)
            self._replace(previous, r, inputs, diff)
            return "replaced"
        if diff.changed or previous.init_errors:
            self.state[r.urn] = self._update(previous, r, inputs, diff)
            return "updated"
        # Same: state keeps its inputs/outputs, re-registered with the new options.
        self.state[r.urn] = Realised(r, previous.inputs, previous.outputs)
        return "unchanged"

    def _check(
        self, r: Resource, inputs: dict[str, Any], previous: Realised | None
    ) -> dict[str, Any]:
        """The provider's Check: defaults and autonames (`previous` None: no old inputs)."""
        if r.type == IMAGE:
            return self._image_check(r, inputs)
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            return self._dynamic_check(r, inputs, previous)
        if r.type == CONTAINER and not inputs.get("name"):
            if previous is not None and not previous.resource.inputs.get("name"):
                return {**inputs, "name": previous.inputs["name"]}  # the autoname stays
            return {**inputs, "name": _autoname(r)}
        return inputs

    def _diff(self, previous: Realised, r: Resource, inputs: dict[str, Any]) -> plan.Diff:
        if r.type == IMAGE:
            changed = tuple(k for k in sorted({*previous.inputs, *inputs})
                            if previous.inputs.get(k) != inputs.get(k))  # fmt: skip
            return plan.Diff(changed)
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            return self._dynamic_diff(previous, inputs)
        return plan.schema_diff(r, previous.inputs, inputs)

    def _replace(
        self, previous: Realised, r: Resource, inputs: dict[str, Any], diff: plan.Diff
    ) -> None:
        dbr = (
            r.delete_before_replace
            if r.delete_before_replace_defined
            else diff.delete_before_replace
        )
        if previous.resource.protect:
            raise DeploymentError(f"unable to replace {label(r)}: it is protected")
        if dbr:
            for dependent in self._dependent_replacements(previous):
                self._delete(dependent)
                dependent.deleted = True
            self._delete(previous)
            previous.deleted = True
            self.state[r.urn] = self._create(r, inputs)
            return
        try:
            created = self._create(r, inputs)
        except InitError:
            self.pending_deletes.append(previous)  # the new one exists: the old one waits
            raise
        self.state[r.urn] = created
        self.pending_deletes.append(previous)  # deleted after every create and update

    def _dependent_replacements(self, root: Realised) -> list[Realised]:
        """`calculateDependentReplacements`: dependents a change of `root` would replace."""
        replace_set = {root.resource.urn}
        found: list[Realised] = []
        for realised in list(self.state.values()):
            if realised is root or realised.deleted:
                continue
            keys = [
                k
                for k, urns in realised.resource.property_dependencies.items()
                if replace_set & set(urns) and k in realised.inputs
            ]
            if keys and self._would_replace(realised, keys):
                found.append(realised)
                replace_set.add(realised.resource.urn)
        return found

    def _would_replace(self, realised: Realised, keys: list[str]) -> bool:
        r = realised.resource
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            news = {**realised.inputs, **dict.fromkeys(keys, UNKNOWN)}
            return self._dynamic_diff(realised, news).replace
        if r.type == IMAGE:
            return False  # pulumi-docker's Image never asks for replacement
        return plan.schema_diff(r, realised.inputs, realised.inputs, unknown=keys).replace

    def _delete_leftovers(self, registered: set[str], result: UpResult) -> None:
        """`GenerateDeletes`: pending deletes of replacements, then resources left the program."""
        leftovers = [self.state[u] for u in self.state if u not in registered]
        for realised in [*reversed(self.pending_deletes), *reversed(leftovers)]:
            if realised.resource.protect:
                raise DeploymentError(f"refusing to delete protected {label(realised.resource)}")
            step = time.monotonic()
            if not realised.deleted:
                self._delete(realised)
            if realised in self.pending_deletes:
                self.pending_deletes.remove(realised)
            else:
                del self.state[realised.resource.urn]
            took = time.monotonic() - step
            result.deleted.append(label(realised.resource))
            result.steps.append((label(realised.resource), "deleted", took))
            log.info("deleted %s (%.1fs)", label(realised.resource), took)

    # ------------------------------------------------------------------ provider dispatch

    def _create(self, r: Resource, inputs: dict[str, Any]) -> Realised:
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            created = self._call("create", props=inputs)
            return Realised(r, inputs, _dyn_outputs(created["id"], created["outs"]))
        creators = {
            NETWORK: self._create_network,
            VOLUME: self._create_volume,
            REMOTE_IMAGE: self._remote_image,
            IMAGE: self._build_image,
            CONTAINER: self._create_container,
            RANDOM_PASSWORD: self._random_password,
        }
        create = creators.get(r.type)
        if create is None:
            raise plan.UnmappedInput(r, "<resource type>", [*creators, "dynamic"])
        created = Realised(r, inputs, create(r, inputs))
        if r.type == CONTAINER:  # Create ends with the provider's Read
            return self._read_container(created, self.client.containers.get(created.outputs["id"]))
        return created

    def _update(
        self, previous: Realised, r: Resource, inputs: dict[str, Any], diff: plan.Diff
    ) -> Realised:
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            rid = previous.outputs["id"]
            updated = self._call("update", id=rid, olds=previous.outputs, news=inputs)
            return Realised(r, inputs, _dyn_outputs(rid, updated["outs"]))
        if r.type == IMAGE:
            return Realised(r, inputs, self._build_image(r, inputs))
        if r.type == CONTAINER:
            self._update_container(previous, inputs, diff)
        # Every other change of these types is state only (see plan.RULES).
        return Realised(r, inputs, previous.outputs)

    def _delete(self, realised: Realised) -> None:
        r = realised.resource
        if r.retain_on_delete:
            log.info("retained %s (retainOnDelete): removed from state only", label(r))
            return
        kind, rid = r.type, str(realised.outputs.get("id"))
        if kind == CONTAINER:
            self._delete_container(realised)
        elif kind == NETWORK:
            self.client.networks.get(rid).remove()
        elif kind == VOLUME:
            self.client.volumes.get(rid).remove(force=True)
        elif kind == REMOTE_IMAGE and realised.inputs.get("keepLocally") is not True:
            raise plan.UnmappedInput(r, "keepLocally (only true is supported)", ["keepLocally"])
        elif kind.startswith(plan.DYNAMIC_PREFIX):
            self._call("delete", id=rid, props=realised.outputs)
        # IMAGE: pulumi-docker's Delete is a no-op; RANDOM_PASSWORD: nothing to delete.

    def _read(self, realised: Realised) -> Realised | None:
        r = realised.resource
        rid = realised.outputs.get("id")
        if r.type.startswith(plan.DYNAMIC_PREFIX):
            read = self._call("read", id=rid, props=realised.outputs)
            if not read["id"]:
                return None
            inputs = read["inputs"] if read["inputs"] is not None else realised.inputs
            return Realised(r, inputs, _dyn_outputs(read["id"], read["outs"]))
        getters = {
            NETWORK: self.client.networks.get,
            VOLUME: self.client.volumes.get,
            CONTAINER: self.client.containers.get,
            REMOTE_IMAGE: lambda _id: self.client.images.get(str(realised.inputs["name"])),
        }
        getter = getters.get(r.type)
        if getter is None:
            return realised  # Image and RandomPassword: Read returns the state as it is
        try:
            found = getter(rid)
        except NotFound:
            return None
        if r.type == CONTAINER:
            return self._read_container(realised, found)
        return realised

    # ------------------------------------------------------------------ dynamic resources

    @contextlib.contextmanager
    def _provider_host(self, project_dir: Path | None = None) -> Iterator[None]:
        with HostProcess(project_dir or self.project_dir) as host:
            self._host = host
            try:
                yield
            finally:
                self._host = None

    def _call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._host is not None, "dynamic provider called outside an engine operation"
        try:
            return self._host.call(op, **fields)
        except ProviderError as exc:
            raise DeploymentError(f"dynamic provider {op} failed: {exc}") from None

    def _dynamic_check(
        self, r: Resource, inputs: dict[str, Any], previous: Realised | None
    ) -> dict[str, Any]:
        checked = self._call("check", olds=previous.inputs if previous else {}, news=inputs)
        if checked["failures"]:
            problems = "; ".join(f"{f['property']}: {f['reason']}" for f in checked["failures"])
            raise DeploymentError(f"check failed: {problems}")
        return dict(checked["inputs"])

    def _dynamic_diff(self, previous: Realised, news: dict[str, Any]) -> plan.Diff:
        answer = self._call("diff", id=previous.outputs["id"], olds=previous.outputs, news=news)
        changes = answer["changes"]
        if changes is None:  # DiffUnknown: the engine compares inputs
            changes = previous.inputs != news
        return plan.Diff(
            ("*",) if changes else (),
            tuple(answer["replaces"]),
            bool(answer["delete_before_replace"]),
        )

    # ------------------------------------------------------------------ docker objects

    def _labels(self, r: Resource, recorded: list[dict[str, Any]] | None) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in recorded or []:
            plan.check_keys(r, item, LABEL_KEYS, "labels[].")
            found[str(item["label"])] = str(item["value"])
        return {**found, LABEL: "1", SESSION_LABEL: self.session}

    def _create_network(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, plan.NETWORK_RULES)
        net = self.client.networks.create(
            inputs["name"],
            driver="bridge",
            internal=bool(inputs.get("internal", False)),
            labels=self._labels(r, inputs.get("labels")),
        )
        return {"id": net.id, "name": inputs["name"]}

    def _create_volume(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, plan.VOLUME_RULES)
        volume = self.client.volumes.create(
            name=inputs["name"], labels=self._labels(r, inputs.get("labels"))
        )
        return {"id": volume.name, "name": volume.name}

    def _remote_image(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, plan.REMOTE_IMAGE_RULES)
        if inputs.get("keepLocally") is not True:
            raise plan.UnmappedInput(r, "keepLocally (only true is supported)", ["keepLocally"])
        name = str(inputs["name"])
        image = self.client.images.get(name)  # no registry: it must exist locally
        digests: list[str] = image.attrs.get("RepoDigests") or []
        repo_digest = digests[0] if digests else f"{name}@{image.id}"
        return {"id": f"{image.id}{name}", "imageId": image.id, "repoDigest": repo_digest}

    def _image_check(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        """pulumi-docker `Check`: default platform, context digest, skipPush/builder rules."""
        plan.check_keys(r, inputs, IMAGE_KEYS)
        if inputs.get("skipPush") is not True:
            raise plan.UnmappedInput(r, "skipPush (only true: no registry)", IMAGE_KEYS)
        build = dict(inputs["build"])
        plan.check_keys(r, build, BUILD_KEYS, "build.")
        if build.get("builderVersion", "BuilderBuildKit") != "BuilderBuildKit":
            raise plan.UnmappedInput(r, "build.builderVersion (only BuilderBuildKit)", BUILD_KEYS)
        context = self.project_dir / str(build.get("context") or ".")
        dockerfile = self.project_dir / str(build.get("dockerfile") or context / "Dockerfile")
        if not build.get("platform"):
            build["platform"] = f"linux/{GOARCH[platform.machine().lower()]}"
        build["contextDigest"] = build_context.digest(context, dockerfile)
        return {**inputs, "build": build}

    def _build_image(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        build = dict(inputs["build"])
        tag = str(inputs["imageName"])
        with tempfile.TemporaryDirectory() as tmp:
            iidfile = Path(tmp) / "iid"
            cmd = [images.DOCKER_CLI, "build", "-q", "-t", tag, "--iidfile", str(iidfile)]
            if build.get("dockerfile"):
                cmd += ["-f", str(build["dockerfile"])]
            if build.get("target"):
                cmd += ["--target", str(build["target"])]
            cmd += ["--platform", str(build["platform"])]
            for key, value in (build.get("args") or {}).items():
                cmd += ["--build-arg", f"{key}={value}"]
            cache_from = build.get("cacheFrom") or {}
            plan.check_keys(r, cache_from, {"images"}, "build.cacheFrom.")
            for ref in cache_from.get("images") or []:
                cmd += ["--cache-from", str(ref)]
            cmd.append(str(build.get("context") or "."))
            env = {**os.environ, "DOCKER_BUILDKIT": "1"}
            done = subprocess.run(
                cmd, capture_output=True, text=True, env=env, cwd=self.project_dir, check=False
            )
            if done.returncode != 0:
                raise DeploymentError(f"build of {tag} failed:\n{done.stderr[-4000:]}")
            image_id = iidfile.read_text().strip()
        return {
            "id": tag,
            "repoDigest": image_id,
            "baseImageName": tag,
            "imageName": tag,
            "platform": build["platform"],
        }

    def _create_container(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, plan.CONTAINER_RULES)
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
        swap = int(inputs.get("memorySwap") or 0)
        host_config = api.create_host_config(
            port_bindings=bindings or None,
            mounts=mounts or None,
            read_only=bool(inputs.get("readOnly", False)),
            tmpfs={str(k): str(v) for k, v in (inputs.get("tmpfs") or {}).items()} or None,
            restart_policy=_restart_policy(inputs),
            mem_limit=int(inputs["memory"]) * MIB if inputs.get("memory") else None,
            memswap_limit=(swap * MIB if swap > 0 else swap) if swap else None,
            network_mode=networks[0]["name"] if networks else None,
        )
        # docker-py takes {network: EndpointConfig}; its stubs say a single EndpointConfig.
        endpoints: Any = {
            n["name"]: api.create_endpoint_config(aliases=n.get("aliases") or None)
            for n in networks[:1]
        }
        networking = api.create_networking_config(endpoints) if networks else None
        hc = inputs.get("healthcheck")
        healthcheck: Any = None
        if hc:
            plan.check_keys(r, hc, HEALTHCHECK_KEYS, "healthcheck.")
            healthcheck = {
                "test": list(hc["tests"]),
                "interval": plan.go_duration_ns(hc.get("interval") or "0s"),
                "timeout": plan.go_duration_ns(hc.get("timeout") or "0s"),
                "start_period": plan.go_duration_ns(hc.get("startPeriod") or "0s"),
                "retries": int(hc.get("retries") or 0),
            }
        # docker-py's stubs say str | list[str]; None (the image's own) is what it sends.
        command: Any = inputs.get("command") or None
        config = api.create_container_config(
            image=inputs["image"],
            command=command,
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
        if hc and hc.get("startInterval"):  # docker-py has no parameter for it (API 1.44+)
            config["Healthcheck"]["StartInterval"] = plan.go_duration_ns(hc["startInterval"])
        try:
            created = api.create_container_from_config(config, inputs["name"])
        except APIError as exc:
            raise DeploymentError(f"unable to create container: {exc}") from None
        cid = str(created["Id"])
        outputs = {"id": cid, "name": inputs["name"]}
        # From here on the container exists: a failure is an init error, kept in state.
        try:
            for n in networks[1:]:
                api.connect_container_to_network(cid, n["name"], aliases=n.get("aliases") or None)
            uploads: list[dict[str, Any]] = list(inputs.get("uploads") or [])
            if uploads:
                api.put_archive(cid, "/", _upload_archive(r, uploads))
            api.start(cid)
            if inputs.get("wait"):
                timeout = float(inputs.get("waitTimeout") or 60)
                _wait_healthy(self.client.containers.get(cid), timeout)
        except (APIError, DeploymentError) as exc:
            failed = Realised(r, inputs, outputs, init_errors=[str(exc)])
            raise InitError(str(exc), failed) from None
        return outputs

    def _read_container(self, realised: Realised, container: Any) -> Realised:
        """`resourceDockerContainerRead`: a stopped container with must_run drifts to false."""
        container.reload()
        inputs = dict(realised.inputs)
        if not container.attrs["State"]["Running"] and inputs.get("mustRun", True):
            inputs["mustRun"] = False
        return Realised(realised.resource, inputs, realised.outputs)

    def _update_container(
        self, previous: Realised, inputs: dict[str, Any], diff: plan.Diff
    ) -> None:
        cid = previous.outputs["id"]
        rules = plan.CONTAINER_RULES
        try:
            if "mustRun" in diff.changed and inputs.get("mustRun", True):
                self.client.api.start(cid)
            if any(rules[k] is plan.Apply.API for k in diff.changed):
                swap = int(inputs.get("memorySwap") or 0)
                self.client.api.update_container(
                    cid,
                    mem_limit=int(inputs.get("memory") or 0) * MIB,
                    memswap_limit=(swap * MIB if swap > 0 else swap) if swap else None,
                    restart_policy=_restart_policy(inputs),
                )
        except APIError as exc:
            raise DeploymentError(f"Unable to update a container: {exc}") from None

    def _delete_container(self, realised: Realised) -> None:
        grace = int(realised.inputs.get("destroyGraceSeconds") or 0)
        try:
            container = self.client.containers.get(realised.outputs["id"])
        except NotFound:
            return  # "No such container" is ignored by the provider's delete
        with contextlib.suppress(APIError):
            container.stop(timeout=grace)
        with contextlib.suppress(NotFound):
            container.remove(force=True)

    # ------------------------------------------------------------------ others

    def _random_password(self, r: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
        plan.check_keys(r, inputs, plan.PASSWORD_RULES)
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


def label(r: Resource) -> str:
    """How results name a resource: type's last segment and name, e.g. "Container/app"."""
    return f"{r.type.rsplit(':', 1)[-1]}/{r.name}"


def _autoname(r: Resource) -> str:
    return f"{r.name}-{secrets.token_hex(4)[:AUTONAME_HEX]}"


def _upload_archive(r: Resource, uploads: list[dict[str, Any]]) -> bytes:
    """The provider's upload: one tar entry per file, extracted at / before the start."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for upload in uploads:
            plan.check_keys(r, upload, UPLOAD_KEYS, "uploads[].")
            data = str(upload["content"]).encode()
            info = tarfile.TarInfo(str(upload["file"]).lstrip("/"))
            info.size, info.mtime = len(data), int(time.time())
            info.mode = 0o744 if upload.get("executable") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _restart_policy(inputs: dict[str, Any]) -> Any:
    """What the provider sends: the policy name, MaximumRetryCount from max_retry_count (0)."""
    return {"Name": str(inputs.get("restart") or "no"), "MaximumRetryCount": 0}


def _dyn_outputs(rid: str | None, outs: dict[str, Any]) -> dict[str, Any]:
    return {**outs, "id": rid}


def _wait_healthy(container: Any, timeout: float) -> None:
    """The provider's `wait`: poll every second until healthy; only the timeout stops it."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        health = container.attrs["State"].get("Health")
        if health is None:
            raise DeploymentError(
                "you have supplied a 'wait' argument, but the container does not have a "
                "healthcheck defined"
            )
        if health.get("Status") == "healthy":
            return
        if time.monotonic() > deadline:
            raise DeploymentError(WAIT_ERROR)
        time.sleep(1)

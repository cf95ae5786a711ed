"""The docker provider's build-context digest, so the harness rebuilds exactly when it would.

pulumi/pulumi-docker v5.1.0 provider/provider.go, `Check` → `hashContext(context,
dockerfile)` (both paths relative to the project, the plugin's working directory):
first the Dockerfile's content, hashed by `contextHashAccumulator.hashPath` under the
fixed name "Dockerfile" with file mode 0 — so neither its name, its place nor its mode
counts, only its bytes, whether it lies inside the context or outside it (the nextjs
template's templates/nextjs/Dockerfile); then every file the build context would send,
walked by `fsutil.Walk` with the ignore file's patterns (`getIgnorePatterns`:
`<dockerfile>.dockerignore` first, else `<context>/.dockerignore`), by relative path,
mode and content. A Dockerfile inside the context is hashed a second time by the walk
unless ignored. The digest becomes the input `build.contextDigest`, so `Diff` sees a
change (→ `Update`, a rebuild) when the Dockerfile or a sent file changes and nothing
otherwise; a moved base image alone never rebuilds. The build itself
(provider/image.go, `dockerBuild`) reads the same ignore file and adds a Dockerfile from
outside the context to the tarball (`clibuild.AddDockerfileToBuildContext`); the
harness builds with the docker CLI (BuildKit), which also prefers
`<dockerfile>.dockerignore`. Symlinks in a context (hashed by their target's path
upstream) are not emulated: they fail loudly.

The ignore patterns follow moby/patternmatcher (`Pattern.compile`,
`MatchesOrParentMatches`): `*` and `?` stop at `/`, `**` spans directories, a
leading `!` re-includes, the last matching pattern wins and a pattern matching a
parent directory matches its files. Escapes (`\\`) are not supported: they fail loudly.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path


class Unsupported(AssertionError):
    """A context the harness cannot digest exactly as the provider does (an ignore pattern
    with escapes, a symlink)."""


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool


def _compile(line: str) -> _Pattern:
    exclusion = line.startswith("!")
    text = line[1:].strip() if exclusion else line
    if "\\" in text:
        raise Unsupported(f"ignore pattern {line!r}: escapes are not supported")
    text = os.path.normpath(text).lstrip("/") if text else text
    out = "^"
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "*" and text[i + 1 : i + 2] == "*":
            i += 2
            if text[i : i + 1] == "/":
                i += 1
            out += ".*" if i >= len(text) else "(.*/)?"
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch in "[]-^":
            out += ch
        else:
            out += re.escape(ch)
        i += 1
    return _Pattern(re.compile(out + "$"), exclusion)


def read_patterns(context: Path, dockerfile: Path) -> list[_Pattern]:
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            lines = [ln.strip() for ln in candidate.read_text().splitlines()]
            return [_compile(ln) for ln in lines if ln and not ln.startswith("#")]
    return []


def excluded(relative: str, patterns: list[_Pattern]) -> bool:
    """moby/patternmatcher `MatchesOrParentMatches` for a slash-separated relative path."""
    parts = relative.split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    matched = False
    for pattern in patterns:
        if pattern.exclusion != matched:
            continue
        hit = bool(pattern.regex.match(relative)) or any(pattern.regex.match(p) for p in parents)
        if hit:
            matched = not pattern.exclusion
    return matched


def sent_files(context: Path, dockerfile: Path) -> list[str]:
    """Relative paths of the files `docker build` sends for this context, sorted."""
    patterns = read_patterns(context, dockerfile)
    found: list[str] = []
    for root, dirs, files in os.walk(context):
        linked_dirs = [d for d in dirs if (Path(root) / d).is_symlink()]  # sent as links
        for name in [*files, *linked_dirs]:
            relative = (Path(root) / name).relative_to(context).as_posix()
            if not excluded(relative, patterns):
                found.append(relative)
    return sorted(found)


def digest(context: Path, dockerfile: Path) -> str:
    """The equivalent of the provider's `contextDigest` (equal inputs ⇔ equal digests)."""
    h = hashlib.sha256()

    def add(path: Path, name: str, mode: int) -> None:
        h.update(name.encode() + b"\0")
        h.update(oct(mode).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())

    add(dockerfile, "Dockerfile", 0)
    for relative in sent_files(context, dockerfile):
        path = context / relative
        if path.is_symlink():
            raise Unsupported(f"{path}: symlinks in a build context are not emulated")
        add(path, relative, path.stat().st_mode)
    return h.hexdigest()
